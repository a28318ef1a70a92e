#include "voiceman/report/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace voiceman::report::svg {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence at text[i], or 0 when it is not valid (overlong
// forms, surrogates and code points past U+10FFFF included).
size_t utf8_length(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  char32_t cp = 0;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

std::string polyline_path(const Frame& f, const std::vector<std::pair<double, double>>& pts,
                          bool step) {
  std::string d;
  for (size_t i = 0; i < pts.size(); ++i) {
    const double x = f.px(pts[i].first), y = f.py(pts[i].second);
    // Appended piece by piece: GCC 12 warns (-Wrestrict, falsely) on "M" + std::string.
    d += i == 0 ? 'M' : step ? 'H' : 'L';
    d += num(x, 1);
    d += step && i > 0 ? 'V' : ' ';
    d += num(y, 1);
  }
  return d;
}

// Every k-th point plus the last, so a long run draws quickly and still ends where it ends.
std::vector<std::pair<double, double>> thin(const std::vector<std::pair<double, double>>& pts,
                                            size_t max_points) {
  if (pts.size() <= max_points) return pts;
  const size_t stride = (pts.size() + max_points - 1) / max_points;
  std::vector<std::pair<double, double>> out;
  for (size_t i = 0; i < pts.size(); i += stride) out.push_back(pts[i]);
  if (out.back() != pts.back()) out.push_back(pts.back());
  return out;
}

std::string open_svg(const ChartOptions& o, int height) {
  // No xmlns: inline SVG in HTML needs none, and the page holds no URL at all.
  std::string s = "<svg class=\"chart\"";
  if (!o.id.empty()) s += " id=\"" + escape(o.id) + "\"";
  s += " width=\"" + std::to_string(o.width) + "\" height=\"" + std::to_string(height) +
       "\" viewBox=\"0 0 " + std::to_string(o.width) + " " + std::to_string(height) +
       "\" role=\"img\" aria-label=\"" + escape(o.title) + "\">";
  s += "<title>" + escape(o.title) + "</title>";
  s += "<text class=\"chart-title\" x=\"8\" y=\"18\">" + escape(o.title) + "</text>";
  return s;
}

}  // namespace

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const size_t n = utf8_length(text, i);
    if (n == 0 || (c < 0x20 && c != '\t' && c != '\n') || c == 0x7F) {
      out += kReplacement;
      ++i;
      continue;
    }
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.append(text.substr(i, n));
    }
    i += n;
  }
  return out;
}

