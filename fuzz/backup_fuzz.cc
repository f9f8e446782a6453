// Backup folders and their manifests (ops/backup.h), as `chatbot restore`
// and `backup list` read them. The input is one backup folder
// (files_support.h). What holds: verification never throws and names a
// problem for every damage it finds, listing never throws, and "latest"
// resolves to a backup with a readable manifest or is refused with a
// DataError.
#include <string>

#include "common/error.h"
#include "files_support.h"
#include "ops/backup.h"

using namespace chatbot;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::filesystem::path root = fuzz::ScratchDir() / "backups";
  const std::filesystem::path dir = root / "20261129T002747Z";
  fuzz::WriteFolder(dir, fuzz::Text(data, size));

  ops::BackupVerification verification;
  fuzz::Refused<>([&] { verification = ops::VerifyBackup(dir); });
  for (const std::string& problem : verification.problems) {
    FUZZ_CHECK(!problem.empty(), "an empty problem");
  }
  std::vector<ops::BackupSummary> listed;
  fuzz::Refused<>([&] { listed = ops::ListBackups(root); });
  FUZZ_CHECK(listed.size() == 1 && listed[0].name == dir.filename().string(),
             "the backup was not listed");
  std::filesystem::path latest;
  if (fuzz::Refused<DataError>([&] { latest = ops::ResolveBackup(root, "latest"); })) {
    FUZZ_CHECK(latest == dir, latest.string());
    FUZZ_CHECK(listed[0].problem.empty(), "latest is a backup whose manifest is unreadable");
  } else {
    FUZZ_CHECK(!listed[0].problem.empty(), "a readable backup is not latest");
  }
  return 0;
}
