// Training data in one format (nlu/training_data.h), chosen when this file
// is compiled: CHATBOT_FUZZ_EXTENSION is ".jsonl", ".csv" or ".yml" (the
// project's YAML and Rasa's, told apart by their top-level key). What
// holds: a file either loads or is refused with a DataError naming the
// file; the examples loaded, printed as JSON Lines (ExamplesToJsonLines,
// how model folders store them) and loaded again, are the same examples
// (parse, print, parse).
#include <string>
#include <vector>

#include "common/error.h"
#include "fuzz_support.h"
#include "nlu/training_data.h"

using namespace chatbot;

namespace {

bool SameExamples(const std::vector<nlu::TrainingExample>& a,
                  const std::vector<nlu::TrainingExample>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].text != b[i].text || a[i].intent != b[i].intent) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::filesystem::path file =
      fuzz::ScratchDir() / (std::string("input") + CHATBOT_FUZZ_EXTENSION);
  fuzz::WriteFile(file, fuzz::Text(data, size));
  nlu::TrainingData loaded;
  const bool ok =
      fuzz::Refused<DataError>([&] { loaded = nlu::LoadTrainingData({file}, {.training = false}); },
                               file.filename().string());
  if (!ok) return 0;
  FUZZ_CHECK(!loaded.examples.empty(), "loaded without examples");

  const std::filesystem::path printed = fuzz::ScratchDir() / "printed.jsonl";
  fuzz::WriteFile(printed, nlu::ExamplesToJsonLines(loaded.examples));
  nlu::TrainingData again;
  fuzz::Refused<>([&] { again = nlu::LoadTrainingData({printed}, {.training = false}); });
  FUZZ_CHECK(SameExamples(loaded.examples, again.examples),
             "examples changed when printed as JSON Lines and loaded again");
  return 0;
}
