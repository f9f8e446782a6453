#include "desktop/keys_panel.h"

#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

namespace chatbot::desktop {

namespace {

enum Column { kName, kId, kRole, kStatus, kRequests, kLastUsed, kColumns };

QTableWidgetItem* Cell(const QString& text) {
  auto* item = new QTableWidgetItem(text);
  item->setFlags(Qt::ItemIsSelectable | Qt::ItemIsEnabled);
  return item;
}

}  // namespace

KeysPanel::KeysPanel(ApiClient* api, QWidget* parent) : QWidget(parent), api_(api) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(16, 16, 16, 16);
  auto* bar = new QHBoxLayout;
  auto* create = new QPushButton(tr("&Create key…"));
  create->setObjectName(QStringLiteral("primary"));
  rotate_ = new QPushButton(tr("R&otate…"));
  revoke_ = new QPushButton(tr("Re&voke…"));
  revoke_->setObjectName(QStringLiteral("danger"));
  auto* reload = new QPushButton(tr("Refresh"));
  bar->addWidget(create);
  bar->addWidget(rotate_);
  bar->addWidget(revoke_);
  bar->addStretch(1);
  bar->addWidget(reload);
  layout->addLayout(bar);

  table_ = new QTableWidget(0, kColumns);
  table_->setObjectName(QStringLiteral("keys"));
  table_->setHorizontalHeaderLabels(
      {tr("Name"), tr("Id"), tr("Role"), tr("Status"), tr("Requests (refused)"), tr("Last used")});
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::SingleSelection);
  table_->verticalHeader()->hide();
  table_->setAlternatingRowColors(true);
  table_->setShowGrid(false);
  QHeaderView* header = table_->horizontalHeader();
  header->setDefaultAlignment(Qt::AlignLeft | Qt::AlignVCenter);
  header->setSectionResizeMode(QHeaderView::ResizeToContents);
  header->setSectionResizeMode(kName, QHeaderView::Stretch);
  table_->setAccessibleName(tr("API keys"));
  layout->addWidget(table_, 1);

  connect(create, &QPushButton::clicked, this, &KeysPanel::createKey);
  connect(rotate_, &QPushButton::clicked, this, &KeysPanel::rotateSelected);
  connect(revoke_, &QPushButton::clicked, this, &KeysPanel::revokeSelected);
  connect(reload, &QPushButton::clicked, this, &KeysPanel::refresh);
  auto update_buttons = [this] {
    const bool any = !selectedId().isEmpty();
    rotate_->setEnabled(any);
    revoke_->setEnabled(any);
  };
  connect(table_, &QTableWidget::itemSelectionChanged, this, update_buttons);
  update_buttons();
}

void KeysPanel::refresh() {
  api_->get(QStringLiteral("/v1/admin/keys"), this, [this](const ApiReply& reply) {
    if (!reply.ok()) return Q_EMIT message(tr("Keys: %1").arg(DescribeFailure(reply)), false);
    const QString selected = selectedId();
    const QJsonArray keys = reply.json.value(QStringLiteral("keys")).toArray();
    table_->setRowCount(static_cast<int>(keys.size()));
    for (int row = 0; row < keys.size(); ++row) {
      const QJsonObject k = keys[row].toObject();
      const QJsonObject usage = k.value(QStringLiteral("usage")).toObject();
      const QString status = k.value(QStringLiteral("status")).toString();
      table_->setItem(row, kName, Cell(k.value(QStringLiteral("name")).toString()));
      table_->setItem(row, kId, Cell(k.value(QStringLiteral("id")).toString()));
      table_->setItem(row, kRole, Cell(k.value(QStringLiteral("role")).toString()));
      QTableWidgetItem* state = Cell(status);
      if (status != QLatin1String("active")) state->setForeground(QColor(0xc0, 0x39, 0x2b));
      table_->setItem(row, kStatus, state);
      table_->setItem(row, kRequests,
                      Cell(QStringLiteral("%1 (%2)")
                               .arg(usage.value(QStringLiteral("requests")).toInteger())
                               .arg(usage.value(QStringLiteral("refused")).toInteger())));
      QString last = usage.value(QStringLiteral("last_used_at")).toString();
      last = last.isEmpty() ? tr("never")
                            : QDateTime::fromString(last, Qt::ISODateWithMs)
                                  .toLocalTime()
                                  .toString(QStringLiteral("d MMM HH:mm"));
      table_->setItem(row, kLastUsed, Cell(last));
    }
    if (!selected.isEmpty()) selectKey(selected);
    Q_EMIT refreshed(static_cast<int>(keys.size()));
  });
}

bool KeysPanel::selectKey(const QString& id) {
  for (int row = 0; row < table_->rowCount(); ++row) {
    if (table_->item(row, kId) && table_->item(row, kId)->text() == id) {
      table_->selectRow(row);
      return true;
    }
  }
  return false;
}

QString KeysPanel::selectedId() const {
  const auto rows = table_->selectionModel()->selectedRows();
  if (rows.isEmpty() || table_->item(rows.first().row(), kId) == nullptr) return {};
  return table_->item(rows.first().row(), kId)->text();
}

