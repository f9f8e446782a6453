// The console's review queue (operator role), as in the web admin console:
// the recent turns the bot was unsure about (GET /v1/review), each with a
// "right intent" choice that stores a label in the service (POST
// /v1/review/labels; "—" removes it with DELETE), so that every operator
// sees it and the next training can use it.
#ifndef CHATBOT_DESKTOP_REVIEW_PANEL_H_
#define CHATBOT_DESKTOP_REVIEW_PANEL_H_

#include <QStringList>
#include <QWidget>

#include "desktop/api_client.h"

class QComboBox;
class QTableWidget;

namespace chatbot::desktop {

class ReviewPanel : public QWidget {
  Q_OBJECT

 public:
  ReviewPanel(ApiClient* api, QWidget* parent = nullptr);

  QTableWidget* table() const { return table_; }
  // Labels row `row` with `intent` (empty: removes the label).
  void label(int row, const QString& intent);

 public Q_SLOTS:
  void refresh();

 Q_SIGNALS:
  void refreshed(int items);
  void labelled(const QString& session_id, int turn, const QString& intent);
  void message(const QString& text, bool ok);

 private:
  ApiClient* api_;
  QComboBox* status_;
  QTableWidget* table_;
  QStringList intents_;
};

}  // namespace chatbot::desktop

#endif  // CHATBOT_DESKTOP_REVIEW_PANEL_H_
