// `chatbot keys create|list|show|rotate|revoke|update` (security_commands.h).
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "cli/security_commands.h"
#include "common/duration.h"
#include "common/error.h"
#include "common/time.h"
#include "security/audit_log.h"
#include "security/key_json.h"
#include "security/key_manager.h"
#include "security/open_key_store.h"
#include "security/security_options.h"

namespace chatbot::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using security::KeyError;

// Everything a keys command works with.
struct KeysContext {
  explicit KeysContext(const Configuration& config)
      : settings(config.settings()),
        options(security::SecurityOptions::FromConfiguration(config)),
        store(security::OpenKeyStore(settings)),
        audit(fs::path(settings.paths.logs) / "audit.log"),
        manager(store.get(), &audit, security::SystemClock::Instance()) {}

  security::RateLimit Limit(const security::KeyRecord& r) const {
    return options.KeyLimit(r.role, r.rate_limit, r.burst);
  }

  const Settings& settings;
  security::SecurityOptions options;
  std::unique_ptr<security::KeyStore> store;
  security::AuditLog audit;
  security::KeyManager manager;
};

int64_t NowMs() {
  return security::SystemClock::Instance()->WallMs();
}

// Runs `body`, turning refusals into messages and exit statuses.
template <typename Body>
int Guard(Body body) {
  try {
    return body();
  } catch (const KeyError& e) {
    std::fprintf(stderr, "chatbot: %s\n", e.what());
    return e.kind() == KeyError::Kind::kInvalid ? kExitUsage : kExitFailure;
  }
}

[[noreturn]] void Invalid(const std::string& message) {
  throw KeyError(KeyError::Kind::kInvalid, message);
}

security::Role RoleArg(const std::string& text) {
  const std::optional<security::Role> role = security::ParseRole(text);
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

std::string LimitText(const security::RateLimit& limit) {
  if (limit.unlimited()) return "no limit";
  char text[64];
  std::snprintf(text, sizeof text, "%g/s, burst %g", limit.rate, limit.burst);
  return text;
}

void PrintDescription(FILE* out, const security::KeyRecord& r, const security::RateLimit& limit) {
  const int64_t now = NowMs();
  std::fprintf(out, "id:          %s\n", r.id.c_str());
  std::fprintf(out, "name:        %s\n", r.name.c_str());
  std::fprintf(out, "role:        %s\n", std::string(security::RoleName(r.role)).c_str());
  std::fprintf(out, "status:      %s\n", security::KeyStatus(r, now));
  std::fprintf(out, "created:     %s by %s\n", FormatTimestamp(r.created_at_ms).c_str(),
               r.created_by.c_str());
  std::fprintf(out, "expires:     %s\n", Time(r.expires_at_ms).c_str());
  if (r.rotated_at_ms) std::fprintf(out, "rotated:     %s\n", Time(r.rotated_at_ms).c_str());
  if (r.previous_hash && r.previous_valid_until_ms > now) {
    std::fprintf(out, "old secret:  valid until %s\n",
                 FormatTimestamp(r.previous_valid_until_ms).c_str());
  }
  if (r.revoked_at_ms) {
    std::fprintf(out, "revoked:     %s by %s\n", Time(r.revoked_at_ms).c_str(),
                 r.revoked_by.c_str());
  }
  std::string allow;
  for (const std::string& entry : r.allow) allow += (allow.empty() ? "" : " ") + entry;
  std::fprintf(out, "allow:       %s\n", allow.empty() ? "any address" : allow.c_str());
  std::fprintf(out, "rate limit:  %s (%s)\n", LimitText(limit).c_str(),
               r.rate_limit || r.burst ? "this key's" : "the role's default");
  std::fprintf(out, "requests:    %lld (refused %lld)\n", static_cast<long long>(r.requests),
               static_cast<long long>(r.refused));
  std::fprintf(out, "last used:   %s%s\n", Time(r.last_used_at_ms).c_str(),
               r.last_used_address.empty() ? "" : (" from " + r.last_used_address).c_str());
}

// A key just made or rotated: the key alone on stdout (so that
// KEY=$(chatbot keys create ...) works), the rest on stderr.
void PrintIssued(const KeysContext& context, const security::IssuedKey& issued, bool as_json,
                 const char* what) {
  if (as_json) {
    json::object out = security::KeyToJson(issued.record, context.Limit(issued.record), NowMs());
    out["key"] = issued.key;
    std::printf("%s\n", json::serialize(out).c_str());
  } else {
    std::fprintf(stderr, "%s key %s \"%s\" (role %s, expires %s).\n", what,
                 issued.record.id.c_str(), issued.record.name.c_str(),
                 std::string(security::RoleName(issued.record.role)).c_str(),
                 Time(issued.record.expires_at_ms).c_str());
    std::printf("%s\n", issued.key.c_str());
  }
  std::fflush(stdout);
  std::fprintf(stderr,
               "Store the key now: it is not shown again (only its hash is kept). Send it as "
               "'Authorization: Bearer <key>' or 'X-API-Key: <key>'.\n");
}

}  // namespace

