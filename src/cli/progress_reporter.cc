#include "cli/progress_reporter.h"

#include <fmt/core.h>
#include <unistd.h>

#include <cstdio>

#include "common/logging.h"

namespace chatbot::cli {

ProgressReporter::ProgressReporter() : interactive_(::isatty(STDERR_FILENO) == 1) {}

void ProgressReporter::Update(const std::string& stage, int done, int total,
                              const std::string& unit, double elapsed) {
  if (stage != stage_) {
    if (line_open_) std::fputc('\n', stderr);
    line_open_ = false;
    stage_ = stage;
    stage_start_ = elapsed;
    last_decile_ = -1;
  }
  if (total <= 0) return;
  const int decile = done * 10 / total;
  if (!interactive_ && decile == last_decile_) return;
  last_decile_ = decile;
  const double spent = elapsed - stage_start_;
  const double rate = spent > 0 ? done / spent : 0;
  const double eta = rate > 0 ? (total - done) / rate : 0;
  const std::string line =
      fmt::format("{:<12} {:>5}/{:<5} {} {:5.1f}%  {:7.1f} {}/s  elapsed {:5.1f}s  ETA {:5.1f}s",
                  stage, done, total, unit, 100.0 * done / total, rate, unit, elapsed, eta);
  if (interactive_) {
    std::fprintf(stderr, "\r%s", line.c_str());
    line_open_ = true;
    if (done == total) {
      std::fputc('\n', stderr);
      line_open_ = false;
    }
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

void ProgressReporter::Finish() {
  if (line_open_) std::fputc('\n', stderr);
  line_open_ = false;
}

BertProgressPrinter::BertProgressPrinter() : interactive_(::isatty(STDERR_FILENO) == 1) {}

void BertProgressPrinter::Update(const nlu::BertTrainingProgress& p) {
  const std::string line = nlu::ProgressLine(p);
  if (interactive_) {
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    if (p.epoch_finished) std::fprintf(stderr, "\n");
  } else if (p.epoch_finished) {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
  if (p.epoch_finished) TrainingLog()->info("{}", line);
}

}  // namespace chatbot::cli
