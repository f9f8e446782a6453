#include "desktop/review_panel.h"

#include <QComboBox>
#include <QDateTime>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

namespace chatbot::desktop {

namespace {

enum Column { kWhen, kMessage, kPredicted, kConfidence, kLabel, kColumns };
const char kNoLabel[] = "—";

QTableWidgetItem* Cell(const QString& text) {
  auto* item = new QTableWidgetItem(text);
  item->setFlags(Qt::ItemIsSelectable | Qt::ItemIsEnabled);
  item->setToolTip(text);
  return item;
}

}  // namespace

ReviewPanel::ReviewPanel(ApiClient* api, QWidget* parent) : QWidget(parent), api_(api) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(16, 16, 16, 16);
  auto* bar = new QHBoxLayout;
  auto* caption =
      new QLabel(tr("Turns of the last 7 days that were out of scope or below 50 % "
                    "confidence. Choose the intent each should have had."));
  caption->setWordWrap(true);
  caption->setObjectName(QStringLiteral("hint"));
  status_ = new QComboBox;
  status_->addItem(tr("Not yet labelled"), QStringLiteral("unlabelled"));
  status_->addItem(tr("Labelled"), QStringLiteral("labelled"));
  status_->addItem(tr("All"), QStringLiteral("all"));
  status_->setAccessibleName(tr("Show"));
  auto* reload = new QPushButton(tr("Refresh"));
  bar->addWidget(caption, 1);
  bar->addWidget(status_);
  bar->addWidget(reload);
  layout->addLayout(bar);
  table_ = new QTableWidget(0, kColumns);
  table_->setObjectName(QStringLiteral("review"));
  table_->setHorizontalHeaderLabels(
      {tr("Received"), tr("Message"), tr("Answered as"), tr("Confidence"), tr("Right intent")});
  table_->verticalHeader()->hide();
  table_->setAlternatingRowColors(true);
  table_->setShowGrid(false);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->horizontalHeader()->setDefaultAlignment(Qt::AlignLeft | Qt::AlignVCenter);
  table_->horizontalHeader()->setSectionResizeMode(kMessage, QHeaderView::Stretch);
  table_->setAccessibleName(tr("Review queue"));
  layout->addWidget(table_, 1);
  connect(reload, &QPushButton::clicked, this, &ReviewPanel::refresh);
  connect(status_, &QComboBox::currentIndexChanged, this, &ReviewPanel::refresh);
}

void ReviewPanel::refresh() {
  const QString path =
      QStringLiteral("/v1/review?days=7&limit=200&status=") + status_->currentData().toString();
  api_->get(path, this, [this](const ApiReply& reply) {
    if (!reply.ok()) return Q_EMIT message(tr("Review: %1").arg(DescribeFailure(reply)), false);
    intents_.clear();
    for (const QJsonValue& v : reply.json.value(QStringLiteral("intents")).toArray()) {
      intents_ << v.toString();
    }
    const QJsonArray items = reply.json.value(QStringLiteral("items")).toArray();
    table_->setRowCount(static_cast<int>(items.size()));
    for (int row = 0; row < items.size(); ++row) {
      const QJsonObject item = items[row].toObject();
      const QDateTime at = QDateTime::fromMSecsSinceEpoch(
          static_cast<qint64>(item.value(QStringLiteral("received_at_ms")).toDouble()));
      auto* when = Cell(at.toString(QStringLiteral("d MMM HH:mm")));
      when->setData(Qt::UserRole, item.value(QStringLiteral("session_id")).toString());
      when->setData(Qt::UserRole + 1, item.value(QStringLiteral("turn")).toInt());
      table_->setItem(row, kWhen, when);
      table_->setItem(row, kMessage, Cell(item.value(QStringLiteral("message")).toString()));
      table_->setItem(row, kPredicted, Cell(item.value(QStringLiteral("intent")).toString()));
      table_->setItem(row, kConfidence,
                      Cell(QStringLiteral("%1 %").arg(
                          qRound(item.value(QStringLiteral("confidence")).toDouble() * 100))));
      auto* choice = new QComboBox;
      choice->addItem(QString::fromUtf8(kNoLabel));
      choice->addItems(intents_);
      const QJsonObject existing = item.value(QStringLiteral("label")).toObject();
      const QString current = existing.value(QStringLiteral("intent")).toString();
      if (!current.isEmpty()) choice->setCurrentText(current);
      choice->setAccessibleName(tr("Right intent"));
      connect(choice, &QComboBox::activated, this, [this, choice, row](int index) {
        label(row, index == 0 ? QString() : choice->currentText());
      });
      table_->setCellWidget(row, kLabel, choice);
    }
    table_->resizeColumnToContents(kWhen);
    table_->resizeColumnToContents(kPredicted);
    table_->resizeColumnToContents(kConfidence);
    table_->setColumnWidth(kLabel, fontMetrics().averageCharWidth() * 24);
    Q_EMIT refreshed(static_cast<int>(items.size()));
  });
}

void ReviewPanel::label(int row, const QString& intent) {
  QTableWidgetItem* when = table_->item(row, kWhen);
  if (when == nullptr) return;
  const QString session = when->data(Qt::UserRole).toString();
  const int turn = when->data(Qt::UserRole + 1).toInt();
  if (auto* choice = qobject_cast<QComboBox*>(table_->cellWidget(row, kLabel))) {
    choice->setCurrentText(intent.isEmpty() ? QString::fromUtf8(kNoLabel) : intent);
  }
  auto done = [this, session, turn, intent](const ApiReply& reply) {
    if (!reply.ok()) return Q_EMIT message(tr("Label: %1").arg(DescribeFailure(reply)), false);
    Q_EMIT labelled(session, turn, intent);
  };
  if (intent.isEmpty()) {
    api_->remove(QStringLiteral("/v1/review/labels/%1/%2").arg(session).arg(turn), this, done);
  } else {
    api_->post(QStringLiteral("/v1/review/labels"),
               QJsonObject{{QStringLiteral("session_id"), session},
                           {QStringLiteral("turn"), turn},
                           {QStringLiteral("intent"), intent}},
               this, done);
  }
}

}  // namespace chatbot::desktop
