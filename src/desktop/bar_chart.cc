#include "desktop/bar_chart.h"

#include <QPainter>
#include <algorithm>

namespace chatbot::desktop {

BarChart::BarChart(const QString& title, int max_rows, QWidget* parent)
    : QWidget(parent), title_(title), max_rows_(max_rows) {
  setAccessibleName(title);
  setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
}

void BarChart::setItems(QList<QPair<QString, double>> items) {
  std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (items.size() > max_rows_) items.resize(max_rows_);
  items_ = std::move(items);
  QStringList description;
  for (const auto& [name, value] : items_)
    description << QStringLiteral("%1 %2").arg(name).arg(value);
  setAccessibleDescription(description.join(QStringLiteral(", ")));
  update();
}

QSize BarChart::sizeHint() const {
  const int line = fontMetrics().height();
  return {line * 30, line * (3 + max_rows_) + line / 2 * max_rows_};
}

QSize BarChart::minimumSizeHint() const {
  return {fontMetrics().height() * 18, sizeHint().height()};
}

void BarChart::paintEvent(QPaintEvent*) {
  QPainter painter(this);
  painter.setRenderHint(QPainter::Antialiasing);
  const QPalette& pal = palette();
  const QColor accent = color_.isValid() ? color_ : pal.color(QPalette::Highlight);
  const int line = fontMetrics().height();
  const qreal radius = line * 0.5;
  painter.setPen(QPen(pal.color(QPalette::Mid), 1));
  painter.setBrush(pal.color(QPalette::Base));
  painter.drawRoundedRect(QRectF(rect()).adjusted(0.5, 0.5, -0.5, -0.5), radius, radius);

  const int pad = line * 3 / 4;
  QColor muted = pal.color(QPalette::WindowText);
  muted.setAlphaF(0.65);
  painter.setPen(muted);
  painter.drawText(QRect(pad, pad / 2 + 2, width() - 2 * pad, line), Qt::AlignLeft, title_);
  if (items_.isEmpty()) {
    painter.drawText(QRect(pad, pad / 2 + 2 + line * 2, width() - 2 * pad, line), Qt::AlignLeft,
                     tr("No answers yet"));
    return;
  }
  int name_width = 0;
  for (const auto& item : items_) {
    name_width = std::max(name_width, fontMetrics().horizontalAdvance(item.first));
  }
  name_width = std::min(name_width, width() / 3);
  const int value_width = fontMetrics().horizontalAdvance(QStringLiteral("000000"));
  const double high = std::max(1.0, items_.first().second);
  const int row = line + line / 2;
  int y = pad / 2 + 2 + line + line / 2;
  const int bar_left = pad + name_width + pad;
  const int bar_span = std::max(10, width() - bar_left - value_width - 2 * pad);
  for (const auto& [name, value] : items_) {
    painter.setPen(pal.color(QPalette::WindowText));
    painter.drawText(QRect(pad, y, name_width, row), Qt::AlignVCenter | Qt::AlignLeft,
                     fontMetrics().elidedText(name, Qt::ElideRight, name_width));
    const double length = bar_span * value / high;
    QColor fill = accent;
    fill.setAlphaF(0.85);
    painter.setPen(Qt::NoPen);
    painter.setBrush(fill);
    const qreal bar_height = line * 0.7;
    painter.drawRoundedRect(
        QRectF(bar_left, y + (row - bar_height) / 2, std::max(2.0, length), bar_height),
        bar_height / 3, bar_height / 3);
    painter.setPen(muted);
    painter.drawText(QRect(bar_left + static_cast<int>(length) + pad / 2, y, value_width, row),
                     Qt::AlignVCenter | Qt::AlignLeft, QString::number(qRound64(value)));
    y += row;
  }
}

}  // namespace chatbot::desktop
