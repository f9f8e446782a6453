// The connection settings: the server's address and the API key. The key
// field shows only the key's public part once a key is stored; typing in it
// replaces the key, leaving it untouched keeps the stored one.
#ifndef CHATBOT_DESKTOP_CONNECTION_DIALOG_H_
#define CHATBOT_DESKTOP_CONNECTION_DIALOG_H_

#include <QDialog>
#include <QUrl>

class QLineEdit;
class QLabel;

namespace chatbot::desktop {

class ConnectionDialog : public QDialog {
  Q_OBJECT

 public:
  ConnectionDialog(const QUrl& server, const QString& stored_key, QWidget* parent = nullptr);

  QUrl server() const;
  // The key to store: the stored one unless a new one was typed; empty when
  // "Remove key" was chosen.
  QString apiKey() const;

 private:
  void validate();

  QLineEdit* server_;
  QLineEdit* key_;
  QLabel* problem_;
  QString stored_key_;
  bool removed_ = false;
};

}  // namespace chatbot::desktop

#endif  // CHATBOT_DESKTOP_CONNECTION_DIALOG_H_
