// A horizontal bar chart drawn with QPainter: a title, then one row per item
// (name, bar, value), longest first. Used by the console for the intents the
// service answered; colours from the palette, sizes from the font.
#ifndef CHATBOT_DESKTOP_BAR_CHART_H_
#define CHATBOT_DESKTOP_BAR_CHART_H_

#include <QColor>
#include <QList>
#include <QPair>
#include <QWidget>

namespace chatbot::desktop {

class BarChart : public QWidget {
  Q_OBJECT

 public:
  BarChart(const QString& title, int max_rows, QWidget* parent = nullptr);

  void setColor(const QColor& color) {
    color_ = color;
    update();
  }
  // Sorted here, largest first; only the first `max_rows` are drawn.
  void setItems(QList<QPair<QString, double>> items);
  int itemCount() const { return static_cast<int>(items_.size()); }

  QSize sizeHint() const override;
  QSize minimumSizeHint() const override;

 protected:
  void paintEvent(QPaintEvent* event) override;

 private:
  QString title_;
  int max_rows_;
  QColor color_;
  QList<QPair<QString, double>> items_;
};

}  // namespace chatbot::desktop

#endif  // CHATBOT_DESKTOP_BAR_CHART_H_