void WaitForServiceRefresh(const Settings& settings) {
  std::this_thread::sleep_for(std::chrono::milliseconds(settings.security.refresh_ms + 50));
}

int RunKeysCreate(const GlobalOptions& global, const KeysArgs& args) {
  const Configuration config = LoadConfiguration(global);
  return Guard([&] {
    security::NewKey request;
    request.name = args.name;
    request.role = RoleArg(args.role);
    if (!args.expires.empty())
      request.expires_in_ms = DurationArg("--expires", args.expires, false);
    request.allow = args.allow;
    if (!args.rate_limit.empty()) request.rate_limit = NumberArg("--rate-limit", args.rate_limit);
    if (!args.burst.empty()) request.burst = NumberArg("--burst", args.burst);
    KeysContext context(config);
    const security::IssuedKey issued =
        context.manager.Create(request, security::Actor::CommandLine());
    WaitForServiceRefresh(context.settings);
    PrintIssued(context, issued, args.json, "Created");
    return kExitOk;
  });
}

int RunKeysList(const GlobalOptions& global, const KeysArgs& args) {
  const Configuration config = LoadConfiguration(global);
  const fs::path path = config.settings().security.database;
  std::error_code error;
  if (!fs::exists(path, error)) {
    // Reading creates nothing: no database, no keys.
    if (args.json) {
      std::printf("[]\n");
    } else {
      std::printf("No keys (no database at %s).\n", path.c_str());
    }
    return kExitOk;
  }
  KeysContext context(config);
  const int64_t now = NowMs();
  const std::vector<security::KeyRecord> keys = context.manager.List();
  if (args.json) {
    json::array out;
    for (const security::KeyRecord& r : keys) {
      out.push_back(security::KeyToJson(r, context.Limit(r), now));
    }
    std::printf("%s\n", json::serialize(out).c_str());
    return kExitOk;
  }
  std::printf("%-16s  %-8s  %-7s  %-24s  %-24s  %10s  %s\n", "ID", "ROLE", "STATUS", "EXPIRES",
              "LAST USED", "REQUESTS", "NAME");
  for (const security::KeyRecord& r : keys) {
    std::printf("%-16s  %-8s  %-7s  %-24s  %-24s  %10lld  %s\n", r.id.c_str(),
                std::string(security::RoleName(r.role)).c_str(), security::KeyStatus(r, now),
                Time(r.expires_at_ms).c_str(), Time(r.last_used_at_ms).c_str(),
                static_cast<long long>(r.requests), r.name.c_str());
  }
  return kExitOk;
}

int RunKeysShow(const GlobalOptions& global, const KeysArgs& args) {
  const Configuration config = LoadConfiguration(global);
  return Guard([&] {
    if (!fs::exists(config.settings().security.database)) {
      throw KeyError(KeyError::Kind::kNotFound, "no key " + args.id + " (no keys database at " +
                                                    config.settings().security.database + ")");
    }
    KeysContext context(config);
    const security::KeyRecord r = context.manager.Get(args.id);
    if (args.json) {
      std::printf("%s\n",
                  json::serialize(security::KeyToJson(r, context.Limit(r), NowMs())).c_str());
    } else {
      PrintDescription(stdout, r, context.Limit(r));
    }
    return kExitOk;
  });
}

int RunKeysRotate(const GlobalOptions& global, const KeysArgs& args) {
  const Configuration config = LoadConfiguration(global);
  return Guard([&] {
    const int64_t grace = args.grace.empty() ? 0 : DurationArg("--grace", args.grace, true);
    KeysContext context(config);
    const security::IssuedKey issued =
        context.manager.Rotate(args.id, grace, security::Actor::CommandLine());
    WaitForServiceRefresh(context.settings);
    PrintIssued(context, issued, args.json, "Rotated");
    if (!args.json) {
      if (grace > 0) {
        std::fprintf(stderr, "The old secret keeps working until %s.\n",
                     FormatTimestamp(issued.record.previous_valid_until_ms).c_str());
      } else {
        std::fprintf(stderr, "The old secret no longer works.\n");
      }
    }
    return kExitOk;
  });
}

int RunKeysRevoke(const GlobalOptions& global, const KeysArgs& args) {
  const Configuration config = LoadConfiguration(global);
  return Guard([&] {
    KeysContext context(config);
    const security::KeyRecord r = context.manager.Revoke(args.id, security::Actor::CommandLine());
    WaitForServiceRefresh(context.settings);
    std::printf("Revoked key %s \"%s\" (at %s); it is refused from now on.\n", r.id.c_str(),
                r.name.c_str(), Time(r.revoked_at_ms).c_str());
    return kExitOk;
  });
}

