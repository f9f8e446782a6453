// The console's API keys (admin role): the list with each key's role, state
// and usage (GET /v1/admin/keys); create, whose secret is shown once with a
// copy button; rotate, whose new secret is shown the same way; revoke, after
// a confirmation. Each is one request to the admin API, which decides.
#ifndef CHATBOT_DESKTOP_KEYS_PANEL_H_
#define CHATBOT_DESKTOP_KEYS_PANEL_H_

#include <QWidget>

#include "desktop/api_client.h"

class QLabel;
class QPushButton;
class QTableWidget;

namespace chatbot::desktop {

class KeysPanel : public QWidget {
  Q_OBJECT

 public:
  KeysPanel(ApiClient* api, QWidget* parent = nullptr);

  QTableWidget* table() const { return table_; }
  // Selects the row of key `id`; false when it is not listed.
  bool selectKey(const QString& id);

 public Q_SLOTS:
  void refresh();
  // Each asks for confirmation (revoke, rotate) or details (create) first.
  void createKey();
  void rotateSelected();
  void revokeSelected();

 Q_SIGNALS:
  void refreshed(int keys);
  // A secret was shown to the person (create or rotate).
  void secretShown(const QString& id, const QString& key);
  void message(const QString& text, bool ok);

 private:
  QString selectedId() const;
  QString selectedName() const;
  void showSecret(const QString& title, const QJsonObject& answer);

  ApiClient* api_;
  QTableWidget* table_;
  QPushButton* rotate_;
  QPushButton* revoke_;
};

}  // namespace chatbot::desktop

#endif  // CHATBOT_DESKTOP_KEYS_PANEL_H_
