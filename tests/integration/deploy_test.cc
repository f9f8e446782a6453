// The deployment files, checked as far as this machine can check them
// (Docker cannot run here): the systemd units pass `systemd-analyze verify`
// and have the hardening the operations guide promises; `cmake --install`
// lays out binary, configuration, data and log folders (staged under
// DESTDIR) and keeps an operator's configuration; docker-compose.yml and
// the Prometheus files parse as YAML and refer to files that exist; the
// Dockerfile is multi-stage on Debian 12 and builds with the packages of
// scripts/setup.sh.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "ci_skip.h"
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
                           "src/cli/serve_command.cc", "src/server/model_accuracy_metrics.cc"}) {
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
    if (package == "libgtest-dev" || package == "libgmock-dev" || package == "libbenchmark-dev") {
      continue;  // tests and benchmarks are not built in the image
    }
    EXPECT_THAT(build_stage, HasSubstr(package)) << package << " is missing from the Dockerfile";
  }
}

}  // namespace
}  // namespace chatbot::testing
