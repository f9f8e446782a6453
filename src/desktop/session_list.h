// The side list of the user's sessions: newest first, each titled by its
// first message, with a search box (the service searches messages and
// replies) and a "New conversation" button. Activating an entry opens it.
#ifndef CHATBOT_DESKTOP_SESSION_LIST_H_
#define CHATBOT_DESKTOP_SESSION_LIST_H_

#include <QWidget>

#include "desktop/chat_backend.h"

class QLineEdit;
class QListWidget;
class QPushButton;
class QTimer;

namespace chatbot::desktop {

class SessionList : public QWidget {
  Q_OBJECT

 public:
  explicit SessionList(QWidget* parent = nullptr);

  void setSessions(const QString& query, const QList<SessionSummary>& sessions);
  // Marks `id` as the open session (no signal).
  void setCurrent(const QString& id);
  QString query() const;
  int count() const;
  QString idAt(int row) const;
  QLineEdit* searchBox() const { return search_; }
  QListWidget* list() const { return list_; }

 Q_SIGNALS:
  void openRequested(const QString& id);
  void newRequested();
  // The search text changed (debounced).
  void searchRequested(const QString& query);

 private:
  QLineEdit* search_;
  QListWidget* list_;
  QPushButton* new_button_;
  QTimer* debounce_;
  QString current_;
};

}  // namespace chatbot::desktop

#endif  // CHATBOT_DESKTOP_SESSION_LIST_H_
