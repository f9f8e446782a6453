// The configuration (common/config.h): the TOML file, CHATBOT_* environment
// overrides and --set flags. The input: the file, then after a "%%" line
// environment entries (NAME=VALUE, one a line), then after another flags
// (section.key=value, one a line). What holds: the sources either load or
// are refused with a ConfigError; the effective settings printed
// (Describe(), what `chatbot config show` prints, valid TOML) and loaded
// again as a file are the same settings (parse, print, parse).
#include <map>
#include <string>

#include "common/config.h"
#include "common/error.h"
#include "fuzz_support.h"

using namespace chatbot;

namespace {

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty() && lines.size() < 32) {
    const size_t newline = text.find('\n');
    lines.push_back(text.substr(0, newline));
    if (newline == std::string_view::npos) break;
    text.remove_prefix(newline + 1);
  }
  return lines;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = fuzz::SplitParts(fuzz::Text(data, size), 3);
  const std::filesystem::path file = fuzz::ScratchDir() / "chatbot.toml";
  fuzz::WriteFile(file, parts[0]);
  Configuration::Sources sources;
  sources.file = file;
  sources.environment.emplace();
  if (parts.size() > 1) {
    for (const std::string_view line : Lines(parts[1])) {
      const size_t eq = line.find('=');
      if (eq == std::string_view::npos) continue;
      (*sources.environment)[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
    }
  }
  if (parts.size() > 2) {
    for (const std::string_view line : Lines(parts[2])) sources.flags.emplace_back(line);
  }
  std::optional<Configuration> config;
  if (!fuzz::Refused<ConfigError>([&] { config = Configuration::Load(sources); })) return 0;

  const std::filesystem::path printed = fuzz::ScratchDir() / "printed.toml";
  fuzz::WriteFile(printed, config->Describe());
  Configuration::Sources again_sources;
  again_sources.file = printed;
  again_sources.environment.emplace();
  std::optional<Configuration> again;
  fuzz::Refused<>([&] { again = Configuration::Load(again_sources); });
  FUZZ_CHECK(again->settings() == config->settings(),
             "settings changed when printed and loaded again:\n" + config->Describe());
  return 0;
}
