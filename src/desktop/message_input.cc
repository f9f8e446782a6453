#include "desktop/message_input.h"

#include <QKeyEvent>
#include <QTextBlock>

namespace chatbot::desktop {

MessageInput::MessageInput(QWidget* parent) : QPlainTextEdit(parent) {
  setObjectName(QStringLiteral("messageInput"));
  setPlaceholderText(tr("Type a message — Enter sends, Shift+Enter adds a line"));
  setAccessibleName(tr("Message"));
  setTabChangesFocus(true);  // Tab leaves the box: keyboard navigation
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

void MessageInput::showEvent(QShowEvent* event) {
  QPlainTextEdit::showEvent(event);
  fitHeight();
}

void MessageInput::changeEvent(QEvent* event) {
  QPlainTextEdit::changeEvent(event);
  // The style sheet's padding and the font change the chrome around the text.
  if (event->type() == QEvent::StyleChange || event->type() == QEvent::FontChange) fitHeight();
}

void MessageInput::fitHeight() {
  // Grows with its lines, from one to five, in the font's own units so that
  // it scales with the screen; the chrome (frame, padding) is measured, not
  // assumed, so that a style sheet never leaves the text a scroll bar short.
  const int blocks = document()->blockCount();
  const int lines = qBound(1, blocks, 5);
  // Before the first show the viewport has no geometry yet: an estimate,
  // corrected by showEvent().
  const int chrome = isVisible() ? height() - viewport()->height() : 2 * frameWidth() + 8;
  const int wanted = lines * fontMetrics().lineSpacing() +
                     2 * static_cast<int>(document()->documentMargin()) + chrome;
  setVerticalScrollBarPolicy(blocks > 5 ? Qt::ScrollBarAsNeeded : Qt::ScrollBarAlwaysOff);
  if (wanted != minimumHeight() || wanted != maximumHeight()) setFixedHeight(wanted);
}

}  // namespace chatbot::desktop
