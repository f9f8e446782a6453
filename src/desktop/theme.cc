#include "desktop/theme.h"

#include <QApplication>
#include <QFont>
#include <QRegularExpression>
#include <QStyle>
#include <QStyleFactory>
#include <utility>

namespace chatbot::desktop {

namespace {

QString Hex(const QColor& c) {
  return c.name(QColor::HexRgb);
}

QColor Mix(const QColor& a, const QColor& b, double t) {
  return QColor::fromRgbF(a.redF() * (1 - t) + b.redF() * t, a.greenF() * (1 - t) + b.greenF() * t,
                          a.blueF() * (1 - t) + b.blueF() * t);
}

}  // namespace

ThemeChoice ThemeFromName(const QString& name) {
  if (name.compare(QLatin1String("light"), Qt::CaseInsensitive) == 0) return ThemeChoice::kLight;
  if (name.compare(QLatin1String("dark"), Qt::CaseInsensitive) == 0) return ThemeChoice::kDark;
  return ThemeChoice::kSystem;
}

bool IsDark(const QPalette& palette) {
  return palette.color(QPalette::Window).lightness() < 128;
}

namespace {

// A palette's colours, as 0xRRGGBB. Window text, text and button text are
// one colour.
struct PaletteColors {
  QRgb window, text, base, alternate_base, button, highlight, highlighted_text, mid, midlight,
      placeholder, tooltip_base, tooltip_text, link;
};

QPalette MakePalette(const PaletteColors& c) {
  QPalette p;
  const std::pair<QPalette::ColorRole, QRgb> roles[] = {
      {QPalette::Window, c.window},
      {QPalette::WindowText, c.text},
      {QPalette::Base, c.base},
      {QPalette::AlternateBase, c.alternate_base},
      {QPalette::Text, c.text},
      {QPalette::Button, c.button},
      {QPalette::ButtonText, c.text},
      {QPalette::Highlight, c.highlight},
      {QPalette::HighlightedText, c.highlighted_text},
      {QPalette::Mid, c.mid},
      {QPalette::Midlight, c.midlight},
      {QPalette::PlaceholderText, c.placeholder},
      {QPalette::ToolTipBase, c.tooltip_base},
      {QPalette::ToolTipText, c.tooltip_text},
      {QPalette::Link, c.link},
  };
  for (const auto& [role, rgb] : roles) p.setColor(role, QColor(rgb));
  return p;
}

}  // namespace

QPalette LightPalette() {
  return MakePalette({.window = 0xf4f6f9,
                      .text = 0x1f2937,
                      .base = 0xffffff,
                      .alternate_base = 0xf0f3f7,
                      .button = 0xffffff,
                      .highlight = 0x2563eb,
                      .highlighted_text = 0xffffff,
                      .mid = 0xd5dbe3,
                      .midlight = 0xe5e9ef,
                      .placeholder = 0x8a94a3,
                      .tooltip_base = 0x1f2937,
                      .tooltip_text = 0xffffff,
                      .link = 0x2563eb});
}

QPalette DarkPalette() {
  QPalette p = MakePalette({.window = 0x171b22,
                            .text = 0xe6e9ef,
                            .base = 0x21262f,
                            .alternate_base = 0x262c36,
                            .button = 0x2a303b,
                            .highlight = 0x4f8cf7,
                            .highlighted_text = 0xffffff,
                            .mid = 0x3a414d,
                            .midlight = 0x303641,
                            .placeholder = 0x8b93a1,
                            .tooltip_base = 0xe6e9ef,
                            .tooltip_text = 0x171b22,
                            .link = 0x7dabff});
  for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText}) {
    p.setColor(QPalette::Disabled, role, QColor(0x6b, 0x72, 0x80));
  }
  return p;
}

