// The message box: Enter sends, Shift+Enter starts a new line. It stays
// editable while a reply is on its way, so a person can write the next
// message meanwhile.
#ifndef CHATBOT_DESKTOP_MESSAGE_INPUT_H_
#define CHATBOT_DESKTOP_MESSAGE_INPUT_H_

#include <QPlainTextEdit>

namespace chatbot::desktop {

class MessageInput : public QPlainTextEdit {
  Q_OBJECT

 public:
  explicit MessageInput(QWidget* parent = nullptr);

  QSize sizeHint() const override;

 Q_SIGNALS:
  // The trimmed text; the box is cleared.
  void submitted(const QString& text);

 protected:
  void keyPressEvent(QKeyEvent* event) override;
  void changeEvent(QEvent* event) override;
  void showEvent(QShowEvent* event) override;

 private:
  void fitHeight();
};

}  // namespace chatbot::desktop

#endif  // CHATBOT_DESKTOP_MESSAGE_INPUT_H_