QString KeysPanel::selectedName() const {
  const auto rows = table_->selectionModel()->selectedRows();
  if (rows.isEmpty() || table_->item(rows.first().row(), kName) == nullptr) return {};
  return table_->item(rows.first().row(), kName)->text();
}

void KeysPanel::createKey() {
  QDialog dialog(this);
  dialog.setWindowTitle(tr("Create an API key"));
  auto* form = new QFormLayout(&dialog);
  auto* name = new QLineEdit;
  name->setPlaceholderText(tr("e.g. support desk laptop"));
  auto* role = new QComboBox;
  role->addItems({QStringLiteral("client"), QStringLiteral("operator"), QStringLiteral("admin")});
  auto* expires = new QLineEdit;
  expires->setPlaceholderText(tr("never; or 90d, 24h, 2w"));
  form->addRow(tr("&Name:"), name);
  form->addRow(tr("&Role:"), role);
  form->addRow(tr("&Expires after:"), expires);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
  buttons->button(QDialogButtonBox::Ok)->setText(tr("Create"));
  connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
  form->addRow(buttons);
  if (dialog.exec() != QDialog::Accepted || name->text().trimmed().isEmpty()) return;
  QJsonObject body{{QStringLiteral("name"), name->text().trimmed()},
                   {QStringLiteral("role"), role->currentText()}};
  if (!expires->text().trimmed().isEmpty()) {
    body.insert(QStringLiteral("expires"), expires->text().trimmed());
  }
  api_->post(QStringLiteral("/v1/admin/keys"), body, this, [this](const ApiReply& reply) {
    if (!reply.ok()) return Q_EMIT message(tr("Create: %1").arg(DescribeFailure(reply)), false);
    showSecret(tr("Key created"), reply.json);
    refresh();
  });
}

void KeysPanel::rotateSelected() {
  const QString id = selectedId();
  if (id.isEmpty()) return;
  if (QMessageBox::question(this, tr("Rotate key"),
                            tr("Give “%1” (%2) a new secret? The old secret stops working at "
                               "once.")
                                .arg(selectedName(), id)) != QMessageBox::Yes) {
    return;
  }
  api_->post(QStringLiteral("/v1/admin/keys/%1/rotate").arg(id), {}, this,
             [this](const ApiReply& reply) {
               if (!reply.ok()) {
                 return Q_EMIT message(tr("Rotate: %1").arg(DescribeFailure(reply)), false);
               }
               showSecret(tr("Key rotated"), reply.json);
               refresh();
             });
}

void KeysPanel::revokeSelected() {
  const QString id = selectedId();
  if (id.isEmpty()) return;
  const QString name = selectedName();
  if (QMessageBox::warning(this, tr("Revoke key"),
                           tr("Revoke “%1” (%2)? It is refused from its next request on, and "
                              "cannot be restored.")
                               .arg(name, id),
                           QMessageBox::Yes | QMessageBox::Cancel,
                           QMessageBox::Cancel) != QMessageBox::Yes) {
    return;
  }
  api_->post(QStringLiteral("/v1/admin/keys/%1/revoke").arg(id), {}, this,
             [this, name](const ApiReply& reply) {
               if (!reply.ok()) {
                 return Q_EMIT message(tr("Revoke: %1").arg(DescribeFailure(reply)), false);
               }
               Q_EMIT message(tr("Revoked “%1”.").arg(name), true);
               refresh();
             });
}

void KeysPanel::showSecret(const QString& title, const QJsonObject& answer) {
  const QString key = answer.value(QStringLiteral("key")).toString();
  const QString id = answer.value(QStringLiteral("id")).toString();
  auto* dialog = new QDialog(this);
  dialog->setAttribute(Qt::WA_DeleteOnClose);
  dialog->setObjectName(QStringLiteral("secretDialog"));
  dialog->setWindowTitle(title);
  auto* layout = new QVBoxLayout(dialog);
  auto* text = new QLabel(tr("This is the only time the key is shown. Store it safely now."));
  text->setWordWrap(true);
  auto* field = new QLineEdit(key);
  field->setObjectName(QStringLiteral("secret"));
  field->setReadOnly(true);
  field->setMinimumWidth(field->fontMetrics().horizontalAdvance(key) + 24);
  auto* copy = new QPushButton(tr("&Copy to clipboard"));
  copy->setObjectName(QStringLiteral("primary"));
  auto* done = new QPushButton(tr("&Done"));
  connect(copy, &QPushButton::clicked, dialog, [copy, key] {
    QApplication::clipboard()->setText(key);
    copy->setText(tr("Copied"));
  });
  connect(done, &QPushButton::clicked, dialog, &QDialog::accept);
  auto* buttons = new QHBoxLayout;
  buttons->addStretch(1);
  buttons->addWidget(copy);
  buttons->addWidget(done);
  layout->addWidget(text);
  layout->addWidget(field);
  layout->addLayout(buttons);
  dialog->open();
  Q_EMIT secretShown(id, key);
}

}  // namespace chatbot::desktop
