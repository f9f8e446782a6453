#include "security/key_admin.h"

#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "common/duration.h"
#include "common/strings.h"
#include "common/time.h"
#include "security/key_json.h"
#include "security/open_key_store.h"

namespace chatbot::security {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void Invalid(const std::string& message) {
  throw KeyError(KeyError::Kind::kInvalid, message);
}

Role RoleArg(const std::string& text) {
  const std::optional<Role> role = ParseRole(text);
  if (!role) Invalid("--role '" + text + "' is not one of client, operator, admin");
  return *role;
}

int64_t DurationArg(const std::string& flag, const std::string& text, bool allow_zero) {
  const std::optional<int64_t> ms = ParseDurationMs(text, allow_zero);
  if (!ms) Invalid(flag + " '" + text + "' is not a duration such as 30m, 24h, 90d or 2w");
  return *ms;
}

double NumberArg(const std::string& flag, const std::string& text) {
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
    Invalid(flag + " '" + text + "' is not a number");
  }
  return value;
}

std::string Time(const std::optional<int64_t>& ms) {
  return ms ? FormatTimestamp(*ms) : "never";
}

std::string LimitText(const RateLimit& limit) {
  if (limit.unlimited()) return "no limit";
  char text[64];
  std::snprintf(text, sizeof text, "%g/s, burst %g", limit.rate, limit.burst);
  return text;
}

}  // namespace

NewKey ParseNewKey(const KeyRequestText& text) {
  NewKey request;
  request.name = text.name;
  request.role = RoleArg(text.role);
  if (!text.expires.empty()) request.expires_in_ms = DurationArg("--expires", text.expires, false);
  request.allow = text.allow;
  if (!text.rate_limit.empty()) request.rate_limit = NumberArg("--rate-limit", text.rate_limit);
  if (!text.burst.empty()) request.burst = NumberArg("--burst", text.burst);
  return request;
}

KeyChange ParseKeyChange(const KeyRequestText& text) {
  KeyChange change;
  if (!text.name.empty()) change.name = text.name;
  if (!text.role.empty()) change.role = RoleArg(text.role);
  if (text.expires == "never") {
    change.expires_in_ms = std::optional<int64_t>();
  } else if (!text.expires.empty()) {
    change.expires_in_ms = DurationArg("--expires", text.expires, false);
  }
  if (text.clear_allow && !text.allow.empty())
    Invalid("--clear-allow and --allow exclude each other");
  if (text.clear_allow) change.allow = std::vector<std::string>();
  if (!text.allow.empty()) change.allow = text.allow;
  if (text.rate_limit == "default") {
    change.rate_limit = std::optional<double>();
  } else if (!text.rate_limit.empty()) {
    change.rate_limit = NumberArg("--rate-limit", text.rate_limit);
  }
  if (text.burst == "default") {
    change.burst = std::optional<double>();
  } else if (!text.burst.empty()) {
    change.burst = NumberArg("--burst", text.burst);
  }
  return change;
}

int64_t ParseGrace(const std::string& text) {
  return text.empty() ? 0 : DurationArg("--grace", text, true);
}

KeyAdmin::KeyAdmin(const Configuration& config)
    : config_(config),
      store_(OpenKeyStore(config.settings())),
      audit_(fs::path(config.settings().paths.logs) / "audit.log"),
      manager_(store_.get(), &audit_, SystemClock::Instance()) {}

bool KeyAdmin::DatabaseExists(const Settings& settings) {
  if (settings.store.backend != "sqlite") return true;  // a server's, made by migrations
  std::error_code error;
  return fs::exists(settings.security.database, error);
}

std::string KeyAdmin::ListText(const Configuration& config, bool as_json) {
  if (!DatabaseExists(config.settings())) {
    return as_json ? "[]\n"
                   : "No keys (no database at " + config.settings().security.database + ").\n";
  }
  KeyAdmin admin(config);
  const std::vector<KeyRecord> keys = admin.List();
  if (!as_json) return KeyTable(keys, NowMs());
  boost::json::array out;
  for (const KeyRecord& r : keys) out.push_back(admin.Json(r));
  return boost::json::serialize(out) + "\n";
}

std::string KeyAdmin::ShowText(const Configuration& config, const std::string& id, bool as_json) {
  if (!DatabaseExists(config.settings())) {
    throw KeyError(KeyError::Kind::kNotFound, "no key " + id + " (no keys database at " +
                                                  config.settings().security.database + ")");
  }
  KeyAdmin admin(config);
  return admin.Text(admin.Get(id), as_json);
}

LockdownState KeyAdmin::CurrentLockdown(const Settings& settings) {
  return DatabaseExists(settings) ? OpenKeyStore(settings)->GetLockdown() : LockdownState();
}

IssuedKey KeyAdmin::Create(const NewKey& request) {
  IssuedKey issued = manager_.Create(request, Actor::CommandLine());
  WaitForServiceRefresh();
  return issued;
}

IssuedKey KeyAdmin::Rotate(const std::string& id, int64_t grace_ms) {
  IssuedKey issued = manager_.Rotate(id, grace_ms, Actor::CommandLine());
  WaitForServiceRefresh();
  return issued;
}

KeyRecord KeyAdmin::Revoke(const std::string& id) {
  KeyRecord record = manager_.Revoke(id, Actor::CommandLine());
  WaitForServiceRefresh();
  return record;
}