std::string truncate(std::string_view text, size_t max_chars) {
  std::string out;
  size_t chars = 0;
  for (size_t i = 0; i < text.size();) {
    const size_t n = utf8_length(text, i);
    if (chars == max_chars) return out + "\xE2\x80\xA6";  // …
    if (n == 0) {
      out += kReplacement;
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
    ++chars;
  }
  return out;
}

std::string num(double value, int decimals) {
  if (!std::isfinite(value)) return "0";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", std::clamp(decimals, 0, 9), value);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {0};
  if (hi < lo) std::swap(lo, hi);
  if (hi - lo < 1e-12) hi = lo + 1;
  const double raw = (hi - lo) / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  // From the last step at or below lo to the first at or above hi, so the top of the axis
  // carries a label. Multiples of an integer count avoid drift (0.30000000000000004).
  const long long first = static_cast<long long>(std::floor(lo / step + 1e-9));
  const long long last = static_cast<long long>(std::ceil(hi / step - 1e-9));
  std::vector<double> ticks;
  for (long long k = first; k <= last; ++k) ticks.push_back(k == 0 ? 0.0 : k * step);
  return ticks;
}

double Frame::px(double x) const {
  const double span = x_max > x_min ? x_max - x_min : 1;
  return left + (x - x_min) / span * (width - left - right);
}

double Frame::py(double y) const {
  const double span = y_max > y_min ? y_max - y_min : 1;
  return height - bottom - (y - y_min) / span * (height - top - bottom);
}

std::string axes(const Frame& f, const std::vector<double>& x_ticks,
                 const std::vector<double>& y_ticks, std::string_view x_label,
                 std::string_view y_label) {
  // Tick labels get as many decimals as the tick spacing needs.
  const auto decimals = [](const std::vector<double>& t) {
    if (t.size() < 2) return 2;
    const double step = std::abs(t[1] - t[0]);
    return step >= 1 ? 0 : std::min(6, static_cast<int>(std::ceil(-std::log10(step))));
  };
  const int xd = decimals(x_ticks), yd = decimals(y_ticks);
  const std::string x0 = num(f.left, 1), x1 = num(f.width - f.right, 1);
  const std::string y0 = num(f.top, 1), y1 = num(f.height - f.bottom, 1);
  std::string s = "<g class=\"axes\">";
  for (double t : y_ticks) {
    const std::string y = num(f.py(t), 1);
    s += "<line class=\"grid\" x1=\"" + x0 + "\" x2=\"" + x1 + "\" y1=\"" + y + "\" y2=\"" + y +
         "\"/>";
    s += "<text class=\"tick\" text-anchor=\"end\" x=\"" + num(f.left - 6, 1) + "\" y=\"" + y +
         "\" dy=\"4\">" + num(t, yd) + "</text>";
  }
  for (double t : x_ticks) {
    const std::string x = num(f.px(t), 1);
    s += "<line class=\"tickmark\" x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + y1 + "\" y2=\"" +
         num(f.height - f.bottom + 5, 1) + "\"/>";
    s += "<text class=\"tick\" text-anchor=\"middle\" x=\"" + x + "\" y=\"" +
         num(f.height - f.bottom + 18, 1) + "\">" + num(t, xd) + "</text>";
  }
  s += "<line class=\"axis\" x1=\"" + x0 + "\" x2=\"" + x1 + "\" y1=\"" + y1 + "\" y2=\"" + y1 +
       "\"/>";
  s += "<line class=\"axis\" x1=\"" + x0 + "\" x2=\"" + x0 + "\" y1=\"" + y0 + "\" y2=\"" + y1 +
       "\"/>";
  s += "<text class=\"axis-label\" text-anchor=\"middle\" x=\"" +
       num((f.left + f.width - f.right) / 2.0, 1) + "\" y=\"" + num(f.height - 6, 1) + "\">" +
       escape(x_label) + "</text>";
  const std::string cy = num((f.top + f.height - f.bottom) / 2.0, 1);
  s += "<text class=\"axis-label\" text-anchor=\"middle\" transform=\"translate(14 " + cy +
       ") rotate(-90)\">" + escape(y_label) + "</text>";
  return s + "</g>";
}

std::string line_chart(const ChartOptions& o, const std::vector<Series>& series) {
  Frame f;
  f.width = o.width;
  f.height = o.height;
  bool any = false;
  double x_lo = 0, x_hi = 0, y_hi = 0;
  for (const Series& s : series) {
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      x_lo = any ? std::min(x_lo, x) : x;
      x_hi = any ? std::max(x_hi, x) : x;
      y_hi = std::max(y_hi, y);
      any = true;
    }
  }
  std::string out = open_svg(o, o.height);
  if (!any) {
    f.x_min = 0, f.x_max = 1, f.y_min = 0, f.y_max = 1;
    out += axes(f, {}, {}, o.x_label, o.y_label);
    out += "<text class=\"no-data\" text-anchor=\"middle\" x=\"" + num(o.width / 2.0, 1) +
           "\" y=\"" + num(o.height / 2.0, 1) + "\">no data</text>";
    return out + "</svg>";
  }
  std::vector<double> xt;
  if (std::isfinite(o.x_min) && std::isfinite(o.x_max) && o.x_min < o.x_max) {
    f.x_min = o.x_min;
    f.x_max = o.x_max;
    for (double t : nice_ticks(o.x_min, o.x_max, 8))
      if (t >= o.x_min - 1e-9 && t <= o.x_max + 1e-9) xt.push_back(t);
  } else {
    xt = nice_ticks(x_lo, x_hi, 8);
    f.x_min = std::min(x_lo, xt.front());
    f.x_max = std::max(x_hi > x_lo ? x_hi : x_lo + 1, xt.back());
  }
  const std::vector<double> yt = nice_ticks(0, y_hi > 0 ? y_hi : 1, 5);
  f.y_min = 0;
  f.y_max = std::max(yt.back(), y_hi);
  out += axes(f, xt, yt, o.x_label, o.y_label);

  int legend_i = 0;
  for (const Series& s : series) {
    std::vector<std::pair<double, double>> pts;
    for (const auto& p : s.points)
      if (std::isfinite(p.first) && std::isfinite(p.second)) pts.push_back(p);
    pts = thin(pts, 2000);
    if (pts.empty()) continue;
    out += "<g class=\"series\"><title>" + escape(s.name) + "</title>";
    out += "<path fill=\"none\" stroke-width=\"2\" stroke=\"" + escape(s.color) + "\" d=\"" +
           polyline_path(f, pts, s.step) + "\"/>";
    if ((s.markers && pts.size() <= 80) || pts.size() == 1) {
      for (const auto& [x, y] : pts)
        out += "<circle r=\"3\" fill=\"" + escape(s.color) + "\" cx=\"" + num(f.px(x), 1) +
               "\" cy=\"" + num(f.py(y), 1) + "\"/>";
    }
    out += "</g>";
    if (!s.name.empty() && series.size() > 1) {
      const double lx = o.width - f.right - 170, ly = 14 + 14 * legend_i++;
      out += "<g class=\"legend\"><rect width=\"12\" height=\"4\" fill=\"" + escape(s.color) +
             "\" x=\"" + num(lx, 1) + "\" y=\"" + num(ly - 4, 1) + "\"/><text x=\"" +
             num(lx + 18, 1) + "\" y=\"" + num(ly, 1) + "\">" + escape(s.name) + "</text></g>";
    }
  }
  return out + "</svg>";
}

