#include "security/key_manager.h"

#include <boost/json.hpp>
#include <cmath>

#include "common/time.h"
#include "security/ip_network.h"

namespace chatbot::security {
namespace json = boost::json;

namespace {

json::value OptionalTime(const std::optional<int64_t>& ms) {
  if (!ms) return nullptr;
  return json::value(FormatTimestamp(*ms));
}

json::value OptionalNumber(const std::optional<double>& v) {
  if (!v) return nullptr;
  return json::value(*v);
}

json::array Strings(const std::vector<std::string>& items) {
  return json::array(items.begin(), items.end());
}

}  // namespace

void ValidateName(const std::string& name) {
  if (name.empty()) throw KeyError(KeyError::Kind::kInvalid, "name: must not be empty");
  if (name.size() > 100) {
    throw KeyError(KeyError::Kind::kInvalid, "name: longer than 100 bytes");
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      throw KeyError(KeyError::Kind::kInvalid, "name: contains a control character");
    }
  }
}

void ValidateAllow(const std::vector<std::string>& allow) {
  if (allow.size() > 1000) throw KeyError(KeyError::Kind::kInvalid, "allow: over 1000 entries");
  for (size_t i = 0; i < allow.size(); ++i) {
    std::string reason;
    if (!IpNetwork::Parse(allow[i], &reason)) {
      throw KeyError(KeyError::Kind::kInvalid,
                     "allow: entry " + std::to_string(i + 1) + " '" + allow[i] + "': " + reason);
    }
  }
}

void ValidateRate(const std::optional<double>& rate, const std::optional<double>& burst) {
  if (rate && (!std::isfinite(*rate) || *rate < 0 || *rate > 1e6)) {
    throw KeyError(KeyError::Kind::kInvalid,
                   "rate_limit: must be from 0 (no limit) to 1000000 requests per second");
  }
  if (burst && (!std::isfinite(*burst) || *burst < 1 || *burst > 1e9)) {
    throw KeyError(KeyError::Kind::kInvalid, "burst: must be from 1 to 1000000000 requests");
  }
}

KeyManager::KeyManager(KeyStore* store, AuditLog* audit, const Clock* clock)
    : store_(store), audit_(audit), clock_(clock) {}

IssuedKey KeyManager::Create(const NewKey& request, const Actor& actor) {
  ValidateName(request.name);
  ValidateAllow(request.allow);
  ValidateRate(request.rate_limit, request.burst);
  if (request.expires_in_ms && *request.expires_in_ms <= 0) {
    throw KeyError(KeyError::Kind::kInvalid, "expires: must be a positive duration");
  }
  const int64_t now = clock_->WallMs();
  IssuedKey issued;
  KeyRecord& r = issued.record;
  r.name = request.name;
  r.role = request.role;
  r.created_at_ms = now;
  r.created_by = actor.Describe();
  if (request.expires_in_ms) r.expires_at_ms = now + *request.expires_in_ms;
  r.allow = request.allow;
  r.rate_limit = request.rate_limit;
  r.burst = request.burst;
  // 64-bit random ids collide about never; a collision draws again.
  for (int attempt = 0;; ++attempt) {
    r.id = NewKeyId();
    const std::string secret = NewSecret();
    r.secret_hash = HashSecret(r.id, secret);
    if (store_->Insert(r)) {
      issued.key = FormatKey(r.id, secret);
      break;
    }
    if (attempt == 10) throw StoreError(store_->path().string() + ": cannot draw a free key id");
  }
  audit_->Write("key_created", actor,
                {{"key_id", r.id},
                 {"key_name", r.name},
                 {"role", RoleName(r.role)},
                 {"expires_at", OptionalTime(r.expires_at_ms)},
                 {"allow", Strings(r.allow)},
                 {"rate_limit", OptionalNumber(r.rate_limit)},
                 {"burst", OptionalNumber(r.burst)}},
                now);
  return issued;
}

KeyRecord KeyManager::Get(const std::string& id) {
  std::optional<KeyRecord> record;
  if (ParseKeyId(id)) record = store_->Get(id);
  if (!record) throw KeyError(KeyError::Kind::kNotFound, "no key " + id);
  return *record;
}

IssuedKey KeyManager::Rotate(const std::string& id, int64_t grace_ms, const Actor& actor) {
  if (grace_ms < 0) throw KeyError(KeyError::Kind::kInvalid, "grace: must not be negative");
  if (!ParseKeyId(id)) throw KeyError(KeyError::Kind::kNotFound, "no key " + id);
  const int64_t now = clock_->WallMs();
  const std::string secret = NewSecret();
  const std::optional<KeyRecord> record = store_->Modify(id, [&](KeyRecord& r) {
    if (r.revoked()) throw KeyError(KeyError::Kind::kConflict, "key " + id + " is revoked");
    if (r.expired(now)) throw KeyError(KeyError::Kind::kConflict, "key " + id + " has expired");
    if (grace_ms > 0) {
      r.previous_hash = r.secret_hash;
      r.previous_valid_until_ms = now + grace_ms;
    } else {
      r.previous_hash.reset();
      r.previous_valid_until_ms = 0;
    }
    r.secret_hash = HashSecret(r.id, secret);
    r.rotated_at_ms = now;
  });
  if (!record) throw KeyError(KeyError::Kind::kNotFound, "no key " + id);
  audit_->Write("key_rotated", actor,
                {{"key_id", record->id},
                 {"key_name", record->name},
                 {"grace_s", grace_ms / 1000},
                 {"previous_valid_until",
                  grace_ms > 0 ? json::value(FormatTimestamp(record->previous_valid_until_ms))
                               : json::value(nullptr)}},
                now);
  return IssuedKey{*record, FormatKey(record->id, secret)};
}

