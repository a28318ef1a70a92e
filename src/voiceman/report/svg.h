#pragma once
// Small inline-SVG chart helpers for report.html: escaping, axes, line and bar charts.
// The output needs no script, font or image: it renders offline in any browser.
#include <cmath>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace voiceman::report::svg {

// Text for HTML/SVG content or attribute values: & < > " ' escaped, invalid UTF-8 and
// control characters (other than tab and newline) replaced by U+FFFD.
std::string escape(std::string_view text);

// At most max_chars code points of valid UTF-8 (escape() not applied), with "…" when cut.
std::string truncate(std::string_view text, size_t max_chars);

// Fixed-point with at most `decimals` decimals, trailing zeros dropped ("2.5", "10").
std::string num(double value, int decimals = 2);

// About `target` round tick values (1, 2, 5 x 10^k steps), the first <= lo, the last >= hi.
std::vector<double> nice_ticks(double lo, double hi, int target = 5);

// Maps data coordinates to pixels inside the margins of a width x height canvas.
struct Frame {
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  int width = 760, height = 280;
  int left = 64, right = 16, top = 34, bottom = 44;
  double px(double x) const;
  double py(double y) const;
};

// Grid lines, tick labels and axis titles for `frame`, using the given tick values.
std::string axes(const Frame& frame, const std::vector<double>& x_ticks,
                 const std::vector<double>& y_ticks, std::string_view x_label,
                 std::string_view y_label);

struct ChartOptions {
  std::string id;     // element id of the <svg> ("chart-throughput")
  std::string title;  // drawn at the top and used as the accessible name
  std::string x_label, y_label;
  int width = 760, height = 280;  // bar charts compute their own height
  // Line charts: a fixed x range (both finite, min < max), so charts over the same run
  // line up; otherwise the range follows the data.
  double x_min = NAN, x_max = NAN;
};

struct Series {
  std::string name;   // legend entry (no legend for a single unnamed series)
  std::string color;  // CSS colour
  std::vector<std::pair<double, double>> points;  // (x, y), sorted by x
  bool step = false;     // hold each value until the next point's x (batch size changes)
  bool markers = false;  // dots on the points (dropped when there are many)
};

// A line chart; y starts at 0. Long series are thinned to at most 2000 points each.
// With no points at all it draws the frame and "no data".
std::string line_chart(const ChartOptions& options, const std::vector<Series>& series);

struct Bar {
  std::string label;    // left of the bar, shortened to fit
  double value = 0;     // bar length, >= 0
  std::string color;    // CSS colour
  std::string tooltip;  // <title> text, shown on hover (defaults to label and value)
};

// Horizontal bars in the given order, value printed at the end of each.
std::string bar_chart(const ChartOptions& options, const std::vector<Bar>& bars,
                      std::string_view value_unit = "");

}  // namespace voiceman::report::svg
