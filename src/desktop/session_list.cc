#include "desktop/session_list.h"

#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QTimer>
#include <QVBoxLayout>

namespace chatbot::desktop {

namespace {

QString When(const QDateTime& time) {
  const QDateTime now = QDateTime::currentDateTime();
  if (time.date() == now.date()) return time.toString(QStringLiteral("HH:mm"));
  if (time.daysTo(now) < 7) return time.toString(QStringLiteral("ddd HH:mm"));
  return time.toString(QStringLiteral("d MMM yyyy"));
}

}  // namespace

SessionList::SessionList(QWidget* parent) : QWidget(parent) {
  setObjectName(QStringLiteral("sidebar"));
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(12, 12, 12, 12);
  layout->setSpacing(8);
  new_button_ = new QPushButton(tr("&New conversation"));
  new_button_->setObjectName(QStringLiteral("primary"));
  new_button_->setToolTip(tr("Start a new conversation (Ctrl+N)"));
  search_ = new QLineEdit;
  search_->setPlaceholderText(tr("Search (Ctrl+F)"));
  search_->setClearButtonEnabled(true);
  search_->setAccessibleName(tr("Search conversations"));
  auto* heading = new QLabel(tr("Conversations"));
  heading->setObjectName(QStringLiteral("sectionHeading"));
  list_ = new QListWidget;
  list_->setObjectName(QStringLiteral("sessions"));
  list_->setAccessibleName(tr("Conversations"));
  list_->setWordWrap(true);
  list_->setUniformItemSizes(false);
  list_->setTextElideMode(Qt::ElideRight);
  list_->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  setMinimumWidth(fontMetrics().averageCharWidth() * 30);
  layout->addWidget(new_button_);
  layout->addWidget(search_);
  layout->addWidget(heading);
  layout->addWidget(list_, 1);

  debounce_ = new QTimer(this);
  debounce_->setSingleShot(true);
  debounce_->setInterval(300);
  connect(search_, &QLineEdit::textChanged, debounce_, qOverload<>(&QTimer::start));
  connect(debounce_, &QTimer::timeout, this, [this] { Q_EMIT searchRequested(query()); });
  connect(new_button_, &QPushButton::clicked, this, &SessionList::newRequested);
  connect(list_, &QListWidget::itemActivated, this, [this](QListWidgetItem* item) {
    Q_EMIT openRequested(item->data(Qt::UserRole).toString());
  });
  connect(list_, &QListWidget::itemClicked, this, [this](QListWidgetItem* item) {
    Q_EMIT openRequested(item->data(Qt::UserRole).toString());
  });
}

void SessionList::setSessions(const QString& query, const QList<SessionSummary>& sessions) {
  if (query.trimmed() != this->query()) return;  // an answer to an older search
  list_->clear();
  for (const SessionSummary& session : sessions) {
    QString title = session.title.isEmpty() ? tr("Conversation") : session.title;
    title.replace(u'\n', u' ');
    if (title.size() > 60) title = title.left(57) + QStringLiteral("…");
    auto* item = new QListWidgetItem(
        QStringLiteral("%1\n%2 · %3")
            .arg(title, When(session.updated_at),
                 session.turns == 1 ? tr("1 message") : tr("%1 messages").arg(session.turns)));
    item->setData(Qt::UserRole, session.id);
    item->setToolTip(session.title);
    list_->addItem(item);
    if (session.id == current_) item->setSelected(true);
  }
  if (sessions.isEmpty()) {
    auto* item = new QListWidgetItem(query.isEmpty() ? tr("No conversations yet")
                                                     : tr("Nothing matches “%1”").arg(query));
    item->setFlags(Qt::NoItemFlags);
    list_->addItem(item);
  }
}

void SessionList::setCurrent(const QString& id) {
  current_ = id;
  for (int row = 0; row < list_->count(); ++row) {
    QListWidgetItem* item = list_->item(row);
    item->setSelected(item->data(Qt::UserRole).toString() == id && !id.isEmpty());
  }
}

QString SessionList::query() const {
  return search_->text().trimmed();
}

int SessionList::count() const {
  int n = 0;
  for (int row = 0; row < list_->count(); ++row) {
    if (!list_->item(row)->data(Qt::UserRole).toString().isEmpty()) ++n;
  }
  return n;
}

QString SessionList::idAt(int row) const {
  return row < list_->count() ? list_->item(row)->data(Qt::UserRole).toString() : QString();
}

}  // namespace chatbot::desktop
