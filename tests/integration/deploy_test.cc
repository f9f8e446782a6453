// The deployment files, checked as far as this machine can check them
// (Docker cannot run here): the systemd units pass `systemd-analyze verify`
// and have the hardening the operations guide promises; `cmake --install`
// lays out binary, configuration, data and log folders (staged under
// DESTDIR) and keeps an operator's configuration; docker-compose.yml and
// the Prometheus files parse as YAML and refer to files that exist; the
// Dockerfile is multi-stage on Debian 12 and builds with the packages of
// scripts/setup.sh. The cluster (docker-compose.cluster.yml,
// docs/scaling.md): the compose file parses, refers to files that exist,
// keeps its secrets in files and names settings the service knows; its
// nginx configuration passes `nginx -t` (the replicas' names resolved to
// 127.0.0.1) as the single-machine one does, both Prometheus
// configurations pass `promtool check config`, and deploy/cluster-secrets.sh
// makes the secret files once.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "ci_skip.h"
#include "nginx_server.h"
#include "process_runner.h"

namespace chatbot::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const fs::path kSourceDir = CHATBOT_SOURCE_DIR;
const fs::path kBinary = CHATBOT_BINARY;
const fs::path kBuildDir = CHATBOT_BUILD_DIR;
const std::vector<std::string> kUnits = {"chatbot.service", "chatbot-backup.service",
                                         "chatbot-backup.timer", "chatbot-maintenance.service",
                                         "chatbot-maintenance.timer"};

std::string Read(const fs::path& path) {
  return ReadFileToString(path);
}

// Unit file "Key=value" lines (all values of a key, in order).
std::vector<std::string> UnitValues(const std::string& unit, const std::string& key) {
  std::vector<std::string> values;
  for (const std::string& line : Lines(unit)) {
    if (line.rfind(key + "=", 0) == 0) values.push_back(line.substr(key.size() + 1));
  }
  return values;
}

std::string UnitValue(const std::string& unit, const std::string& key) {
  const std::vector<std::string> values = UnitValues(unit, key);
  return values.empty() ? "" : values.back();
}

TEST(DeployTest, TheServiceUnitIsHardenedAndReloadsWithSighup) {
  const std::string unit = Read(kSourceDir / "deploy/systemd/chatbot.service");
  EXPECT_EQ(UnitValue(unit, "User"), "chatbot");
  EXPECT_EQ(UnitValue(unit, "Group"), "chatbot");
  EXPECT_EQ(UnitValue(unit, "Restart"), "on-failure");
  EXPECT_EQ(UnitValue(unit, "ExecStart"),
            "/usr/local/bin/chatbot serve --config /etc/chatbot/chatbot.toml");
  EXPECT_EQ(UnitValue(unit, "ExecReload"), "/bin/kill -HUP $MAINPID");
  EXPECT_EQ(UnitValue(unit, "NoNewPrivileges"), "yes");
  EXPECT_EQ(UnitValue(unit, "ProtectSystem"), "strict");
  EXPECT_EQ(UnitValue(unit, "ProtectHome"), "yes");
  EXPECT_EQ(UnitValue(unit, "PrivateTmp"), "yes");
  EXPECT_EQ(UnitValue(unit, "CapabilityBoundingSet"), "");
  EXPECT_EQ(UnitValue(unit, "WorkingDirectory"), "/var/lib/chatbot");
  EXPECT_EQ(UnitValue(unit, "ReadWritePaths"), "/var/lib/chatbot /var/log/chatbot");
  EXPECT_EQ(UnitValue(unit, "StateDirectory"), "chatbot");
  EXPECT_EQ(UnitValue(unit, "LogsDirectory"), "chatbot");
  EXPECT_EQ(UnitValue(unit, "Environment"), "CHATBOT_PATHS_LOGS=/var/log/chatbot");
  const std::string sysusers = Read(kSourceDir / "deploy/systemd/chatbot.sysusers");
  EXPECT_THAT(sysusers, HasSubstr("u chatbot - \"chatbot service\" /var/lib/chatbot"));
}

