// Progress of long work on stderr: on a terminal one line rewritten in
// place, otherwise a line every tenth of the way (or every epoch), so logs
// stay readable.
#ifndef CHATBOT_CLI_PROGRESS_REPORTER_H_
#define CHATBOT_CLI_PROGRESS_REPORTER_H_

#include <string>

#include "nlu/bert_trainer.h"

namespace chatbot::cli {

class ProgressReporter {
 public:
  ProgressReporter();
  // `unit` names what is counted ("intents", "examples").
  void Update(const std::string& stage, int done, int total, const std::string& unit,
              double elapsed_seconds);
  void Finish();

 private:
  bool interactive_;
  std::string stage_;
  double stage_start_ = 0;
  int last_decile_ = -1;
  bool line_open_ = false;
};

// BERT's epochs: on a terminal one line rewritten in place; otherwise a line
// at the end of each epoch only. Finished epochs also go to the training log.
class BertProgressPrinter {
 public:
  BertProgressPrinter();
  void Update(const nlu::BertTrainingProgress& p);

 private:
  bool interactive_;
};

}  // namespace chatbot::cli

#endif  // CHATBOT_CLI_PROGRESS_REPORTER_H_