KeyRecord KeyManager::Revoke(const std::string& id, const Actor& actor) {
  if (!ParseKeyId(id)) throw KeyError(KeyError::Kind::kNotFound, "no key " + id);
  const int64_t now = clock_->WallMs();
  bool already = false;
  const std::optional<KeyRecord> record = store_->Modify(id, [&](KeyRecord& r) {
    if (r.revoked()) {
      already = true;
      return;
    }
    r.revoked_at_ms = now;
    r.revoked_by = actor.Describe();
    r.previous_hash.reset();
    r.previous_valid_until_ms = 0;
  });
  if (!record) throw KeyError(KeyError::Kind::kNotFound, "no key " + id);
  if (!already) {
    audit_->Write("key_revoked", actor, {{"key_id", record->id}, {"key_name", record->name}}, now);
  }
  return *record;
}

KeyRecord KeyManager::Update(const std::string& id, const KeyChange& change, const Actor& actor) {
  if (!ParseKeyId(id)) throw KeyError(KeyError::Kind::kNotFound, "no key " + id);
  if (change.name) ValidateName(*change.name);
  if (change.allow) ValidateAllow(*change.allow);
  ValidateRate(change.rate_limit ? *change.rate_limit : std::nullopt,
               change.burst ? *change.burst : std::nullopt);
  if (change.expires_in_ms && *change.expires_in_ms && **change.expires_in_ms <= 0) {
    throw KeyError(KeyError::Kind::kInvalid, "expires: must be a positive duration");
  }
  const int64_t now = clock_->WallMs();
  json::object changes;
  std::optional<Role> old_role;
  const std::optional<KeyRecord> record = store_->Modify(id, [&](KeyRecord& r) {
    if (r.revoked()) throw KeyError(KeyError::Kind::kConflict, "key " + id + " is revoked");
    if (change.name && *change.name != r.name) {
      changes["name"] = {{"from", r.name}, {"to", *change.name}};
      r.name = *change.name;
    }
    if (change.role && *change.role != r.role) {
      changes["role"] = {{"from", RoleName(r.role)}, {"to", RoleName(*change.role)}};
      old_role = r.role;
      r.role = *change.role;
    }
    if (change.expires_in_ms) {
      std::optional<int64_t> expires;
      if (*change.expires_in_ms) expires = now + **change.expires_in_ms;
      changes["expires_at"] = {{"from", OptionalTime(r.expires_at_ms)},
                               {"to", OptionalTime(expires)}};
      r.expires_at_ms = expires;
    }
    if (change.allow && *change.allow != r.allow) {
      changes["allow"] = {{"from", Strings(r.allow)}, {"to", Strings(*change.allow)}};
      r.allow = *change.allow;
    }
    if (change.rate_limit && *change.rate_limit != r.rate_limit) {
      changes["rate_limit"] = {{"from", OptionalNumber(r.rate_limit)},
                               {"to", OptionalNumber(*change.rate_limit)}};
      r.rate_limit = *change.rate_limit;
    }
    if (change.burst && *change.burst != r.burst) {
      changes["burst"] = {{"from", OptionalNumber(r.burst)}, {"to", OptionalNumber(*change.burst)}};
      r.burst = *change.burst;
    }
  });
  if (!record) throw KeyError(KeyError::Kind::kNotFound, "no key " + id);
  if (!changes.empty()) {
    audit_->Write(old_role ? "key_role_changed" : "key_updated", actor,
                  {{"key_id", record->id}, {"key_name", record->name}, {"changes", changes}}, now);
  }
  return *record;
}

LockdownState KeyManager::SetLockdown(bool on, const std::string& reason, const Actor& actor) {
  if (reason.size() > 1000) throw KeyError(KeyError::Kind::kInvalid, "reason: over 1000 bytes");
  for (unsigned char c : reason) {
    if (c < 0x20 || c == 0x7f) {
      throw KeyError(KeyError::Kind::kInvalid, "reason: contains a control character");
    }
  }
  LockdownState state;
  state.on = on;
  state.since_ms = clock_->WallMs();
  state.by = actor.Describe();
  state.reason = reason;
  store_->SetLockdown(state);
  audit_->Write(on ? "lockdown_on" : "lockdown_off", actor, {{"reason", reason}}, state.since_ms);
  return state;
}

bool KeyManager::HasActiveAdmin() {
  const int64_t now = clock_->WallMs();
  for (const KeyRecord& r : store_->List()) {
    if (r.role == Role::kAdmin && !r.revoked() && !r.expired(now)) return true;
  }
  return false;
}

}  // namespace chatbot::security
