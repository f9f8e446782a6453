#include "desktop/lockdown_panel.h"

#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QStyle>
#include <QVBoxLayout>

namespace chatbot::desktop {

LockdownPanel::LockdownPanel(ApiClient* api, QWidget* parent) : QWidget(parent), api_(api) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(16, 16, 16, 16);
  layout->setSpacing(12);
  auto* explain = new QLabel(
      tr("During a lockdown every request without an admin key is refused (503), the chat "
         "included. It survives restarts of the service."));
  explain->setWordWrap(true);
  explain->setObjectName(QStringLiteral("hint"));
  state_ = new QLabel;
  state_->setObjectName(QStringLiteral("healthStatus"));
  state_->setWordWrap(true);
  reason_ = new QLineEdit;
  reason_->setPlaceholderText(tr("e.g. incident 42: suspected key leak"));
  button_ = new QPushButton;
  auto* form = new QFormLayout;
  form->addRow(tr("&Reason:"), reason_);
  layout->addWidget(state_);
  layout->addWidget(explain);
  layout->addLayout(form);
  layout->addWidget(button_, 0, Qt::AlignLeft);
  layout->addStretch(1);
  connect(button_, &QPushButton::clicked, this, &LockdownPanel::toggle);
  display(QJsonObject{});
}

void LockdownPanel::refresh() {
  api_->get(QStringLiteral("/v1/admin/lockdown"), this, [this](const ApiReply& reply) {
    if (!reply.ok()) return Q_EMIT message(tr("Lockdown: %1").arg(DescribeFailure(reply)), false);
    display(reply.json.value(QStringLiteral("lockdown")).toObject());
  });
}

void LockdownPanel::display(const QJsonObject& lockdown) {
  on_ = lockdown.value(QStringLiteral("on")).toBool();
  if (on_) {
    state_->setText(tr("● Lockdown since %1 — %2")
                        .arg(lockdown.value(QStringLiteral("since")).toString(),
                             lockdown.value(QStringLiteral("reason")).toString()));
  } else {
    state_->setText(tr("● Normal operation: every role is served"));
  }
  state_->setProperty("state", on_ ? QStringLiteral("bad") : QStringLiteral("good"));
  state_->style()->unpolish(state_);
  state_->style()->polish(state_);
  button_->setText(on_ ? tr("&End lockdown…") : tr("&Start lockdown…"));
  button_->setObjectName(on_ ? QStringLiteral("primary") : QStringLiteral("danger"));
  button_->style()->unpolish(button_);
  button_->style()->polish(button_);
  reason_->setEnabled(!on_);
}

void LockdownPanel::toggle() {
  const bool turn_on = !on_;
  const QString question =
      turn_on ? tr("Start a lockdown? Every request without an admin key will be refused.")
              : tr("End the lockdown? Every role will be served again.");
  if (QMessageBox::warning(this, tr("Lockdown"), question, QMessageBox::Yes | QMessageBox::Cancel,
                           QMessageBox::Cancel) != QMessageBox::Yes) {
    return;
  }
  QJsonObject body{{QStringLiteral("on"), turn_on}};
  if (turn_on) {
    const QString reason = reason_->text().trimmed();
    body.insert(QStringLiteral("reason"),
                reason.isEmpty() ? tr("from the desktop console") : reason);
  }
  api_->post(QStringLiteral("/v1/admin/lockdown"), body, this, [this](const ApiReply& reply) {
    if (!reply.ok()) return Q_EMIT message(tr("Lockdown: %1").arg(DescribeFailure(reply)), false);
    display(reply.json.value(QStringLiteral("lockdown")).toObject());
    Q_EMIT changed(on_);
  });
}

}  // namespace chatbot::desktop