KeyRecord KeyAdmin::Update(const std::string& id, const KeyChange& change) {
  KeyRecord record = manager_.Update(id, change, Actor::CommandLine());
  WaitForServiceRefresh();
  return record;
}

LockdownState KeyAdmin::SetLockdown(bool on, const std::string& reason) {
  LockdownState state = manager_.SetLockdown(on, reason, Actor::CommandLine());
  WaitForServiceRefresh();
  return state;
}

RateLimit KeyAdmin::Limit(const KeyRecord& r) const {
  if (!options_) options_ = SecurityOptions::FromConfiguration(config_);
  return options_->KeyLimit(r.role, r.rate_limit, r.burst);
}

boost::json::object KeyAdmin::Json(const KeyRecord& record) const {
  return KeyToJson(record, Limit(record), SystemClock::Instance()->WallMs());
}

std::string KeyAdmin::Text(const KeyRecord& record, bool as_json) const {
  if (as_json) return boost::json::serialize(Json(record)) + "\n";
  return KeyDescription(record, Limit(record), NowMs());
}

void KeyAdmin::WaitForServiceRefresh() const {
  std::this_thread::sleep_for(
      std::chrono::milliseconds(config_.settings().security.refresh_ms + 50));
}

std::string KeyDescription(const KeyRecord& r, const RateLimit& limit, int64_t now) {
  std::string out;
  AppendPrintf(&out, "id:          %s\n", r.id.c_str());
  AppendPrintf(&out, "name:        %s\n", r.name.c_str());
  AppendPrintf(&out, "role:        %s\n", std::string(RoleName(r.role)).c_str());
  AppendPrintf(&out, "status:      %s\n", KeyStatus(r, now));
  AppendPrintf(&out, "created:     %s by %s\n", FormatTimestamp(r.created_at_ms).c_str(),
               r.created_by.c_str());
  AppendPrintf(&out, "expires:     %s\n", Time(r.expires_at_ms).c_str());
  if (r.rotated_at_ms) AppendPrintf(&out, "rotated:     %s\n", Time(r.rotated_at_ms).c_str());
  if (r.previous_hash && r.previous_valid_until_ms > now) {
    AppendPrintf(&out, "old secret:  valid until %s\n",
                 FormatTimestamp(r.previous_valid_until_ms).c_str());
  }
  if (r.revoked_at_ms) {
    AppendPrintf(&out, "revoked:     %s by %s\n", Time(r.revoked_at_ms).c_str(),
                 r.revoked_by.c_str());
  }
  std::string allow;
  for (const std::string& entry : r.allow) allow += (allow.empty() ? "" : " ") + entry;
  out += "allow:       " + (allow.empty() ? std::string("any address") : allow) + "\n";
  AppendPrintf(&out, "rate limit:  %s (%s)\n", LimitText(limit).c_str(),
               r.rate_limit || r.burst ? "this key's" : "the role's default");
  AppendPrintf(&out, "requests:    %lld (refused %lld)\n", static_cast<long long>(r.requests),
               static_cast<long long>(r.refused));
  out += "last used:   " + Time(r.last_used_at_ms) +
         (r.last_used_address.empty() ? "" : " from " + r.last_used_address) + "\n";
  return out;
}

std::string KeyTable(const std::vector<KeyRecord>& keys, int64_t now) {
  std::string out;
  AppendPrintf(&out, "%-16s  %-8s  %-7s  %-24s  %-24s  %10s  %s\n", "ID", "ROLE", "STATUS",
               "EXPIRES", "LAST USED", "REQUESTS", "NAME");
  for (const KeyRecord& r : keys) {
    AppendPrintf(&out, "%-16s  %-8s  %-7s  %-24s  %-24s  %10lld  ", r.id.c_str(),
                 std::string(RoleName(r.role)).c_str(), KeyStatus(r, now),
                 Time(r.expires_at_ms).c_str(), Time(r.last_used_at_ms).c_str(),
                 static_cast<long long>(r.requests));
    out += r.name + "\n";
  }
  return out;
}

std::string IssuedKeyLine(const IssuedKey& issued, const char* what) {
  return std::string(what) + " key " + issued.record.id + " \"" + issued.record.name + "\" (role " +
         std::string(RoleName(issued.record.role)) + ", expires " +
         Time(issued.record.expires_at_ms) + ").";
}

std::string OldSecretNotice(const IssuedKey& issued, int64_t grace_ms) {
  if (grace_ms <= 0) return "The old secret no longer works.";
  return "The old secret keeps working until " +
         FormatTimestamp(issued.record.previous_valid_until_ms) + ".";
}

const char* const kStoreKeyNotice =
    "Store the key now: it is not shown again (only its hash is kept). Send it as "
    "'Authorization: Bearer <key>' or 'X-API-Key: <key>'.";

std::string LockdownText(const LockdownState& state) {
  if (state.since_ms == 0) return "Lockdown is off (never switched on).";
  return std::string("Lockdown is ") + (state.on ? "ON" : "off") + " since " +
         FormatTimestamp(state.since_ms) + " (by " + state.by + ")" +
         (state.reason.empty() ? "" : ": ") + state.reason;
}

}  // namespace chatbot::security
