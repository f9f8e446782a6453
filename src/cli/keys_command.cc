// `chatbot keys create|list|show|rotate|revoke|update` (docs/security.md):
// parse, call security::KeyAdmin (security/key_admin.h), print.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "common/time.h"
#include "security/key_admin.h"

namespace chatbot::cli {
namespace {

namespace json = boost::json;
using security::KeyAdmin;

struct KeysArgs {
  std::string id;
  security::KeyRequestText request;  // create, update
  std::string grace;                 // rotate: "24h"; empty: none
  bool json = false;
};

// A key just made or rotated: the key alone on stdout (so that
// KEY=$(chatbot keys create ...) works), the rest on stderr.
void PrintIssued(const KeyAdmin& admin, const security::IssuedKey& issued, bool as_json,
                 const char* what) {
  if (as_json) {
    json::object out = admin.Json(issued.record);
    out["key"] = issued.key;
    std::printf("%s\n", json::serialize(out).c_str());
  } else {
    std::fprintf(stderr, "%s\n", security::IssuedKeyLine(issued, what).c_str());
    std::printf("%s\n", issued.key.c_str());
  }
  std::fflush(stdout);
  std::fprintf(stderr, "%s\n", security::kStoreKeyNotice);
}

int RunKeysCreate(const GlobalOptions& global, const KeysArgs& args) {
  const Configuration config = LoadConfiguration(global);
  const security::NewKey request = security::ParseNewKey(args.request);
  KeyAdmin admin(config);
  PrintIssued(admin, admin.Create(request), args.json, "Created");
  return kExitOk;
}

int RunKeysList(const GlobalOptions& global, const KeysArgs& args) {
  std::fputs(KeyAdmin::ListText(LoadConfiguration(global), args.json).c_str(), stdout);
  return kExitOk;
}

int RunKeysShow(const GlobalOptions& global, const KeysArgs& args) {
  std::fputs(KeyAdmin::ShowText(LoadConfiguration(global), args.id, args.json).c_str(), stdout);
  return kExitOk;
}

int RunKeysRotate(const GlobalOptions& global, const KeysArgs& args) {
  const Configuration config = LoadConfiguration(global);
  const int64_t grace = security::ParseGrace(args.grace);
  KeyAdmin admin(config);
  const security::IssuedKey issued = admin.Rotate(args.id, grace);
  PrintIssued(admin, issued, args.json, "Rotated");
  if (!args.json) std::fprintf(stderr, "%s\n", security::OldSecretNotice(issued, grace).c_str());
  return kExitOk;
}

int RunKeysRevoke(const GlobalOptions& global, const KeysArgs& args) {
  const Configuration config = LoadConfiguration(global);
  const security::KeyRecord r = KeyAdmin(config).Revoke(args.id);
  std::printf("Revoked key %s \"%s\" (at %s); it is refused from now on.\n", r.id.c_str(),
              r.name.c_str(),
              r.revoked_at_ms ? FormatTimestamp(*r.revoked_at_ms).c_str() : "never");
  return kExitOk;
}

int RunKeysUpdate(const GlobalOptions& global, const KeysArgs& args) {
  const Configuration config = LoadConfiguration(global);
  const security::KeyChange change = security::ParseKeyChange(args.request);
  KeyAdmin admin(config);
  std::fputs(admin.Text(admin.Update(args.id, change), args.json).c_str(), stdout);
  return kExitOk;
}

}  // namespace

void AddKeysCommands(CLI::App& app, const GlobalOptions& global, std::function<int()>* run) {
  const auto args = std::make_shared<KeysArgs>();
  KeysArgs& k = *args;
  security::KeyRequestText& r = k.request;
  auto* keys = app.add_subcommand(
      "keys", "Manage API keys: create, list, show, rotate, revoke, update (docs/security.md)");
  keys->require_subcommand(1);

  auto* create = keys->add_subcommand("create",
                                      "Create a key; it is printed once, then only "
                                      "its hash is kept");
  create->add_option("--name", r.name, "What the key is for")->required();
  create->add_option("--role", r.role, "client, operator or admin")
      ->required()
      ->check(CLI::IsMember({"client", "operator", "admin"}));
  create->add_option("--expires", r.expires, "Lifetime: N followed by s, m, h, d or w, e.g. 90d");
  create->add_option("--allow", r.allow,
                     "A network (CIDR) the key may be used from (repeatable; default: any)");
  create->add_option("--rate-limit", r.rate_limit,
                     "Requests per second for this key (default: its role's)");
  create->add_option("--burst", r.burst,
                     "Requests the key may send at once (default: rate x "
                     "[security] burst_seconds)");
  create->add_flag("--json", k.json, "Print the key and its settings as JSON");
  OnParse(create, run, [&global, args] { return RunKeysCreate(global, *args); });

  auto* list = keys->add_subcommand("list", "List every key (never a secret)");
  list->add_flag("--json", k.json, "As a JSON array");
  OnParse(list, run, [&global, args] { return RunKeysList(global, *args); });

  auto* show = keys->add_subcommand("show", "Show a key's settings and usage");
  show->add_option("id", k.id, "Key id (16 hex digits)")->required();
  show->add_flag("--json", k.json, "As JSON");
  OnParse(show, run, [&global, args] { return RunKeysShow(global, *args); });

  auto* rotate = keys->add_subcommand(
      "rotate", "Give a key a new secret; the old one works for the grace period, then stops");
  rotate->add_option("id", k.id, "Key id")->required();
  rotate->add_option("--grace", k.grace,
                     "How long the old secret keeps working, e.g. 24h (default: it stops now)");
  rotate->add_flag("--json", k.json, "Print the new key and its settings as JSON");
  OnParse(rotate, run, [&global, args] { return RunKeysRotate(global, *args); });

  auto* revoke = keys->add_subcommand(
      "revoke", "Revoke a key: refused from the next request on, open connections included");
  revoke->add_option("id", k.id, "Key id")->required();
  OnParse(revoke, run, [&global, args] { return RunKeysRevoke(global, *args); });

  auto* update = keys->add_subcommand("update",
                                      "Change a key's name, role, expiry, allowlist "
                                      "or rate limit");
  update->add_option("id", k.id, "Key id")->required();
  update->add_option("--name", r.name, "New name");
  update->add_option("--role", r.role, "New role")
      ->check(CLI::IsMember({"client", "operator", "admin"}));
  update->add_option("--expires", r.expires, "New lifetime from now (e.g. 30d), or 'never'");
  update->add_option("--allow", r.allow, "Replace the allowlist (repeatable)");
  update->add_flag("--clear-allow", r.clear_allow, "Allow any address again");
  update->add_option("--rate-limit", r.rate_limit, "Requests per second, or 'default'");
  update->add_option("--burst", r.burst, "Burst, or 'default'");
  update->add_flag("--json", k.json, "Print the key as JSON");
  OnParse(update, run, [&global, args] { return RunKeysUpdate(global, *args); });
}

}  // namespace chatbot::cli
