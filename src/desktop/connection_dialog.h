// The connection settings: a server (its address and the API key) or local
// mode (a models directory on this machine, no server). The key field shows
// only the key's public part once a key is stored; typing in it replaces the
// key, leaving it untouched keeps the stored one.
#ifndef CHATBOT_DESKTOP_CONNECTION_DIALOG_H_
#define CHATBOT_DESKTOP_CONNECTION_DIALOG_H_

#include <QDialog>
#include <QUrl>

#include "desktop/client_settings.h"

class QLineEdit;
class QLabel;
class QPushButton;
class QRadioButton;

namespace chatbot::desktop {

class ConnectionDialog : public QDialog {
  Q_OBJECT

 public:
  // Filled from `settings` (not changed by the dialog).
  explicit ConnectionDialog(const ClientSettings& settings, QWidget* parent = nullptr);

  ConnectionMode mode() const;
  QUrl server() const;
  // The key to store: the stored one unless a new one was typed; empty when
  // "Remove key" was chosen.
  QString apiKey() const;
  QString modelsDirectory() const;

  // For tests: the controls.
  QRadioButton* localChoice() const { return local_; }
  QLineEdit* modelsField() const { return models_; }

 private:
  void validate();
  void showMode();

  QRadioButton* server_choice_;
  QRadioButton* local_;
  QWidget* server_fields_;
  QWidget* local_fields_;
  QLineEdit* server_;
  QLineEdit* key_;
  QLineEdit* models_;
  QLabel* problem_;
  QString stored_key_;
  bool removed_ = false;
};

}  // namespace chatbot::desktop

#endif  // CHATBOT_DESKTOP_CONNECTION_DIALOG_H_