QString StyleSheetFor(const QPalette& p) {
  const bool dark = IsDark(p);
  const QColor window = p.color(QPalette::Window);
  const QColor base = p.color(QPalette::Base);
  const QColor text = p.color(QPalette::WindowText);
  const QColor accent = p.color(QPalette::Highlight);
  const QColor border = p.color(QPalette::Mid);
  const QColor muted = Mix(text, window, 0.45);
  const QColor bot = dark ? QColor(0x2a, 0x31, 0x3d) : QColor(0xee, 0xf1, 0xf6);
  const QColor fallback = dark ? QColor(0x3d, 0x33, 0x1f) : QColor(0xfd, 0xf3, 0xe1);
  const QColor fallback_border = dark ? QColor(0x8a, 0x6d, 0x2f) : QColor(0xf0, 0xc3, 0x6d);
  const QColor sidebar = dark ? Mix(window, base, 0.35) : base;
  const QColor good = dark ? QColor(0x4a, 0xde, 0x80) : QColor(0x16, 0xa3, 0x4a);
  const QColor bad = dark ? QColor(0xf8, 0x71, 0x71) : QColor(0xdc, 0x26, 0x26);
  const QColor notice_bg = dark ? QColor(0x1e, 0x3a, 0x5f) : QColor(0xe0, 0xec, 0xff);
  QString css = QStringLiteral(R"(
QMainWindow, #conversation, #conversationContent { background: @window; }
#sidebar { background: @sidebar; border-right: 1px solid @border; }
#sectionHeading { color: @muted; font-weight: 600; padding-top: 0.4em; }
QListWidget#sessions { background: transparent; border: none; outline: none; }
QListWidget#sessions::item { padding: 0.45em 0.5em; border-radius: 0.4em; margin: 1px 0; }
QListWidget#sessions::item:selected { background: @accentSoft; color: @text; }
QListWidget#sessions::item:hover:!selected { background: @hover; }
QPushButton { padding: 0.35em 0.9em; border: 1px solid @border; border-radius: 0.4em; background: @base; color: @text; }
QPushButton:hover { border-color: @accent; }
QPushButton:focus { border: 2px solid @accent; }
QPushButton:disabled { color: @muted; }
QPushButton#primary { background: @accent; color: white; border-color: @accent; font-weight: 600; }
QPushButton#danger { color: @bad; border-color: @bad; }
QPushButton#danger:disabled { color: @muted; border-color: @border; }
QPushButton#choice { background: @base; color: @accent; border: 1px solid @accent; border-radius: 1em; padding: 0.3em 1em; font-weight: 600; }
QPushButton#choice:disabled { color: @muted; border-color: @border; }
QPushButton#suggestion { background: @base; border: 1px solid @border; border-radius: 1em; padding: 0.45em 1.2em; }
QPushButton#suggestion:hover { border-color: @accent; color: @accent; }
QLineEdit, QPlainTextEdit, QComboBox { padding: 0.3em 0.5em; border: 1px solid @border; border-radius: 0.4em; background: @base; color: @text; selection-background-color: @accent; }
QLineEdit:focus, QPlainTextEdit:focus, QComboBox:focus { border: 2px solid @accent; }
#composer { background: @window; border-top: 1px solid @border; }
#userBubble { background: @accent; border-radius: 0.9em; border-bottom-right-radius: 0.25em; }
#userBubble QLabel { color: white; }
#botBubble { background: @bot; border-radius: 0.9em; border-bottom-left-radius: 0.25em; }
#fallbackBubble { background: @fallback; border: 1px solid @fallbackBorder; border-radius: 0.9em; border-bottom-left-radius: 0.25em; }
#bubbleText { font-size: 1.05em; }
#meta { color: @muted; font-size: 0.85em; }
#fallbackMeta { color: @fallbackText; font-size: 0.85em; font-weight: 600; }
#typing { color: @muted; font-style: italic; padding-left: 0.3em; }
#problem { color: @bad; padding: 0.4em; }
#welcomeTitle { font-size: 1.9em; font-weight: 700; color: @text; }
#welcomeText { font-size: 1.1em; color: @muted; }
#notice { background: @noticeBg; border-radius: 0.5em; padding: 0.6em 1em; margin: 0.6em 1.5em 0; color: @text; }
#banner { background: @fallback; border: 1px solid @fallbackBorder; border-radius: 0.5em; padding: 0.5em 0.9em; color: @text; }
#banner[kind="error"] { background: @badSoft; border-color: @bad; }
#hint { color: @muted; }
#healthStatus { font-size: 1.25em; font-weight: 600; }
#healthStatus[state="good"] { color: @good; }
#healthStatus[state="bad"] { color: @bad; }
#connection { padding: 0 0.6em; }
#connection[state="good"] { color: @good; }
#connection[state="bad"] { color: @bad; }
#connection[state="warn"] { color: @fallbackText; }
QTabWidget::pane { border: none; }
QTabBar { qproperty-drawBase: 0; }
QTabBar::tab { padding: 0.5em 1.2em; border: none; color: @muted; background: transparent; }
QTabBar::tab:selected { color: @text; border-bottom: 2px solid @accent; font-weight: 600; }
QTableWidget { background: @base; border: 1px solid @border; border-radius: 0.4em; gridline-color: @border; alternate-background-color: @alt; }
QTableWidget::item { padding: 0 0.4em; }
QHeaderView::section { background: @window; color: @muted; border: none; border-bottom: 1px solid @border; padding: 0.35em 0.5em; font-weight: 600; }
QStatusBar { background: @sidebar; border-top: 1px solid @border; color: @muted; }
QToolTip { padding: 0.3em; border: none; }
)");
  const QColor accent_soft = Mix(accent, base, dark ? 0.65 : 0.85);
  const QColor hover = Mix(text, sidebar, 0.93);
  const QColor bad_soft = Mix(bad, base, 0.85);
  const QColor fallback_text = dark ? QColor(0xf5, 0xc0, 0x5a) : QColor(0x9a, 0x67, 0x00);
  const QList<QPair<QString, QColor>> vars{
      {QStringLiteral("@window"), window},
      {QStringLiteral("@sidebar"), sidebar},
      {QStringLiteral("@border"), border},
      {QStringLiteral("@muted"), muted},
      {QStringLiteral("@accentSoft"), accent_soft},
      {QStringLiteral("@accent"), accent},
      {QStringLiteral("@hover"), hover},
      {QStringLiteral("@base"), base},
      {QStringLiteral("@text"), text},
      {QStringLiteral("@botBubble"), bot},
      {QStringLiteral("@bot"), bot},
      {QStringLiteral("@fallbackBorder"), fallback_border},
      {QStringLiteral("@fallbackText"), fallback_text},
      {QStringLiteral("@fallback"), fallback},
      {QStringLiteral("@noticeBg"), notice_bg},
      {QStringLiteral("@badSoft"), bad_soft},
      {QStringLiteral("@bad"), bad},
      {QStringLiteral("@good"), good},
      {QStringLiteral("@alt"), p.color(QPalette::AlternateBase)},
  };
  // Longer names first where one is a prefix of another (listed so above).
  for (const auto& [name, color] : vars) css.replace(name, Hex(color));
  // Style sheets take font sizes in points, not em: relative to the
  // application's font, so that they follow the desktop's size and scale.
  const double base_pt =
      QApplication::font().pointSizeF() > 0 ? QApplication::font().pointSizeF() : 10;
  static const QRegularExpression kEm(QStringLiteral("font-size: ([0-9.]+)em"));
  QString out;
  qsizetype last = 0;
  for (auto it = kEm.globalMatch(css); it.hasNext();) {
    const QRegularExpressionMatch m = it.next();
    out += css.mid(last, m.capturedStart() - last);
    out += QStringLiteral("font-size: %1pt").arg(base_pt * m.captured(1).toDouble(), 0, 'f', 1);
    last = m.capturedEnd();
  }
  out += css.mid(last);
  return out;
}

void ApplyTheme(QApplication& app, ThemeChoice choice) {
  // Fusion draws the same on every platform and honours any palette, dark
  // ones included; the native styles of some desktops ignore the palette.
  app.setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
  // The system's palette is left unset, so that Qt keeps following the
  // platform's (MainWindow re-derives the style sheet when it changes).
  if (choice == ThemeChoice::kLight) app.setPalette(LightPalette());
  if (choice == ThemeChoice::kDark) app.setPalette(DarkPalette());
  app.setStyleSheet(StyleSheetFor(QGuiApplication::palette()));
}

}  // namespace chatbot::desktop