TEST(DeployTest, UnitsPassSystemdAnalyzeVerify) {
  if (::access("/usr/bin/systemd-analyze", X_OK) != 0) {
    CHATBOT_SKIP("systemd-analyze is not installed (package systemd)");
  }
  // The units as installed from this build: ExecStart names the program
  // built here (verify checks that it exists and is executable).
  TempDir dir("chatbot-units");
  std::vector<std::string> args = {"verify"};
  for (const std::string& name : kUnits) {
    std::string text = Read(kSourceDir / "deploy/systemd" / name);
    text = std::regex_replace(text, std::regex("/usr/local/bin/chatbot"), kBinary.string());
    WriteStringToFile(dir.path() / name, text);
    args.push_back((dir.path() / name).string());
  }
  ProcessOptions options;
  options.program = "/usr/bin/systemd-analyze";
  options.args = args;
  options.working_directory = dir.path();
  const ProcessResult r = RunProcess(options);
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.err, "") << Describe(r);
}

TEST(DeployTest, InstallLaysOutTheMachineAndKeepsTheConfiguration) {
  TempDir stage("chatbot-install");
  ProcessOptions options;
  options.program = "/usr/bin/env";
  options.args = {"DESTDIR=" + stage.path().string(),
                  "cmake",
                  "--install",
                  kBuildDir.string(),
                  "--prefix",
                  "/usr/local"};
  options.timeout = std::chrono::seconds(120);
  ProcessResult r = RunProcess(options);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const fs::path root = stage.path();
  const fs::path binary = root / "usr/local/bin/chatbot";
  ASSERT_TRUE(fs::exists(binary));
  EXPECT_NE(fs::status(binary).permissions() & fs::perms::owner_exec, fs::perms::none);
  EXPECT_TRUE(fs::exists(root / "etc/chatbot/chatbot.toml"));
  EXPECT_EQ(Read(root / "etc/chatbot/chatbot.toml"), Read(kSourceDir / "config/chatbot.toml"));
  EXPECT_TRUE(fs::exists(root / "var/lib/chatbot/data/domain/orders.yml"));
  for (const char* dir : {"var/lib/chatbot/data/sessions", "var/lib/chatbot/data/security",
                          "var/lib/chatbot/model", "var/lib/chatbot/backups", "var/log/chatbot"}) {
    EXPECT_TRUE(fs::is_directory(root / dir)) << dir;
  }
  for (const std::string& unit : kUnits) {
    EXPECT_EQ(Read(root / "usr/local/lib/systemd/system" / unit),
              Read(kSourceDir / "deploy/systemd" / unit))
        << unit << ": installed as in deploy/systemd with the default folders";
  }
  EXPECT_TRUE(fs::exists(root / "usr/local/lib/sysusers.d/chatbot.conf"));
  EXPECT_TRUE(fs::exists(root / "usr/local/share/chatbot/prometheus/alerts.yml"));
  EXPECT_EQ(Read(root / "usr/local/share/chatbot/nginx/chatbot.conf"),
            Read(kSourceDir / "deploy/nginx/chatbot.conf"));
  EXPECT_TRUE(fs::exists(root / "usr/local/share/doc/chatbot/OPERATIONS.md"));
  EXPECT_TRUE(fs::exists(root / "usr/local/bin/chatbot-desktop"));
  EXPECT_EQ(Read(root / "usr/local/share/applications/chatbot-desktop.desktop"),
            Read(kSourceDir / "deploy/desktop/chatbot-desktop.desktop"));
  EXPECT_TRUE(fs::exists(root / "usr/local/share/icons/hicolor/scalable/apps/chatbot-desktop.svg"));

  // The installed program runs.
  ProcessOptions version;
  version.program = binary;
  version.args = {"--version"};
  EXPECT_EQ(RunProcess(version).exit_code, 0);

  // A second install (an upgrade) keeps the operator's configuration.
  WriteStringToFile(root / "etc/chatbot/chatbot.toml", "[bot]\nname = \"Mine\"\n");
  r = RunProcess(options);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(Read(root / "etc/chatbot/chatbot.toml"), "[bot]\nname = \"Mine\"\n");
  EXPECT_THAT(r.out, HasSubstr("Keeping: "));
}

