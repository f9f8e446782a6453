#include "desktop/connection_dialog.h"

#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QVBoxLayout>

#include "desktop/client_settings.h"

namespace chatbot::desktop {

ConnectionDialog::ConnectionDialog(const QUrl& server, const QString& stored_key, QWidget* parent)
    : QDialog(parent), stored_key_(stored_key) {
  setWindowTitle(tr("Connection"));
  auto* layout = new QVBoxLayout(this);
  auto* form = new QFormLayout;
  server_ = new QLineEdit(server.toString());
  server_->setPlaceholderText(QStringLiteral("https://chatbot.example.com"));
  key_ = new QLineEdit;
  key_->setEchoMode(QLineEdit::Password);
  key_->setPlaceholderText(stored_key.isEmpty() ? tr("none: anonymous access")
                                                : MaskApiKey(stored_key));
  key_->setAccessibleName(tr("API key"));
  form->addRow(tr("&Server address:"), server_);
  form->addRow(tr("API &key:"), key_);
  layout->addLayout(form);
  auto* hint = new QLabel(tr("The key is stored in %1, readable only by you, and never shown "
                             "again in full.")
                              .arg(QStringLiteral("~/.config/chatbot")));
  hint->setWordWrap(true);
  hint->setObjectName(QStringLiteral("hint"));
  layout->addWidget(hint);
  problem_ = new QLabel;
  problem_->setObjectName(QStringLiteral("problem"));
  problem_->hide();
  layout->addWidget(problem_);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
  QPushButton* remove = buttons->addButton(tr("&Remove key"), QDialogButtonBox::ResetRole);
  remove->setEnabled(!stored_key.isEmpty());
  connect(remove, &QPushButton::clicked, this, [this, remove] {
    removed_ = true;
    key_->clear();
    key_->setPlaceholderText(tr("none: anonymous access"));
    remove->setEnabled(false);
  });
  connect(buttons, &QDialogButtonBox::accepted, this, &ConnectionDialog::validate);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  layout->addWidget(buttons);
  setMinimumWidth(fontMetrics().averageCharWidth() * 70);
}

QUrl ConnectionDialog::server() const {
  return QUrl::fromUserInput(server_->text().trimmed());
}

QString ConnectionDialog::apiKey() const {
  const QString typed = key_->text().trimmed();
  if (!typed.isEmpty()) return typed;
  return removed_ ? QString() : stored_key_;
}

void ConnectionDialog::validate() {
  const QUrl url = server();
  if (!url.isValid() ||
      (url.scheme() != QLatin1String("http") && url.scheme() != QLatin1String("https"))) {
    problem_->setText(tr("The address must be an http:// or https:// URL."));
    problem_->show();
    return;
  }
  accept();
}

}  // namespace chatbot::desktop
