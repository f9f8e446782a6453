// `chatbot config show|template|reference`.
#include <cstdio>

#include "cli/commands.h"

namespace chatbot::cli {

int RunConfigShow(const GlobalOptions& global) {
  const Configuration config = LoadConfiguration(global);
  std::printf("%s", config.Describe().c_str());
  return kExitOk;
}

int RunConfigTemplate() {
  std::printf("%s", Configuration::FileTemplate().c_str());
  return kExitOk;
}

int RunConfigReference() {
  std::printf("%s", Configuration::ReferenceTable().c_str());
  return kExitOk;
}

}  // namespace chatbot::cli
