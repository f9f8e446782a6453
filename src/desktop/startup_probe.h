// Measures what a person notices at start: the time from the process's start
// to the main window's first paint, and the resident memory then (VmRSS of
// /proc/self/status). `chatbot-desktop --startup-report` prints both; the
// figures in the README come from it.
#ifndef CHATBOT_DESKTOP_STARTUP_PROBE_H_
#define CHATBOT_DESKTOP_STARTUP_PROBE_H_

#include <QObject>
#include <functional>

class QWidget;

namespace chatbot::desktop {

struct StartupFigures {
  double first_paint_ms = 0;  // since the process started
  double resident_mib = 0;
};

// Milliseconds since this process started (from /proc/self/stat).
double MillisecondsSinceProcessStart();
// Resident memory of this process, in MiB (0 where /proc is absent).
double ResidentMemoryMib();

// Calls `done` once, after `window`'s first paint has been delivered.
class StartupProbe : public QObject {
  Q_OBJECT

 public:
  StartupProbe(QWidget* window, std::function<void(const StartupFigures&)> done);

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  std::function<void(const StartupFigures&)> done_;
  bool fired_ = false;
};

}  // namespace chatbot::desktop

#endif  // CHATBOT_DESKTOP_STARTUP_PROBE_H_