TEST(DeployTest, ComposeFileParsesAndRefersToRealFiles) {
  const YAML::Node compose = YAML::LoadFile((kSourceDir / "docker-compose.yml").string());
  const YAML::Node chatbot = compose["services"]["chatbot"];
  ASSERT_TRUE(chatbot.IsMap());
  EXPECT_EQ(chatbot["build"]["context"].as<std::string>(), ".");
  EXPECT_TRUE(fs::exists(kSourceDir / chatbot["build"]["dockerfile"].as<std::string>()));
  EXPECT_EQ(chatbot["restart"].as<std::string>(), "on-failure");
  bool api_port = false;
  for (const auto& port : chatbot["ports"]) api_port |= port.as<std::string>() == "8080:8080";
  EXPECT_TRUE(api_port);
  std::string healthcheck;
  for (const auto& word : chatbot["healthcheck"]["test"])
    healthcheck += word.as<std::string>() + " ";
  EXPECT_THAT(healthcheck, HasSubstr("http://127.0.0.1:8080/health"));

  const YAML::Node prometheus = compose["services"]["prometheus"];
  ASSERT_TRUE(prometheus.IsMap());
  EXPECT_EQ(prometheus["network_mode"].as<std::string>(), "service:chatbot");
  std::set<std::string> mounted;
  for (const YAML::Node& service : {chatbot, prometheus}) {
    for (const auto& volume : service["volumes"]) {
      const std::string spec = volume.as<std::string>();
      const std::string source = spec.substr(0, spec.find(':'));
      const std::string target = spec.substr(spec.find(':') + 1);
      mounted.insert(target.substr(0, target.find(':')));
      if (source.rfind("./", 0) != 0) {
        EXPECT_TRUE(compose["volumes"][source]) << "undeclared volume " << source;
      } else if (source.rfind("./secrets/", 0) != 0) {  // made by the operator
        EXPECT_TRUE(fs::exists(kSourceDir / source)) << spec;
      }
    }
  }
  for (const char* target : {"/var/lib/chatbot", "/var/log/chatbot", "/etc/chatbot/chatbot.toml",
                             "/etc/prometheus/prometheus.yml", "/etc/prometheus/alerts.yml",
                             "/etc/prometheus/chatbot-operator.key"}) {
    EXPECT_TRUE(mounted.count(target)) << target;
  }
}

TEST(DeployTest, PrometheusFilesParseAndAgree) {
  const YAML::Node config =
      YAML::LoadFile((kSourceDir / "deploy/prometheus/prometheus.yml").string());
  EXPECT_EQ(config["rule_files"][0].as<std::string>(), "alerts.yml");
  const YAML::Node job = config["scrape_configs"][0];
  EXPECT_EQ(job["job_name"].as<std::string>(), "chatbot");
  EXPECT_EQ(job["authorization"]["credentials_file"].as<std::string>(),
            "/etc/prometheus/chatbot-operator.key");
  const YAML::Node alerts = YAML::LoadFile((kSourceDir / "deploy/prometheus/alerts.yml").string());
  std::map<std::string, std::string> expressions;
  for (const auto& rule : alerts["groups"][0]["rules"]) {
    expressions[rule["alert"].as<std::string>()] = rule["expr"].as<std::string>();
    EXPECT_TRUE(rule["annotations"]["summary"]) << rule["alert"].as<std::string>();
  }
  // The guide's triggers.
  EXPECT_THAT(expressions["ChatbotDown"], HasSubstr("up{job=\"chatbot\"} == 0"));
  EXPECT_THAT(expressions["ChatbotHighLatency"], HasSubstr("histogram_quantile(0.95"));
  EXPECT_THAT(expressions["ChatbotHighLatency"], HasSubstr("> 0.5"));
  EXPECT_THAT(expressions["ChatbotHighErrorRate"], HasSubstr("> 0.01"));
  EXPECT_THAT(expressions["ChatbotHighCpu"], HasSubstr("> 0.8"));
  EXPECT_THAT(expressions["ChatbotHighMemory"], HasSubstr("> 0.9"));
  // Every metric the rules use is one the service exposes (names checked
  // against the sources that write them).
  std::string sources;
  for (const char* file : {"src/server/service_metrics.cc", "src/ops/process_stats.cc",
                           "src/server/service.cc", "src/server/model_accuracy_metrics.cc"}) {
    sources += Read(kSourceDir / file);
  }
  const std::regex metric(R"(\b((?:chatbot|process)_[a-z_]+?)(?:_bucket)?\{)");
  for (const auto& [name, expr] : expressions) {
    for (std::sregex_iterator it(expr.begin(), expr.end(), metric), end; it != end; ++it) {
      EXPECT_THAT(sources, HasSubstr("\"" + (*it)[1].str())) << name << " uses " << (*it)[1];
    }
  }
}