std::string bar_chart(const ChartOptions& o, const std::vector<Bar>& bars,
                      std::string_view value_unit) {
  constexpr int kBar = 16, kGap = 4, kLabelWidth = 250;
  Frame f;
  f.width = o.width;
  f.left = kLabelWidth;
  f.right = 70;  // room for the value printed after the longest bar
  f.top = 34;
  f.bottom = 44;
  const int rows = std::max<int>(1, static_cast<int>(bars.size()));
  f.height = f.top + f.bottom + rows * (kBar + kGap);
  double v_hi = 0;
  for (const Bar& b : bars)
    if (std::isfinite(b.value)) v_hi = std::max(v_hi, b.value);
  const std::vector<double> xt = nice_ticks(0, v_hi > 0 ? v_hi : 1, 6);
  f.x_min = 0;
  f.x_max = std::max(xt.back(), v_hi);
  f.y_min = 0;
  f.y_max = rows;

  std::string out = open_svg(o, f.height);
  out += axes(f, xt, {}, o.x_label, o.y_label);
  if (bars.empty()) {
    out += "<text class=\"no-data\" x=\"" + num(f.left + 8.0, 1) + "\" y=\"" +
           num(f.top + kBar - 3.0, 1) + "\">no data</text>";
  }
  for (size_t i = 0; i < bars.size(); ++i) {
    const Bar& b = bars[i];
    const double v = std::isfinite(b.value) ? std::max(0.0, b.value) : 0.0;
    const double y = f.top + static_cast<double>(i) * (kBar + kGap) + kGap / 2.0;
    const double w = std::max(1.0, f.px(v) - f.px(0));
    const std::string value_text = num(v, v < 10 ? 2 : 1) + std::string(value_unit);
    const std::string tip = b.tooltip.empty() ? b.label + ": " + value_text : b.tooltip;
    out += "<g class=\"bar\"><title>" + escape(tip) + "</title>";
    out += "<text class=\"bar-label\" text-anchor=\"end\" x=\"" + num(f.left - 6.0, 1) + "\" y=\"" +
           num(y + kBar - 4, 1) + "\">" + escape(truncate(b.label, 38)) + "</text>";
    out += "<rect fill=\"" + escape(b.color) + "\" x=\"" + num(f.px(0), 1) + "\" y=\"" + num(y, 1) +
           "\" width=\"" + num(w, 1) + "\" height=\"" + std::to_string(kBar) + "\"/>";
    out += "<text class=\"bar-value\" x=\"" + num(f.px(0) + w + 4, 1) + "\" y=\"" +
           num(y + kBar - 4, 1) + "\">" + escape(value_text) + "</text></g>";
  }
  return out + "</svg>";
}

}  // namespace voiceman::report::svg
