#include "desktop/sparkline.h"

#include <QPainter>
#include <QPainterPath>
#include <algorithm>

namespace chatbot::desktop {

Sparkline::Sparkline(const QString& title, const QString& unit, int decimals, QWidget* parent)
    : QWidget(parent), title_(title), unit_(unit), decimals_(decimals) {
  setObjectName(QStringLiteral("sparkline"));
  setAccessibleName(title);
  setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
  setMaximumHeight(fontMetrics().height() * 13);
}

void Sparkline::addPoint(std::optional<double> value) {
  points_ << value;
  if (points_.size() > kMaxPoints) points_.removeFirst();
  value_text_.clear();
  if (value) setAccessibleDescription(QString::number(*value, 'f', decimals_) + u' ' + unit_);
  update();
}

void Sparkline::setValueText(const QString& text, std::optional<double> ratio) {
  value_text_ = text;
  ratio_ = ratio;
  setAccessibleDescription(text);
  update();
}

std::optional<double> Sparkline::lastValue() const {
  for (auto it = points_.crbegin(); it != points_.crend(); ++it) {
    if (*it) return *it;
  }
  return std::nullopt;
}

QSize Sparkline::sizeHint() const {
  const int line = fontMetrics().height();
  return {line * 14, line * 6};
}

QSize Sparkline::minimumSizeHint() const {
  const int line = fontMetrics().height();
  return {line * 9, line * 5};
}

void Sparkline::paintEvent(QPaintEvent*) {
  QPainter painter(this);
  painter.setRenderHint(QPainter::Antialiasing);
  const QPalette& pal = palette();
  const QColor accent = color_.isValid() ? color_ : pal.color(QPalette::Highlight);
  const QRectF frame = QRectF(rect()).adjusted(0.5, 0.5, -0.5, -0.5);
  const qreal radius = fontMetrics().height() * 0.5;
  QColor card = pal.color(QPalette::Base);
  painter.setPen(QPen(pal.color(QPalette::Mid), 1));
  painter.setBrush(card);
  painter.drawRoundedRect(frame, radius, radius);

  const int pad = fontMetrics().height() * 3 / 4;
  QFont small = font();
  painter.setFont(small);
  QColor muted = pal.color(QPalette::WindowText);
  muted.setAlphaF(0.65);
  painter.setPen(muted);
  const QRect text_area = rect().adjusted(pad, pad / 2 + 2, -pad, 0);
  painter.drawText(text_area, Qt::AlignLeft | Qt::AlignTop, title_);

  QFont big = font();
  big.setPointSizeF(big.pointSizeF() * 1.6);
  big.setWeight(QFont::DemiBold);
  painter.setFont(big);
  painter.setPen(pal.color(QPalette::WindowText));
  QString value = value_text_;
  if (value.isEmpty()) {
    const std::optional<double> last = lastValue();
    value =
        last ? QString::number(*last, 'f', decimals_) + QChar(0x2009) + unit_ : QStringLiteral("—");
  }
  const int title_height = fontMetrics().height();
  const QRect value_rect(pad, pad / 2 + title_height + 2, width() - 2 * pad,
                         QFontMetrics(big).height());
  painter.drawText(value_rect, Qt::AlignLeft | Qt::AlignVCenter, value);

  // The chart below the value.
  const QRectF plot(pad, value_rect.bottom() + pad / 2, width() - 2 * pad,
                    height() - value_rect.bottom() - pad);
  if (!value_text_.isEmpty()) {
    if (!ratio_) return;
    // A gauge: a rounded track filled to the ratio.
    const double bar = fontMetrics().height() * 0.6;
    const QRectF track(plot.left(), plot.bottom() - bar, plot.width(), bar);
    QColor empty = pal.color(QPalette::Mid);
    painter.setPen(Qt::NoPen);
    painter.setBrush(empty);
    painter.drawRoundedRect(track, bar / 2, bar / 2);
    painter.setBrush(accent);
    QRectF filled = track;
    filled.setWidth(track.width() * std::clamp(*ratio_, 0.0, 1.0));
    painter.drawRoundedRect(filled, bar / 2, bar / 2);
    return;
  }
  if (plot.height() < 8 || points_.size() < 2) return;
  double high = 0;
  for (const auto& p : points_) {
    if (p) high = std::max(high, *p);
  }
  high *= 1.15;  // headroom above the highest point
  high = std::max(high, minimum_scale_);
  if (high <= 0) high = 1;
  // A short history is drawn across a window of at least kMinSpan points, so
  // that the chart is readable from the first minute on.
  const qsizetype span = std::max<qsizetype>(points_.size(), kMinSpan);
  const double step = plot.width() / (span - 1);
  const double x0 = plot.right() - step * (points_.size() - 1);
  QPainterPath line;
  QPainterPath area;
  bool open = false;
  double first_x = 0;
  double last_x = 0;
  auto close_area = [&] {
    if (!open) return;
    area.lineTo(last_x, plot.bottom());
    area.lineTo(first_x, plot.bottom());
    area.closeSubpath();
    open = false;
  };
  for (qsizetype i = 0; i < points_.size(); ++i) {
    if (!points_[i]) {
      close_area();
      continue;
    }
    const double x = x0 + step * i;
    const double y = plot.bottom() - plot.height() * (*points_[i] / high);
    if (!open) {
      line.moveTo(x, y);
      area.moveTo(x, y);
      first_x = x;
      open = true;
    } else {
      line.lineTo(x, y);
      area.lineTo(x, y);
    }
    last_x = x;
  }
  close_area();
  QColor fill = accent;
  fill.setAlphaF(0.18);
  painter.setPen(Qt::NoPen);
  painter.setBrush(fill);
  painter.drawPath(area);
  painter.setPen(QPen(accent, std::max(1.5, fontMetrics().height() / 9.0)));
  painter.setBrush(Qt::NoBrush);
  painter.drawPath(line);
}

}  // namespace chatbot::desktop