TEST(DeployTest, DockerfileIsMultiStageDebian12WithTheSetupPackages) {
  const std::string dockerfile = Read(kSourceDir / "Dockerfile");
  std::vector<std::string> from;
  for (const std::string& line : Lines(dockerfile)) {
    if (line.rfind("FROM ", 0) == 0) from.push_back(line);
  }
  ASSERT_EQ(from.size(), 2u);
  EXPECT_EQ(from[0], "FROM debian:12 AS build");
  EXPECT_EQ(from[1], "FROM debian:12-slim");
  EXPECT_THAT(dockerfile, HasSubstr("COPY --from=build /stage/ /"));
  EXPECT_THAT(dockerfile, HasSubstr("\nUSER chatbot\n"));
  EXPECT_THAT(dockerfile, HasSubstr("HEALTHCHECK"));
  EXPECT_THAT(dockerfile, HasSubstr("cmake --install"));
  // Every library the build needs (scripts/setup.sh) is in the build stage.
  const std::string setup = Read(kSourceDir / "scripts/setup.sh");
  const std::regex dev(R"(\blib[a-z0-9.+-]+-dev\b)");
  const std::string build_stage = dockerfile.substr(0, dockerfile.find(from[1]));
  for (std::sregex_iterator it(setup.begin(), setup.end(), dev), end; it != end; ++it) {
    const std::string package = it->str();
    if (package == "libgtest-dev" || package == "libgmock-dev" || package == "libbenchmark-dev" ||
        package == "libclang-rt-14-dev" || package == "libomp-14-dev") {
      continue;  // tests, benchmarks and fuzz targets are not built in the image
    }
    EXPECT_THAT(build_stage, HasSubstr(package)) << package << " is missing from the Dockerfile";
  }
}

// ---------------------------------------------------------------------------
// The cluster: docker-compose.cluster.yml, nginx, Prometheus (docs/scaling.md).

const std::vector<std::string> kReplicas = {"chatbot-1", "chatbot-2", "chatbot-3"};

// A compose service with `<<: *anchor` merged in, as compose does.
YAML::Node Service(const YAML::Node& compose, const std::string& name) {
  const YAML::Node service = compose["services"][name];
  if (!service.IsMap() || !service["<<"]) return service;
  YAML::Node merged = YAML::Clone(service["<<"]);
  for (const auto& entry : service) {
    const std::string key = entry.first.as<std::string>();
    if (key != "<<") merged[key] = entry.second;
  }
  return merged;
}

// "SOURCE:TARGET[:ro]" volumes of a service, by target.
std::map<std::string, std::string> Mounts(const YAML::Node& service) {
  std::map<std::string, std::string> mounts;
  for (const auto& volume : service["volumes"]) {
    const std::string spec = volume.as<std::string>();
    const size_t colon = spec.find(':');
    const std::string target = spec.substr(colon + 1);
    mounts[target.substr(0, target.find(':'))] = spec.substr(0, colon);
  }
  return mounts;
}

