// What every fuzz target (fuzz/*_fuzz.cc) shares: the check that an input
// either parses or is refused with one of the project's error types and a
// message naming the place, a scratch folder for parsers that read files,
// and the splitting of one input into several parts (files, headers).
//
// A broken expectation prints what was expected and aborts, which libFuzzer
// reports as a crash and saves the input (crash-<sha1>).
#ifndef CHATBOT_FUZZ_FUZZ_SUPPORT_H_
#define CHATBOT_FUZZ_FUZZ_SUPPORT_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

namespace chatbot::fuzz {

[[noreturn]] inline void Fail(std::string_view what, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz expectation broken: %.*s%s%.*s\n", static_cast<int>(what.size()),
               what.data(), detail.empty() ? "" : ": ", static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

// A check that stays on in every build (assert() would vanish under NDEBUG).
#define FUZZ_CHECK(condition, detail)                                     \
  do {                                                                    \
    if (!(condition)) ::chatbot::fuzz::Fail("check " #condition, detail); \
  } while (false)

// Runs `fn`. Returns true when it returned, false when it threw one of
// `Allowed` (the error a person gets for bad input) with a message that
// contains `place` (the file or setting the message must name; "" for
// any non-empty message). Any other exception is a finding.
template <typename... Allowed, typename Fn>
bool Refused(Fn&& fn, std::string_view place = {}) {
  try {
    fn();
    return true;
  } catch (const std::exception& error) {
    if (!(... || (dynamic_cast<const Allowed*>(&error) != nullptr))) {
      Fail(std::string("unexpected exception ") + typeid(error).name(), error.what());
    }
    const std::string_view message = error.what();
    if (message.empty()) Fail("an error without a message");
    if (!place.empty() && message.find(place) == std::string_view::npos) {
      Fail(std::string("the message does not name ") + std::string(place), message);
    }
    return false;
  } catch (...) {
    Fail("an exception not derived from std::exception");
  }
}

// The input as text.
inline std::string_view Text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The parts of an input separated by a line "%%" ("a\n%%\nb" is {"a", "b"}):
// several files or fields in one input, readable in the seed corpus.
inline std::vector<std::string_view> SplitParts(std::string_view text, size_t max_parts) {
  constexpr std::string_view kSeparator = "\n%%\n";
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < max_parts) {
    const size_t at = text.find(kSeparator);
    if (at == std::string_view::npos) break;
    parts.push_back(text.substr(0, at));
    text.remove_prefix(at + kSeparator.size());
  }
  parts.push_back(text);
  return parts;
}

// A folder of this process's own under $TMPDIR (or /tmp), removed at exit.
const std::filesystem::path& ScratchDir();

// Writes `bytes` to `path`, replacing it; aborts when that fails (the
// machine, not the parser, is then at fault).
void WriteFile(const std::filesystem::path& path, std::string_view bytes);
// The same, but returns false when `path` cannot be opened for writing (a
// folder, or a file on the way); still aborts when a write fails.
bool TryWriteFile(const char* path, std::string_view bytes);

}  // namespace chatbot::fuzz

#endif  // CHATBOT_FUZZ_FUZZ_SUPPORT_H_
