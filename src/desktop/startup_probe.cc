#include "desktop/startup_probe.h"

#include <unistd.h>

#include <QEvent>
#include <QFile>
#include <QTimer>
#include <QWidget>
#include <ctime>

namespace chatbot::desktop {

double MillisecondsSinceProcessStart() {
  // Field 22 of /proc/self/stat: start time in clock ticks since boot.
  QFile stat(QStringLiteral("/proc/self/stat"));
  if (!stat.open(QIODevice::ReadOnly)) return 0;
  const QByteArray text = stat.readAll();
  const qsizetype paren = text.lastIndexOf(')');  // the command may hold spaces
  const QList<QByteArray> fields = text.mid(paren + 2).split(' ');
  if (fields.size() < 20) return 0;
  const double start_s = fields[19].toDouble() / static_cast<double>(sysconf(_SC_CLK_TCK));
  timespec now{};
  clock_gettime(CLOCK_BOOTTIME, &now);
  return (now.tv_sec + now.tv_nsec / 1e9 - start_s) * 1000;
}

double ResidentMemoryMib() {
  QFile status(QStringLiteral("/proc/self/status"));
  if (!status.open(QIODevice::ReadOnly)) return 0;
  for (const QByteArray& line : status.readAll().split('\n')) {
    if (line.startsWith("VmRSS:")) {
      return line.mid(6).trimmed().split(' ').first().toDouble() / 1024.0;  // kB
    }
  }
  return 0;
}

StartupProbe::StartupProbe(QWidget* window, std::function<void(const StartupFigures&)> done)
    : QObject(window), done_(std::move(done)) {
  window->installEventFilter(this);
}

bool StartupProbe::eventFilter(QObject* watched, QEvent* event) {
  if (!fired_ && event->type() == QEvent::Paint) {
    fired_ = true;
    // After the paint event has been handled and the frame flushed.
    QTimer::singleShot(0, this, [this] {
      done_(StartupFigures{MillisecondsSinceProcessStart(), ResidentMemoryMib()});
    });
  }
  return QObject::eventFilter(watched, event);
}

}  // namespace chatbot::desktop