int RunKeysUpdate(const GlobalOptions& global, const KeysArgs& args) {
  const Configuration config = LoadConfiguration(global);
  return Guard([&] {
    security::KeyChange change;
    if (!args.name.empty()) change.name = args.name;
    if (!args.role.empty()) change.role = RoleArg(args.role);
    if (args.expires == "never") {
      change.expires_in_ms = std::optional<int64_t>();
    } else if (!args.expires.empty()) {
      change.expires_in_ms = DurationArg("--expires", args.expires, false);
    }
    if (args.clear_allow && !args.allow.empty())
      Invalid("--clear-allow and --allow exclude each other");
    if (args.clear_allow) change.allow = std::vector<std::string>();
    if (!args.allow.empty()) change.allow = args.allow;
    if (args.rate_limit == "default") {
      change.rate_limit = std::optional<double>();
    } else if (!args.rate_limit.empty()) {
      change.rate_limit = NumberArg("--rate-limit", args.rate_limit);
    }
    if (args.burst == "default") {
      change.burst = std::optional<double>();
    } else if (!args.burst.empty()) {
      change.burst = NumberArg("--burst", args.burst);
    }
    KeysContext context(config);
    const security::KeyRecord r =
        context.manager.Update(args.id, change, security::Actor::CommandLine());
    WaitForServiceRefresh(context.settings);
    if (args.json) {
      std::printf("%s\n",
                  json::serialize(security::KeyToJson(r, context.Limit(r), NowMs())).c_str());
    } else {
      PrintDescription(stdout, r, context.Limit(r));
    }
    return kExitOk;
  });
}

void AddSecurityCommands(CLI::App& app, const GlobalOptions& global, SecurityArgs* args,
                         std::function<int()>* run) {
  KeysArgs& k = args->keys;
  auto* keys = app.add_subcommand(
      "keys", "Manage API keys: create, list, show, rotate, revoke, update (docs/security.md)");
  keys->require_subcommand(1);

  auto* create = keys->add_subcommand("create",
                                      "Create a key; it is printed once, then only "
                                      "its hash is kept");
  create->add_option("--name", k.name, "What the key is for")->required();
  create->add_option("--role", k.role, "client, operator or admin")
      ->required()
      ->check(CLI::IsMember({"client", "operator", "admin"}));
  create->add_option("--expires", k.expires, "Lifetime: N followed by s, m, h, d or w, e.g. 90d");
  create->add_option("--allow", k.allow,
                     "A network (CIDR) the key may be used from (repeatable; default: any)");
  create->add_option("--rate-limit", k.rate_limit,
                     "Requests per second for this key (default: its role's)");
  create->add_option("--burst", k.burst,
                     "Requests the key may send at once (default: rate x "
                     "[security] burst_seconds)");
  create->add_flag("--json", k.json, "Print the key and its settings as JSON");
  create->callback(
      [&global, &k, run] { *run = [&global, &k] { return RunKeysCreate(global, k); }; });

  auto* list = keys->add_subcommand("list", "List every key (never a secret)");
  list->add_flag("--json", k.json, "As a JSON array");
  list->callback([&global, &k, run] { *run = [&global, &k] { return RunKeysList(global, k); }; });

  auto* show = keys->add_subcommand("show", "Show a key's settings and usage");
  show->add_option("id", k.id, "Key id (16 hex digits)")->required();
  show->add_flag("--json", k.json, "As JSON");
  show->callback([&global, &k, run] { *run = [&global, &k] { return RunKeysShow(global, k); }; });

  auto* rotate = keys->add_subcommand(
      "rotate", "Give a key a new secret; the old one works for the grace period, then stops");
  rotate->add_option("id", k.id, "Key id")->required();
  rotate->add_option("--grace", k.grace,
                     "How long the old secret keeps working, e.g. 24h (default: it stops now)");
  rotate->add_flag("--json", k.json, "Print the new key and its settings as JSON");
  rotate->callback(
      [&global, &k, run] { *run = [&global, &k] { return RunKeysRotate(global, k); }; });

  auto* revoke = keys->add_subcommand(
      "revoke", "Revoke a key: refused from the next request on, open connections included");
  revoke->add_option("id", k.id, "Key id")->required();
  revoke->callback(
      [&global, &k, run] { *run = [&global, &k] { return RunKeysRevoke(global, k); }; });

  auto* update = keys->add_subcommand("update",
                                      "Change a key's name, role, expiry, allowlist "
                                      "or rate limit");
  update->add_option("id", k.id, "Key id")->required();
  update->add_option("--name", k.name, "New name");
  update->add_option("--role", k.role, "New role")
      ->check(CLI::IsMember({"client", "operator", "admin"}));
  update->add_option("--expires", k.expires, "New lifetime from now (e.g. 30d), or 'never'");
  update->add_option("--allow", k.allow, "Replace the allowlist (repeatable)");
  update->add_flag("--clear-allow", k.clear_allow, "Allow any address again");
  update->add_option("--rate-limit", k.rate_limit, "Requests per second, or 'default'");
  update->add_option("--burst", k.burst, "Burst, or 'default'");
  update->add_flag("--json", k.json, "Print the key as JSON");
  update->callback(
      [&global, &k, run] { *run = [&global, &k] { return RunKeysUpdate(global, k); }; });

  AddLockdownCommand(app, global, &args->lockdown, run);
}

}  // namespace chatbot::cli
