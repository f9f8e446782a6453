// A small line chart drawn with QPainter: one series of the last N points, its
// current value large above it, and a faint area under the line. Colours come
// from the palette, so it follows light and dark themes; sizes come from the
// font, so it stays readable at any scale.
#ifndef CHATBOT_DESKTOP_SPARKLINE_H_
#define CHATBOT_DESKTOP_SPARKLINE_H_

#include <QColor>
#include <QList>
#include <QWidget>
#include <optional>

namespace chatbot::desktop {

class Sparkline : public QWidget {
  Q_OBJECT

 public:
  // `unit` follows the value ("ms", "%"); `decimals` of the value shown.
  Sparkline(const QString& title, const QString& unit, int decimals, QWidget* parent = nullptr);

  // The chart's top is at least this value.
  void setMinimumScale(double value) { minimum_scale_ = value; }
  void setColor(const QColor& color) {
    color_ = color;
    update();
  }
  // A point; none draws a gap (no data for that interval).
  void addPoint(std::optional<double> value);
  // A fixed value without history (e.g. the model's accuracy), with a bar
  // filled to `ratio` (0..1) when given.
  void setValueText(const QString& text, std::optional<double> ratio = std::nullopt);
  int pointCount() const { return static_cast<int>(points_.size()); }
  std::optional<double> lastValue() const;

  QSize sizeHint() const override;
  QSize minimumSizeHint() const override;

 protected:
  void paintEvent(QPaintEvent* event) override;

 private:
  QString title_;
  QString unit_;
  int decimals_;
  QColor color_;
  QString value_text_;
  std::optional<double> ratio_;
  double minimum_scale_ = 0;
  QList<std::optional<double>> points_;
  static constexpr int kMaxPoints = 120;
  static constexpr int kMinSpan = 20;
};

}  // namespace chatbot::desktop

#endif  // CHATBOT_DESKTOP_SPARKLINE_H_