std::set<std::string> Strings(const YAML::Node& list) {
  std::set<std::string> strings;
  for (const auto& item : list) strings.insert(item.as<std::string>());
  return strings;
}

TEST(DeployTest, ClusterComposeFileParsesAndRefersToRealFiles) {
  const YAML::Node compose = YAML::LoadFile((kSourceDir / "docker-compose.cluster.yml").string());
  std::vector<std::string> services = {"postgres", "redis", "nginx", "prometheus"};
  services.insert(services.end(), kReplicas.begin(), kReplicas.end());
  for (const std::string& name : services) {
    SCOPED_TRACE(name);
    const YAML::Node service = Service(compose, name);
    ASSERT_TRUE(service.IsMap());
    EXPECT_EQ(service["restart"].as<std::string>(), "on-failure");
    for (const auto& [target, source] : Mounts(service)) {
      if (source.rfind("./", 0) == 0) {
        EXPECT_TRUE(fs::exists(kSourceDir / source)) << source;
      } else {
        EXPECT_TRUE(compose["volumes"][source]) << "undeclared volume " << source;
      }
    }
    // Secrets are files under secrets/ (ignored by git), never values here.
    for (const std::string& secret : Strings(service["secrets"])) {
      const YAML::Node declared = compose["secrets"][secret];
      ASSERT_TRUE(declared) << "undeclared secret " << secret;
      EXPECT_EQ(declared["file"].as<std::string>().rfind("./secrets/", 0), 0u) << secret;
    }
    for (const auto& variable : service["environment"]) {
      const std::string key = variable.first.as<std::string>();
      const std::string value = variable.second.as<std::string>();
      if (key.find("PASSWORD") != std::string::npos || key.find("_URL_FILE") != std::string::npos) {
        EXPECT_TRUE(key.ends_with("_FILE")) << key << " holds a secret";
        EXPECT_EQ(value.rfind("/run/secrets/", 0), 0u) << key;
        EXPECT_TRUE(Strings(service["secrets"]).count(value.substr(13))) << key;
      }
      EXPECT_FALSE(std::regex_search(value, std::regex("://[^/@]*:[^/@]*@"))) << key;
    }
  }
  EXPECT_THAT(Read(kSourceDir / ".gitignore"), HasSubstr("\n/secrets/\n"));

  // The replicas: one image, the shared backends, nginx as their only proxy,
  // no port of their own.
  const std::string nginx_address =
      compose["services"]["nginx"]["networks"]["chatbot"]["ipv4_address"].as<std::string>();
  std::set<std::string> addresses = {nginx_address};
  for (const std::string& name : kReplicas) {
    SCOPED_TRACE(name);
    const YAML::Node replica = Service(compose, name);
    EXPECT_EQ(replica["build"]["context"].as<std::string>(), ".");
    EXPECT_TRUE(fs::exists(kSourceDir / replica["build"]["dockerfile"].as<std::string>()));
    EXPECT_FALSE(replica["ports"]);
    const YAML::Node environment = replica["environment"];
    EXPECT_EQ(environment["CHATBOT_STORE_BACKEND"].as<std::string>(), "postgres");
    EXPECT_EQ(environment["CHATBOT_SECURITY_RATE_LIMIT_BACKEND"].as<std::string>(), "redis");
    EXPECT_EQ(environment["CHATBOT_SECURITY_TRUSTED_PROXIES"].as<std::string>(),
              nginx_address + "/32");
    EXPECT_TRUE(
        addresses.insert(replica["networks"]["chatbot"]["ipv4_address"].as<std::string>()).second);
    const auto mounts = Mounts(replica);
    EXPECT_EQ(mounts.at("/var/lib/chatbot/model"), "chatbot-models");  // one model for all
    EXPECT_EQ(mounts.at("/var/log/chatbot"), name + "-logs");
    EXPECT_EQ(replica["depends_on"]["postgres"]["condition"].as<std::string>(), "service_healthy");
    EXPECT_EQ(replica["depends_on"]["redis"]["condition"].as<std::string>(), "service_healthy");
  }

  // nginx: the shipped site, and the replicas as its upstreams.
  const auto nginx_mounts = Mounts(compose["services"]["nginx"]);
  EXPECT_EQ(nginx_mounts.at("/etc/nginx/conf.d/default.conf"), "./deploy/nginx/chatbot.conf");
  const std::string upstreams = nginx_mounts.at("/etc/nginx/chatbot-upstreams.conf");
  const std::string upstream_text = Read(kSourceDir / upstreams);
  for (const std::string& name : kReplicas) {
    EXPECT_THAT(upstream_text, HasSubstr("\nserver " + name + ":8080 ")) << upstreams;
  }

  // Prometheus scrapes each replica with the operator key from its secret.
  const YAML::Node prometheus = compose["services"]["prometheus"];
  const std::string config_file = Mounts(prometheus).at("/etc/prometheus/prometheus.yml");
  const YAML::Node config = YAML::LoadFile((kSourceDir / config_file).string());
  const YAML::Node job = config["scrape_configs"][0];
  std::set<std::string> targets = Strings(job["static_configs"][0]["targets"]);
  for (const std::string& name : kReplicas) EXPECT_EQ(targets.erase(name + ":8080"), 1u) << name;
  EXPECT_TRUE(targets.empty());
  const std::string key_file = job["authorization"]["credentials_file"].as<std::string>();
  EXPECT_TRUE(Strings(prometheus["secrets"]).count(key_file.substr(key_file.rfind('/') + 1)))
      << key_file;
}

