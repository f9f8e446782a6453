#include "desktop/connection_dialog.h"

#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRadioButton>
#include <QVBoxLayout>

namespace chatbot::desktop {

ConnectionDialog::ConnectionDialog(const ClientSettings& settings, QWidget* parent)
    : QDialog(parent), stored_key_(settings.apiKey()) {
  setWindowTitle(tr("Connection"));
  auto* layout = new QVBoxLayout(this);
  server_choice_ = new QRadioButton(tr("A chatbot &server"));
  local_ = new QRadioButton(tr("&Local model on this computer (no server)"));
  layout->addWidget(server_choice_);

  server_fields_ = new QWidget;
  auto* form = new QFormLayout(server_fields_);
  server_ = new QLineEdit(settings.server().toString());
  server_->setPlaceholderText(QStringLiteral("https://chatbot.example.com"));
  key_ = new QLineEdit;
  key_->setEchoMode(QLineEdit::Password);
  key_->setPlaceholderText(stored_key_.isEmpty() ? tr("none: anonymous access")
                                                 : MaskApiKey(stored_key_));
  key_->setAccessibleName(tr("API key"));
  form->addRow(tr("Server &address:"), server_);
  form->addRow(tr("API &key:"), key_);
  auto* hint = new QLabel(tr("The key is stored in %1, readable only by you, and never shown "
                             "again in full.")
                              .arg(QStringLiteral("~/.config/chatbot")));
  hint->setWordWrap(true);
  hint->setObjectName(QStringLiteral("hint"));
  form->addRow(hint);
  layout->addWidget(server_fields_);

  layout->addWidget(local_);
  local_fields_ = new QWidget;
  auto* local_form = new QFormLayout(local_fields_);
  auto* row = new QHBoxLayout;
  models_ = new QLineEdit(settings.modelsDirectory());
  models_->setPlaceholderText(QStringLiteral("/var/lib/chatbot/model"));
  models_->setAccessibleName(tr("Models directory"));
  auto* browse = new QPushButton(tr("&Browse…"));
  row->addWidget(models_, 1);
  row->addWidget(browse);
  local_form->addRow(tr("&Models directory:"), row);
  auto* local_hint =
      new QLabel(tr("The directory `chatbot train` writes (it holds svm/ or bert/); the replies "
                    "come from the domain data beside it (data/domain). Conversations are kept "
                    "on this computer only."));
  local_hint->setWordWrap(true);
  local_hint->setObjectName(QStringLiteral("hint"));
  local_form->addRow(local_hint);
  layout->addWidget(local_fields_);
  connect(browse, &QPushButton::clicked, this, [this] {
    const QString dir =
        QFileDialog::getExistingDirectory(this, tr("Models directory"), models_->text().trimmed());
    if (!dir.isEmpty()) models_->setText(QDir::toNativeSeparators(dir));
  });

  (settings.mode() == ConnectionMode::kLocal ? local_ : server_choice_)->setChecked(true);
  connect(server_choice_, &QRadioButton::toggled, this, &ConnectionDialog::showMode);
  showMode();

  problem_ = new QLabel;
  problem_->setObjectName(QStringLiteral("problem"));
  problem_->setWordWrap(true);
  problem_->hide();
  layout->addWidget(problem_);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
  QPushButton* remove = buttons->addButton(tr("&Remove key"), QDialogButtonBox::ResetRole);
  remove->setEnabled(!stored_key_.isEmpty());
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

void ConnectionDialog::showMode() {
  server_fields_->setEnabled(server_choice_->isChecked());
  local_fields_->setEnabled(local_->isChecked());
}

ConnectionMode ConnectionDialog::mode() const {
  return local_->isChecked() ? ConnectionMode::kLocal : ConnectionMode::kServer;
}

QUrl ConnectionDialog::server() const {
  return QUrl::fromUserInput(server_->text().trimmed());
}

QString ConnectionDialog::apiKey() const {
  const QString typed = key_->text().trimmed();
  if (!typed.isEmpty()) return typed;
  return removed_ ? QString() : stored_key_;
}

QString ConnectionDialog::modelsDirectory() const {
  return models_->text().trimmed();
}

void ConnectionDialog::validate() {
  if (mode() == ConnectionMode::kLocal) {
    const QFileInfo dir(modelsDirectory());
    if (modelsDirectory().isEmpty() || !dir.isDir()) {
      problem_->setText(modelsDirectory().isEmpty()
                            ? tr("Choose the models directory.")
                            : tr("%1 is not a directory.").arg(modelsDirectory()));
      problem_->show();
      return;
    }
    return accept();
  }
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
