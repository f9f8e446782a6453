#include "desktop/operator_console.h"

#include <QTabWidget>
#include <QVBoxLayout>

#include "desktop/keys_panel.h"
#include "desktop/lockdown_panel.h"
#include "desktop/monitoring_panel.h"
#include "desktop/review_panel.h"

namespace chatbot::desktop {

OperatorConsole::OperatorConsole(ApiClient* api, QWidget* parent) : QWidget(parent), api_(api) {
  setObjectName(QStringLiteral("console"));
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  tabs_ = new QTabWidget;
  tabs_->setDocumentMode(true);
  monitoring_ = new MonitoringPanel(api);
  review_ = new ReviewPanel(api);
  keys_ = new KeysPanel(api);
  lockdown_ = new LockdownPanel(api);
  tabs_->addTab(monitoring_, tr("&Monitoring"));
  tabs_->addTab(review_, tr("Re&view"));
  layout->addWidget(tabs_);
  connect(review_, &ReviewPanel::message, this, &OperatorConsole::message);
  connect(keys_, &KeysPanel::message, this, &OperatorConsole::message);
  connect(lockdown_, &LockdownPanel::message, this, &OperatorConsole::message);
  connect(tabs_, &QTabWidget::currentChanged, this, [this] {
    QWidget* current = tabs_->currentWidget();
    if (current == review_) review_->refresh();
    if (current == keys_) keys_->refresh();
    if (current == lockdown_) lockdown_->refresh();
  });
}

void OperatorConsole::probe() {
  // Answers to an older probe (before the key changed) are ignored.
  const int generation = ++probe_generation_;
  api_->get(QStringLiteral("/v1/model"), this, [this, generation](const ApiReply& reply) {
    if (generation != probe_generation_) return;
    if (!reply.ok()) {
      // Only a refusal means "no console"; a network failure says nothing.
      if (reply.failure == ApiFailure::kForbidden || reply.failure == ApiFailure::kKeyRefused) {
        setAccess(ConsoleAccess::kNone);
      }
      return;
    }
    api_->get(QStringLiteral("/v1/admin/lockdown"), this,
              [this, generation](const ApiReply& admin) {
                if (generation != probe_generation_) return;
                setAccess(admin.ok() ? ConsoleAccess::kAdmin : ConsoleAccess::kOperator);
              });
  });
}

void OperatorConsole::setAccess(ConsoleAccess access) {
  access_ = access;
  const bool admin = access == ConsoleAccess::kAdmin;
  const int keys_index = tabs_->indexOf(keys_);
  if (admin && keys_index < 0) {
    tabs_->addTab(keys_, tr("API &keys"));
    tabs_->addTab(lockdown_, tr("&Lockdown"));
  } else if (!admin && keys_index >= 0) {
    tabs_->removeTab(tabs_->indexOf(lockdown_));
    tabs_->removeTab(keys_index);
  }
  Q_EMIT accessChanged(access);
}

void OperatorConsole::setActive(bool active) {
  if (active && (access_ == ConsoleAccess::kOperator || access_ == ConsoleAccess::kAdmin)) {
    monitoring_->start();
  } else {
    monitoring_->stop();
  }
}

}  // namespace chatbot::desktop