TEST(DeployTest, ClusterComposeNamesSettingsTheServiceKnows) {
  const YAML::Node compose = YAML::LoadFile((kSourceDir / "docker-compose.cluster.yml").string());
  TempDir dir("chatbot-compose-settings");
  WriteStringToFile(dir.path() / "secret", "x");
  ProcessOptions show;
  show.program = kBinary;
  show.args = {"config", "show", "--config", (kSourceDir / "config/chatbot.toml").string()};
  const ProcessResult defaults = RunProcess(show);
  ASSERT_EQ(defaults.exit_code, 0) << Describe(defaults);
  // The backends' settings come with their code: in a build without any of
  // them, their variables cannot be checked (every other one is).
  const bool backends = defaults.out.find("\n[store]\n") != std::string::npos &&
                        defaults.out.find("\nrate_limit_backend = ") != std::string::npos;
  std::vector<std::string> unchecked;
  for (const auto& variable : Service(compose, "chatbot-1")["environment"]) {
    const std::string key = variable.first.as<std::string>();
    if (key == "CHATBOT_CONFIG") continue;
    // The secrets' files, which the service may read when it loads them.
    const std::string value = key.ends_with("_FILE") ? (dir.path() / "secret").string()
                                                     : variable.second.as<std::string>();
    ProcessOptions options = show;
    options.environment = {{key, value}};
    const ProcessResult r = RunProcess(options);
    if (r.exit_code == 0) continue;
    if (!backends &&
        (key.starts_with("CHATBOT_STORE_") || key.starts_with("CHATBOT_SECURITY_RATE_LIMIT_"))) {
      unchecked.push_back(key);
    } else {
      ADD_FAILURE() << key << "=" << value << ": " << Describe(r);
    }
  }
  // Checked as soon as the build has them; until then, said.
  for (const std::string& key : unchecked) {
    std::cout << "not checked (this build has no store or rate-limit backend settings): " << key
              << "\n";
  }
}

