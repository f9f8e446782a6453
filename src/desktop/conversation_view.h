// The conversation: the user's messages on the right, the bot's replies on
// the left. Under each reply a small label names the intent and confidence;
// hovering it shows the model's top intents (asked for only then). A
// clarifying question carries one button per choice, which sends that
// intent's name; a fallback reply is marked as such. An empty conversation
// shows the welcome: the bot's name, a greeting, suggested questions and the
// service notice.
#ifndef CHATBOT_DESKTOP_CONVERSATION_VIEW_H_
#define CHATBOT_DESKTOP_CONVERSATION_VIEW_H_

#include <QHash>
#include <QList>
#include <QPointer>
#include <QScrollArea>
#include <QStringList>

#include "desktop/chat_backend.h"

class QLabel;
class QVBoxLayout;
class QPushButton;

namespace chatbot::desktop {

class ConversationView : public QScrollArea {
  Q_OBJECT

 public:
  explicit ConversationView(QWidget* parent = nullptr);

  void clear();
  void setWelcome(const Welcome& welcome);
  void addUserMessage(const QString& text);
  void addReply(const ChatTurn& turn);
  void showHistory(const QList<ChatTurn>& turns);
  // A line in the conversation for a message that could not be answered.
  void addProblem(const QString& text);
  // "Ava is typing…" while a reply is on its way.
  void setWaiting(bool waiting);
  // The ranking for the replies to `text`, shown in their tooltips.
  void setRanking(const QString& text, const QList<RankedIntent>& ranking);

  int replyCount() const { return reply_count_; }
  // The choice buttons of the last clarifying question (tests click them).
  QList<QPushButton*> choiceButtons() const;

 Q_SIGNALS:
  // A choice button or a suggested question: send `text`, showing `shown`
  // (empty: the text itself) as the user's message.
  void sendRequested(const QString& text, const QString& shown);
  // A reply's intent label was hovered: its ranking is wanted.
  void rankRequested(const QString& text);

 protected:
  void resizeEvent(QResizeEvent* event) override;
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  QWidget* bubble(const QString& text, bool mine, bool fallback);
  void appendRow(QWidget* row);
  void scrollToEnd();
  void fitBubbles();
  void showWelcome(bool shown);

  QWidget* content_;
  QVBoxLayout* layout_;
  QWidget* welcome_;
  QLabel* welcome_title_;
  QLabel* welcome_text_;
  QWidget* suggestions_;
  QLabel* typing_;
  QString bot_name_ = tr("Assistant");
  QList<QPointer<QWidget>> bubbles_;
  QList<QPointer<QPushButton>> choices_;
  // Intent labels by the message they answer, for their tooltips.
  QMultiHash<QString, QPointer<QLabel>> intent_labels_;
  QHash<QString, QList<RankedIntent>> rankings_;
  int reply_count_ = 0;
  bool stick_to_end_ = true;
};

// "order_status" -> "Order status".
QString HumanIntent(const QString& intent);

}  // namespace chatbot::desktop

#endif  // CHATBOT_DESKTOP_CONVERSATION_VIEW_H_
