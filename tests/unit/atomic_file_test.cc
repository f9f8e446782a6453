#include "common/atomic_file.h"

#include <gmock/gmock.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "common/error.h"

namespace chatbot {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("chatbot_atomic_file_test_" + std::to_string(::getpid()) + "_" + info->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }

  void TearDown() override {
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add);
    std::filesystem::remove_all(dir_);
  }

  // The names in `dir`, to see that no temporary file was left behind.
  static std::vector<std::string> Names(const std::filesystem::path& dir) {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  // The message of the IoError that `write` throws.
  static std::string IoErrorOf(const std::function<void()>& write) {
    try {
      write();
    } catch (const IoError& error) {
      return error.what();
    }
    ADD_FAILURE() << "no IoError thrown";
    return "";
  }

  // Runs WriteFileAtomically(target, data) in a child process as the user
  // nobody (65534), which is made the owner of target's directory, and says
  // what happened: "IoError naming <target>", "no error", or what went wrong.
  static std::string WriteAsNobody(const std::filesystem::path& target, const std::string& data) {
    constexpr uid_t kNobody = 65534;
    if (::chown(target.parent_path().c_str(), kNobody, kNobody) != 0) return "chown failed";
    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0) return "pipe failed";
    const pid_t child = ::fork();
    if (child == 0) {
      ::close(pipe_fds[0]);
      std::string outcome = "no error";
      if (::setgroups(0, nullptr) != 0 || ::setgid(kNobody) != 0 || ::setuid(kNobody) != 0) {
        outcome = "could not become nobody";
      } else {
        try {
          WriteFileAtomically(target, data);
        } catch (const IoError& error) {
          outcome = std::string(error.what()).find(target.string()) == std::string::npos
                        ? std::string("IoError without the path: ") + error.what()
                        : "IoError naming " + target.string();
        } catch (const std::exception& error) {
          outcome = std::string("other exception: ") + error.what();
        }
      }
      const ssize_t ignored = ::write(pipe_fds[1], outcome.data(), outcome.size());
      (void)ignored;
      ::_exit(0);
    }
    ::close(pipe_fds[1]);
    std::string outcome;
    char buffer[512];
    for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;)
      outcome.append(buffer, n);
    ::close(pipe_fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    return outcome;
  }

  std::filesystem::path dir_;
};

TEST_F(AtomicFileTest, WriteThenReadRoundTrips) {
  const std::string contents("binary\0data\nwith\xff bytes", 23);
  WriteFileAtomically(dir_ / "state.bin", contents);
  EXPECT_EQ(ReadFile(dir_ / "state.bin"), contents);
}

TEST_F(AtomicFileTest, EmptyContents) {
  WriteFileAtomically(dir_ / "empty", "");
  EXPECT_TRUE(std::filesystem::exists(dir_ / "empty"));
  EXPECT_EQ(ReadFile(dir_ / "empty"), "");
}

TEST_F(AtomicFileTest, OverwriteReplacesTheWholeFile) {
  WriteFileAtomically(dir_ / "state", "a long first version");
  WriteFileAtomically(dir_ / "state", "short");
  EXPECT_EQ(ReadFile(dir_ / "state"), "short");
}

TEST_F(AtomicFileTest, LeavesNoTemporaryFiles) {
  for (int i = 0; i < 5; ++i) WriteFileAtomically(dir_ / "state", std::to_string(i));
  WriteFileAtomically(dir_ / "other", "x");
  EXPECT_THAT(Names(dir_), ElementsAre("other", "state"));
}

TEST_F(AtomicFileTest, CreatesMissingDirectories) {
  const auto path = dir_ / "a" / "b" / "c" / "state";
  WriteFileAtomically(path, "deep");
  EXPECT_EQ(ReadFile(path), "deep");
  EXPECT_THAT(Names(dir_ / "a" / "b" / "c"), ElementsAre("state"));
}

TEST_F(AtomicFileTest, LargeContents) {
  std::string contents(3 * 1024 * 1024 + 17, '\0');
  for (size_t i = 0; i < contents.size(); ++i) contents[i] = static_cast<char>(i * 31);
  WriteFileAtomically(dir_ / "big", contents);
  EXPECT_EQ(ReadFile(dir_ / "big"), contents);
}

TEST_F(AtomicFileTest, TargetThatIsADirectoryThrowsAndIsKept) {
  const auto target = dir_ / "target";
  std::filesystem::create_directories(target);
  std::ofstream(target / "inside") << "kept";
  EXPECT_THAT(IoErrorOf([&] { WriteFileAtomically(target, "new"); }), HasSubstr(target.string()));
  EXPECT_EQ(ReadFile(target / "inside"), "kept");
  EXPECT_THAT(Names(dir_), ElementsAre("target"));
}

// The temporary name adds a suffix to the target's, so a target name of the
// longest allowed length makes the write fail before anything is renamed.
TEST_F(AtomicFileTest, FailedWriteKeepsTheOldFile) {
  const auto target = dir_ / std::string(250, 'n');
  std::ofstream(target) << "old";
  EXPECT_THAT(IoErrorOf([&] { WriteFileAtomically(target, "new"); }), HasSubstr(target.string()));
  EXPECT_EQ(ReadFile(target), "old");
  EXPECT_EQ(Names(dir_).size(), 1u);
}

TEST_F(AtomicFileTest, ReadOnlyDirectoryThrowsAndKeepsTheOldFile) {
  const auto target = dir_ / "state";
  WriteFileAtomically(target, "old");
  std::filesystem::permissions(
      dir_, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  if (::geteuid() == 0) {
    // Root writes into any directory: the write is tried by a child process
    // that gave up root for the unprivileged "nobody" owning the directory.
    EXPECT_EQ(WriteAsNobody(target, "new"), "IoError naming " + target.string());
  } else {
    EXPECT_THAT(IoErrorOf([&] { WriteFileAtomically(target, "new"); }), HasSubstr(target.string()));
  }
  EXPECT_EQ(ReadFile(target), "old");
  EXPECT_THAT(Names(dir_), ElementsAre("state"));
}

TEST_F(AtomicFileTest, ParentThatIsAFileThrowsIoError) {
  std::ofstream(dir_ / "plain") << "x";
  const auto target = dir_ / "plain" / "state";
  EXPECT_THAT(IoErrorOf([&] { WriteFileAtomically(target, "new"); }), HasSubstr("plain"));
  EXPECT_EQ(ReadFile(dir_ / "plain"), "x");
}

TEST_F(AtomicFileTest, ReadingAMissingFileNamesIt) {
  const auto path = dir_ / "missing";
  EXPECT_THAT(IoErrorOf([&] { ReadFile(path); }), HasSubstr(path.string()));
}

TEST_F(AtomicFileTest, ReadingADirectoryThrowsIoError) {
  EXPECT_THAT(IoErrorOf([&] { ReadFile(dir_); }), HasSubstr(dir_.string()));
}

TEST_F(AtomicFileTest, SyncingAMissingDirectoryThrowsIoError) {
  const auto path = dir_ / "missing";
  EXPECT_THAT(IoErrorOf([&] { SyncDirectory(path); }), HasSubstr(path.string()));
}

}  // namespace
}  // namespace chatbot