TEST(DeployTest, NginxConfigurationPassesNginxTest) {
  if (NginxProgram().empty()) {
    CHATBOT_SKIP("nginx is not installed (package nginx-light; scripts/setup.sh installs it)");
  }
  // The site with each upstream list: this machine's as shipped, the
  // compose replicas' with their names resolved here to 127.0.0.1.
  for (const auto& [file, rename] : std::vector<std::pair<std::string, bool>>{
           {"chatbot-upstreams.conf", false}, {"chatbot-upstreams.compose.conf", true}}) {
    SCOPED_TRACE(file);
    TempDir dir("chatbot-nginx-t");
    std::string upstreams = Read(kSourceDir / "deploy/nginx" / file);
    if (rename)
      upstreams = std::regex_replace(upstreams, std::regex("chatbot-[0-9]+:"), "127.0.0.1:");
    NginxOptions options;
    options.dir = dir.path();
    const fs::path log = dir.path() / "access.log";
    options.site = [log](uint16_t port) { return ShippedChatbotSite(port, log); };
    options.files["chatbot-upstreams.conf"] = upstreams;
    NginxServer nginx(options);
    const ProcessResult r = nginx.TestConfiguration();
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_THAT(r.err, HasSubstr("test is successful")) << Describe(r);
    EXPECT_THAT(r.err, ::testing::Not(HasSubstr("[warn]"))) << Describe(r);
  }
}

TEST(DeployTest, PrometheusConfigurationsPassPromtool) {
  if (::access("/usr/bin/promtool", X_OK) != 0) {
    CHATBOT_SKIP("promtool is not installed (package prometheus)");
  }
  // promtool checks that the key file exists: a stand-in for it.
  for (const std::string name : {"prometheus.yml", "prometheus.cluster.yml"}) {
    SCOPED_TRACE(name);
    TempDir dir("chatbot-promtool");
    const fs::path key = dir.path() / "operator.key";
    WriteStringToFile(key, "x\n");
    fs::copy_file(kSourceDir / "deploy/prometheus/alerts.yml", dir.path() / "alerts.yml");
    const std::string text = Read(kSourceDir / "deploy/prometheus" / name);
    const std::regex credentials("credentials_file: \\S+");
    ASSERT_TRUE(std::regex_search(text, credentials));
    WriteStringToFile(dir.path() / name,
                      std::regex_replace(text, credentials, "credentials_file: " + key.string()));
    ProcessOptions options;
    options.program = "/usr/bin/promtool";
    options.args = {"check", "config", (dir.path() / name).string()};
    const ProcessResult r = RunProcess(options);
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
  }
}

TEST(DeployTest, ClusterSecretsAreMadeOnceAndKept) {
  TempDir dir("chatbot-secrets");
  const fs::path secrets = dir.path() / "secrets";
  ProcessOptions options;
  options.program = kSourceDir / "deploy/cluster-secrets.sh";
  options.args = {secrets.string()};
  ProcessResult r = RunProcess(options);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(fs::status(secrets).permissions(), fs::perms::owner_all);
  const std::string password = Read(secrets / "postgres-password");
  EXPECT_TRUE(std::regex_match(password, std::regex("[0-9a-f]{48}"))) << password;
  EXPECT_EQ(Read(secrets / "chatbot-postgres-url"),
            "postgresql://chatbot:" + password + "@postgres:5432/chatbot");
  EXPECT_TRUE(std::regex_match(Read(secrets / "redis-password"), std::regex("[0-9a-f]{48}")));
  EXPECT_NE(Read(secrets / "redis-password"), password);
  EXPECT_EQ(Read(secrets / "chatbot-operator.key"), "");
  // Every file the compose file names.
  const YAML::Node compose = YAML::LoadFile((kSourceDir / "docker-compose.cluster.yml").string());
  for (const auto& secret : compose["secrets"]) {
    const std::string file = secret.second["file"].as<std::string>();
    EXPECT_TRUE(fs::exists(secrets / fs::path(file).filename())) << file;
  }
  // Run again: nothing changes (the operator's key stays).
  WriteStringToFile(secrets / "chatbot-operator.key", "key");
  r = RunProcess(options);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(Read(secrets / "postgres-password"), password);
  EXPECT_EQ(Read(secrets / "chatbot-operator.key"), "key");
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("made")));
}

}  // namespace
}  // namespace chatbot::testing
