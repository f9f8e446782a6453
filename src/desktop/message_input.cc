#include "desktop/message_input.h"

#include <QKeyEvent>
#include <QTextBlock>

namespace chatbot::desktop {

MessageInput::MessageInput(QWidget* parent) : QPlainTextEdit(parent) {
  setObjectName(QStringLiteral("messageInput"));
  setPlaceholderText(tr("Type a message — Enter sends, Shift+Enter adds a line"));
  setAccessibleName(tr("Message"));
  setTabChangesFocus(true);  // Tab leaves the box: keyboard navigation
  setVerticalScrollBarPolicy(Qt::ScrollBarAsNeeded);
  connect(this, &QPlainTextEdit::textChanged, this, &MessageInput::fitHeight);
  fitHeight();
}

QSize MessageInput::sizeHint() const {
  return {QPlainTextEdit::sizeHint().width(), minimumHeight()};
}

void MessageInput::keyPressEvent(QKeyEvent* event) {
  const bool enter = event->key() == Qt::Key_Return || event->key() == Qt::Key_Enter;
  if (enter && !(event->modifiers() & Qt::ShiftModifier)) {
    const QString text = toPlainText().trimmed();
    if (!text.isEmpty()) {
      clear();
      Q_EMIT submitted(text);
    }
    return;
  }
  QPlainTextEdit::keyPressEvent(event);
}

void MessageInput::fitHeight() {
  // Grows with its lines, from one to five, in the font's own units so that
  // it scales with the screen.
  const int lines = qBound(1, document()->blockCount(), 5);
  const int line = fontMetrics().lineSpacing();
  const int height =
      lines * line + 2 * (static_cast<int>(document()->documentMargin()) + frameWidth()) + 8;
  setMinimumHeight(height);
  setMaximumHeight(height);
}

}  // namespace chatbot::desktop
