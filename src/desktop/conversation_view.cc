#include "desktop/conversation_view.h"

#include <QCursor>
#include <QEvent>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QScrollBar>
#include <QTimer>
#include <QToolTip>
#include <QVBoxLayout>

namespace chatbot::desktop {

namespace {

const char kMessageProperty[] = "chatbotMessage";
const char kSummaryProperty[] = "chatbotSummary";
const char kTextProperty[] = "chatbotText";

QString Percent(double confidence) {
  return QStringLiteral("%1 %").arg(qRound(confidence * 100));
}

}  // namespace

QString HumanIntent(const QString& intent) {
  if (intent == QLatin1String("oos")) return QObject::tr("Out of scope");
  QString text = intent;
  text.replace(u'_', u' ');
  if (!text.isEmpty()) text[0] = text[0].toUpper();
  return text;
}

ConversationView::ConversationView(QWidget* parent) : QScrollArea(parent) {
  setObjectName(QStringLiteral("conversation"));
  setWidgetResizable(true);
  setFrameShape(QFrame::NoFrame);
  setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  setFocusPolicy(Qt::NoFocus);
  content_ = new QWidget;
  content_->setObjectName(QStringLiteral("conversationContent"));
  layout_ = new QVBoxLayout(content_);
  layout_->setContentsMargins(24, 20, 24, 20);
  layout_->setSpacing(10);

  welcome_ = new QWidget;
  welcome_->setObjectName(QStringLiteral("welcome"));
  auto* welcome_layout = new QVBoxLayout(welcome_);
  welcome_layout->setSpacing(10);
  welcome_title_ = new QLabel;
  welcome_title_->setObjectName(QStringLiteral("welcomeTitle"));
  welcome_title_->setAlignment(Qt::AlignCenter);
  welcome_text_ = new QLabel;
  welcome_text_->setObjectName(QStringLiteral("welcomeText"));
  welcome_text_->setAlignment(Qt::AlignCenter);
  welcome_text_->setWordWrap(true);
  suggestions_ = new QWidget;
  auto* suggestion_layout = new QVBoxLayout(suggestions_);
  suggestion_layout->setContentsMargins(0, 8, 0, 0);
  suggestion_layout->setSpacing(6);
  suggestion_layout->setAlignment(Qt::AlignHCenter);
  welcome_layout->addStretch(1);
  welcome_layout->addWidget(welcome_title_);
  welcome_layout->addWidget(welcome_text_);
  welcome_layout->addWidget(suggestions_);
  welcome_layout->addStretch(2);
  layout_->addWidget(welcome_, 1);

  typing_ = new QLabel;
  typing_->setObjectName(QStringLiteral("typing"));
  typing_->hide();
  layout_->addWidget(typing_);
  layout_->addStretch(0);
  setWidget(content_);
  setWelcome(Welcome{});
  connect(verticalScrollBar(), &QScrollBar::rangeChanged, this, [this](int, int max) {
    if (stick_to_end_) verticalScrollBar()->setValue(max);
  });
  connect(verticalScrollBar(), &QScrollBar::actionTriggered, this, [this] {
    QTimer::singleShot(0, this, [this] {
      stick_to_end_ = verticalScrollBar()->value() >= verticalScrollBar()->maximum() - 4;
    });
  });
}

void ConversationView::setWelcome(const Welcome& welcome) {
  if (!welcome.bot_name.isEmpty()) bot_name_ = welcome.bot_name;
  welcome_title_->setText(welcome.bot_name.isEmpty() ? tr("Assistant") : welcome.bot_name);
  welcome_text_->setText(welcome.greeting.isEmpty() ? tr("Ask a question to start.")
                                                    : welcome.greeting);
  QLayout* layout = suggestions_->layout();
  while (QLayoutItem* item = layout->takeAt(0)) {
    delete item->widget();
    delete item;
  }
  for (const QString& suggestion : welcome.suggestions) {
    auto* button = new QPushButton(suggestion);
    button->setObjectName(QStringLiteral("suggestion"));
    button->setCursor(Qt::PointingHandCursor);
    connect(button, &QPushButton::clicked, this,
            [this, suggestion] { Q_EMIT sendRequested(suggestion, QString()); });
    layout->addWidget(button);
  }
}

void ConversationView::clear() {
  // Everything between the welcome and the typing line goes.
  while (layout_->count() > 3) {
    QLayoutItem* item = layout_->takeAt(1);
    delete item->widget();
    delete item;
  }
  bubbles_.clear();
  choices_.clear();
  intent_labels_.clear();
  reply_count_ = 0;
  setWaiting(false);
  showWelcome(true);
}

void ConversationView::showWelcome(bool shown) {
  welcome_->setVisible(shown);
}

QWidget* ConversationView::bubble(const QString& text, bool mine, bool fallback) {
  auto* frame = new QFrame;
  frame->setObjectName(mine       ? QStringLiteral("userBubble")
                       : fallback ? QStringLiteral("fallbackBubble")
                                  : QStringLiteral("botBubble"));
  auto* layout = new QVBoxLayout(frame);
  layout->setContentsMargins(14, 10, 14, 10);
  auto* label = new QLabel(text);
  label->setObjectName(QStringLiteral("bubbleText"));
  label->setWordWrap(true);
  label->setTextFormat(Qt::PlainText);
  label->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
  label->setAccessibleName(mine ? tr("You said") : tr("%1 replied").arg(bot_name_));
  layout->addWidget(label);
  frame->setProperty(kTextProperty, text);
  bubbles_ << frame;
  return frame;
}

void ConversationView::appendRow(QWidget* row) {
  showWelcome(false);
  layout_->insertWidget(layout_->count() - 2, row);  // before the typing line
  fitBubbles();
  scrollToEnd();
}

void ConversationView::addUserMessage(const QString& text) {
  auto* row = new QWidget;
  auto* layout = new QHBoxLayout(row);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addStretch(1);
  layout->addWidget(bubble(text, true, false));
  appendRow(row);
}

void ConversationView::addReply(const ChatTurn& turn) {
  auto* row = new QWidget;
  auto* column = new QVBoxLayout(row);
  column->setContentsMargins(0, 0, 0, 0);
  column->setSpacing(4);
  auto* line = new QHBoxLayout;
  line->addWidget(bubble(turn.reply, false, turn.out_of_scope), 0, Qt::AlignLeft);
  line->addStretch(1);
  column->addLayout(line);

  if (turn.clarification && !turn.choices.isEmpty()) {
    // Earlier questions' buttons are answered or moot: only the last counts.
    for (const QPointer<QPushButton>& old : choices_) {
      if (old) old->setEnabled(false);
    }
    choices_.clear();
    auto* buttons = new QHBoxLayout;
    buttons->setSpacing(8);
    for (const QString& choice : turn.choices) {
      auto* button = new QPushButton(HumanIntent(choice));
      button->setObjectName(QStringLiteral("choice"));
      button->setCursor(Qt::PointingHandCursor);
      button->setToolTip(tr("Send “%1”").arg(choice));
      connect(button, &QPushButton::clicked, this, [this, choice] {
        for (const QPointer<QPushButton>& b : choices_) {
          if (b) b->setEnabled(false);
        }
        Q_EMIT sendRequested(choice, HumanIntent(choice));
      });
      buttons->addWidget(button);
      choices_ << button;
    }
    buttons->addStretch(1);
    column->addLayout(buttons);
  }

  QString summary;
  if (turn.out_of_scope) {
    summary = tr("Fallback reply · outside what %1 can answer").arg(bot_name_);
  } else if (turn.clarification) {
    summary = tr("Clarifying question");
  } else {
    summary = tr("%1 · %2").arg(HumanIntent(turn.intent), Percent(turn.confidence));
  }
  auto* meta = new QLabel(summary);
  meta->setObjectName(turn.out_of_scope ? QStringLiteral("fallbackMeta") : QStringLiteral("meta"));
  meta->setContentsMargins(4, 0, 0, 0);
  const QString base_tip = tr("Intent: %1\nConfidence: %2\nModel: %3")
                               .arg(turn.intent, Percent(turn.confidence), turn.model);
  meta->setProperty(kMessageProperty, turn.message);
  meta->setProperty(kSummaryProperty, base_tip);
  meta->setToolTip(base_tip);
  meta->installEventFilter(this);
  intent_labels_.insert(turn.message, meta);
  if (rankings_.contains(turn.message)) setRanking(turn.message, rankings_.value(turn.message));
  column->addWidget(meta);
  ++reply_count_;
  appendRow(row);
}

void ConversationView::showHistory(const QList<ChatTurn>& turns) {
  clear();
  QStringList offered;  // the choices of the turn before
  for (const ChatTurn& turn : turns) {
    // An answer given with a choice button reads as the button did.
    addUserMessage(offered.contains(turn.message) ? HumanIntent(turn.message) : turn.message);
    addReply(turn);
    offered = turn.clarification ? turn.choices : QStringList();
  }
  // Old questions cannot be answered by buttons any more, except the last.
  if (!turns.isEmpty() && !turns.last().clarification) {
    for (const QPointer<QPushButton>& b : choices_) {
      if (b) b->setEnabled(false);
    }
  }
}

void ConversationView::addProblem(const QString& text) {
  auto* label = new QLabel(text);
  label->setObjectName(QStringLiteral("problem"));
  label->setWordWrap(true);
  label->setAlignment(Qt::AlignCenter);
  appendRow(label);
}

void ConversationView::setWaiting(bool waiting) {
  typing_->setText(tr("%1 is typing…").arg(bot_name_));
  typing_->setVisible(waiting);
  if (waiting) scrollToEnd();
}

void ConversationView::setRanking(const QString& text, const QList<RankedIntent>& ranking) {
  rankings_.insert(text, ranking);
  QStringList lines{tr("Top intents for this message:")};
  for (const RankedIntent& item : ranking) {
    lines << QStringLiteral("  %1  %2").arg(Percent(item.confidence), 5).arg(item.intent);
  }
  for (const QPointer<QLabel>& label : intent_labels_.values(text)) {
    if (!label) continue;
    const QString tip =
        label->property(kSummaryProperty).toString() + QStringLiteral("\n\n") + lines.join(u'\n');
    label->setToolTip(tip);
    if (label->underMouse()) QToolTip::showText(QCursor::pos(), tip, label);
  }
}

QList<QPushButton*> ConversationView::choiceButtons() const {
  QList<QPushButton*> out;
  for (const QPointer<QPushButton>& b : choices_) {
    if (b) out << b.data();
  }
  return out;
}

bool ConversationView::eventFilter(QObject* watched, QEvent* event) {
  if (event->type() == QEvent::ToolTip) {
    const QString text = watched->property(kMessageProperty).toString();
    if (!text.isEmpty() && !rankings_.contains(text)) Q_EMIT rankRequested(text);
  }
  return QScrollArea::eventFilter(watched, event);
}

void ConversationView::resizeEvent(QResizeEvent* event) {
  QScrollArea::resizeEvent(event);
  fitBubbles();
}

void ConversationView::fitBubbles() {
  // A bubble is as wide as its text on one line, up to about two thirds of
  // the view (and never wider than a comfortable line of ~70 characters), so
  // that a long reply wraps into a readable column at any window size or
  // scale while a short one stays small.
  const int line_limit = fontMetrics().averageCharWidth() * 70;
  const int limit =
      qMax(fontMetrics().averageCharWidth() * 20, qMin(viewport()->width() * 2 / 3, line_limit));
  for (const QPointer<QWidget>& b : bubbles_) {
    if (!b) continue;
    const QMargins m = b->layout()->contentsMargins();
    int natural = 0;
    for (const QString& line : b->property(kTextProperty).toString().split(u'\n')) {
      const QLabel* label = b->findChild<QLabel*>();
      natural =
          qMax(natural, (label ? label->fontMetrics() : b->fontMetrics()).horizontalAdvance(line));
    }
    b->setFixedWidth(qMin(limit, natural + m.left() + m.right() + 4));
  }
}

void ConversationView::scrollToEnd() {
  // The range grows once the layout has placed the new row: rangeChanged
  // follows it down.
  stick_to_end_ = true;
  verticalScrollBar()->setValue(verticalScrollBar()->maximum());
}

}  // namespace chatbot::desktop
