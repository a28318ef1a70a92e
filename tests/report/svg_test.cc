// The SVG helpers: escaping, truncation, number formatting, ticks and the two charts.
#include "voiceman/report/svg.h"

#include <gtest/gtest.h>

#include <cmath>

#include "report/report_fixture.h"

namespace voiceman::report::svg {
namespace {

using voiceman::report::testing::count;

TEST(Svg, EscapeHostileText) {
  EXPECT_EQ(escape("<script>alert(\"x\")</script> & 'q'"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;");
  EXPECT_EQ(escape("통화 녹음.m4a"), "통화 녹음.m4a");  // valid UTF-8 passes through
  EXPECT_EQ(escape(std::string("a\xff"
                               "b")),
            "a\xEF\xBF\xBD"
            "b");                                                                  // invalid byte
  EXPECT_EQ(escape(std::string("\xC0\xAF")), "\xEF\xBF\xBD\xEF\xBF\xBD");          // overlong '/'
  EXPECT_EQ(escape(std::string("\xED\xA0\x80")).find("\xED"), std::string::npos);  // surrogate
  EXPECT_EQ(escape(std::string("x\x01y\0z", 5)), "x\xEF\xBF\xBDy\xEF\xBF\xBDz");
  EXPECT_EQ(escape("tab\tnew\nline"), "tab\tnew\nline");
}

TEST(Svg, TruncateCountsCodePoints) {
  EXPECT_EQ(truncate("short", 10), "short");
  EXPECT_EQ(truncate("abcdef", 3), "abc\xE2\x80\xA6");
  EXPECT_EQ(truncate("통화녹음파일", 2), "통화\xE2\x80\xA6");  // never cuts inside a character
  EXPECT_EQ(truncate("abc", 3), "abc");
}

TEST(Svg, NumDropsTrailingZeros) {
  EXPECT_EQ(num(2.5, 2), "2.5");
  EXPECT_EQ(num(10.0, 2), "10");
  EXPECT_EQ(num(0.126, 2), "0.13");
  EXPECT_EQ(num(-0.001, 2), "0");
  EXPECT_EQ(num(1234.5678, 0), "1235");
  EXPECT_EQ(num(std::nan(""), 2), "0");
}

TEST(Svg, NiceTicks) {
  EXPECT_EQ(nice_ticks(0, 10, 5), (std::vector<double>{0, 2, 4, 6, 8, 10}));
  EXPECT_EQ(nice_ticks(0, 97, 5), (std::vector<double>{0, 20, 40, 60, 80, 100}));
  const std::vector<double> small = nice_ticks(0, 0.42, 5);
  ASSERT_EQ(small.size(), 6u);
  EXPECT_EQ(small[3], 3 * 0.1);  // computed as a multiple, not by repeated addition
  EXPECT_DOUBLE_EQ(small.back(), 0.5);
  EXPECT_EQ(nice_ticks(13, 97, 5), (std::vector<double>{0, 20, 40, 60, 80, 100}));
  EXPECT_EQ(nice_ticks(5, 5, 5).front(), 5);  // a flat range still gets ticks
  EXPECT_FALSE(nice_ticks(0, 1e6, 5).empty());
}

TEST(Svg, FrameMapsDataIntoTheMargins) {
  Frame f;
  f.x_min = 0, f.x_max = 100, f.y_min = 0, f.y_max = 50;
  EXPECT_DOUBLE_EQ(f.px(0), f.left);
  EXPECT_DOUBLE_EQ(f.px(100), f.width - f.right);
  EXPECT_DOUBLE_EQ(f.py(0), f.height - f.bottom);
  EXPECT_DOUBLE_EQ(f.py(50), f.top);
}

TEST(Svg, LineChartDrawsEachSeriesWithALegend) {
  Series a{"RAM MB", "#00f", {{0, 1}, {1, 3}, {2, 2}}, false, true};
  Series b{"GPU MB", "#f80", {{0, 2}, {2, 4}}, true, false};
  const std::string s = line_chart({"chart-x", "Memory <over> time", "t (s)", "MB"}, {a, b});
  EXPECT_EQ(s.rfind("<svg class=\"chart\" id=\"chart-x\"", 0), 0u) << s.substr(0, 80);
  EXPECT_EQ(s.substr(s.size() - 6), "</svg>");
  EXPECT_EQ(count(s, "<path "), 2u);
  EXPECT_EQ(count(s, "<circle "), 3u);  // markers on the first series only
  EXPECT_EQ(count(s, "class=\"legend\""), 2u);
  EXPECT_NE(s.find("Memory &lt;over&gt; time"), std::string::npos);
  EXPECT_EQ(s.find("<over>"), std::string::npos);
  EXPECT_NE(s.find("H"), std::string::npos);  // the step series
  EXPECT_EQ(s.find("http"), std::string::npos);
}

TEST(Svg, LineChartThinsLongSeriesAndHandlesNoData) {
  Series many{"", "#00f", {}, false, true};
  for (int i = 0; i < 10000; ++i) many.points.emplace_back(i, i % 17);
  const std::string s = line_chart({"c", "t", "x", "y"}, {many});
  EXPECT_LE(count(s, "L"), 2001u);
  EXPECT_EQ(count(s, "<circle "), 0u);  // too many points for markers
  EXPECT_NE(line_chart({"c", "empty", "x", "y"}, {}).find("no data"), std::string::npos);
  EXPECT_NE(
      line_chart({"c", "nan", "x", "y"}, {{"", "#000", {{std::nan(""), 1.0}}}}).find("no data"),
      std::string::npos);
}

TEST(Svg, LineChartFixedXRangeLinesChartsUp) {
  ChartOptions o{"c", "fixed", "t (s)", "y"};
  o.x_min = 0;
  o.x_max = 100;
  Frame f;  // the defaults line_chart uses for a 760 x 280 chart
  const std::string s = line_chart(o, {{"", "#000", {{50, 1}, {60, 2}}}});
  // x = 50 maps to the middle of the plot area, not to its left edge.
  std::string move_to = "M";  // built with += : GCC 12 warns (falsely) on "M" + std::string
  move_to += num((f.left + f.width - f.right) / 2.0, 1);
  EXPECT_NE(s.find(move_to + " "), std::string::npos) << s;
  EXPECT_NE(s.find(">100</text>"), std::string::npos);
  EXPECT_NE(s.find(">0</text>"), std::string::npos);
}

TEST(Svg, BarChartOneBarPerItemLabelsEscapedAndShortened) {
  std::vector<Bar> bars;
  bars.push_back({"<b>&amp.m4a", 2.5, "#00f", ""});
  bars.push_back({std::string(100, 'x'), 1.0, "#f00", "full name"});
  bars.push_back({"zero", 0.0, "#0f0", ""});
  const std::string s = bar_chart({"bars", "Per file", "seconds", ""}, bars, " s");
  EXPECT_EQ(count(s, "class=\"bar\""), 3u);
  EXPECT_EQ(count(s, "<rect "), 3u);
  EXPECT_NE(s.find("&lt;b&gt;&amp;amp.m4a"), std::string::npos);
  EXPECT_EQ(s.find(std::string(100, 'x')), std::string::npos);
  EXPECT_NE(s.find(std::string(38, 'x') + "\xE2\x80\xA6"), std::string::npos);
  EXPECT_NE(s.find("<title>full name</title>"), std::string::npos);
  EXPECT_NE(s.find(">2.5 s<"), std::string::npos);
  EXPECT_NE(bar_chart({"b", "none", "s", ""}, {}).find("no data"), std::string::npos);
}

}  // namespace
}  // namespace voiceman::report::svg
