#include "desktop/app_icon.h"

#include <QLinearGradient>
#include <QPainter>
#include <QPainterPath>
#include <QPixmap>

namespace chatbot::desktop {

namespace {

QPixmap Paint(int size) {
  QPixmap pixmap(size, size);
  pixmap.fill(Qt::transparent);
  QPainter p(&pixmap);
  p.setRenderHint(QPainter::Antialiasing);
  p.scale(size / 64.0, size / 64.0);  // drawn in the SVG's 64x64 units
  QLinearGradient gradient(0, 0, 0, 64);
  gradient.setColorAt(0, QColor(0x3b, 0x76, 0xf6));
  gradient.setColorAt(1, QColor(0x1f, 0x4f, 0xd1));
  p.setPen(Qt::NoPen);
  p.setBrush(gradient);
  p.drawRoundedRect(QRectF(0, 0, 64, 64), 14, 14);
  QPainterPath bubble;
  bubble.addRoundedRect(QRectF(10, 18, 44, 24), 4, 4);
  QPainterPath tail;
  tail.moveTo(20, 40);
  tail.lineTo(30, 40);
  tail.lineTo(20, 50);
  tail.closeSubpath();
  p.setBrush(Qt::white);
  p.drawPath(bubble.united(tail));
  p.setBrush(QColor(0x24, 0x54, 0xd6));
  for (int x : {23, 32, 41}) p.drawEllipse(QPointF(x, 30), 3, 3);
  return pixmap;
}

}  // namespace

QIcon AppIcon() {
  QIcon icon;
  for (int size : {16, 24, 32, 48, 64, 128, 256}) icon.addPixmap(Paint(size));
  return icon;
}

}  // namespace chatbot::desktop
