// report.html as text: self-contained, every string escaped, charts and the failures table
// present, per-file bars capped for big corpora.
#include <gtest/gtest.h>

#include "report/report_fixture.h"
#include "voiceman/report/performance_report.h"

namespace voiceman::report {
namespace {

using testing::count;
using testing::kHostileName;
using testing::sample_run;

std::string render(const RunSummaryInput& in) { return render_html(in, performance_report(in)); }

TEST(HtmlReport, SelfContainedWithoutNetworkReferences) {
  for (bool gpu : {false, true}) {
    const std::string html = render(sample_run(gpu));
    EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
    EXPECT_EQ(html.find("http://"), std::string::npos);
    EXPECT_EQ(html.find("https://"), std::string::npos);
    EXPECT_EQ(html.find("//cdn"), std::string::npos);
    EXPECT_EQ(html.find("<script"), std::string::npos);  // no script of ours, none injected
    EXPECT_EQ(html.find("<link"), std::string::npos);
    EXPECT_EQ(html.find("<img"), std::string::npos);
    EXPECT_EQ(html.find("url("), std::string::npos);
    EXPECT_EQ(html.find("@import"), std::string::npos);
    EXPECT_EQ(html.find(" src="), std::string::npos);
  }
}

TEST(HtmlReport, HostileFileNameIsEscaped) {
  const std::string html = render(sample_run(false));
  EXPECT_EQ(html.find(kHostileName), std::string::npos);
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_NE(html.find("calls/&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39; "
                      "통화.m4a"),
            std::string::npos);
  EXPECT_NE(html.find("invalid data &lt;found&gt; when processing input &amp; "
                      "&quot;quotes&quot;"),
            std::string::npos);
  // Invalid UTF-8 in a name does not end up in the page.
  RunSummaryInput in = sample_run(false);
  in.files[5].path = std::string("bad\xff\xfe name.wav");
  const std::string bad = render(in);
  EXPECT_EQ(bad.find("\xff"), std::string::npos);
  EXPECT_NE(bad.find("bad\xEF\xBF\xBD\xEF\xBF\xBD name.wav"), std::string::npos);
}

TEST(HtmlReport, HasTheFourChartsAndTheFailuresTable) {
  const std::string html = render(sample_run(true));
  for (const char* id : {"chart-throughput", "chart-memory", "chart-batch-size", "chart-files"})
    EXPECT_EQ(count(html, std::string("id=\"") + id + "\""), 1u) << id;
  EXPECT_EQ(count(html, "<svg "), 4u);
  EXPECT_NE(html.find("GPU memory used MB"), std::string::npos);  // second memory series
  EXPECT_NE(html.find("id=\"failures-table\""), std::string::npos);
  EXPECT_EQ(count(html, "<tr class=\"failure\">"), 2u);
  EXPECT_NE(html.find("Reducing batch size to 10"), std::string::npos);
  EXPECT_NE(html.find("<td>01:12 (1.21 min)</td>"), std::string::npos);
}

TEST(HtmlReport, NoGpuRunSaysSoAndDrawsOneMemorySeries) {
  const std::string html = render(sample_run(false));
  EXPECT_EQ(html.find("GPU memory used MB"), std::string::npos);
  EXPECT_NE(html.find("<td>GPU utilisation</td><td>not used</td>"), std::string::npos);
}

// GB10: the memory row and the chart's series say the figures are the system's.
TEST(HtmlReport, AnIntegratedGpusMemoryIsNamedTheSystems) {
  RunSummaryInput in = sample_run(true);
  EXPECT_EQ(render(in).find("unified"), std::string::npos);
  for (metrics::ResourceSample& s : in.samples) s.gpu->unified = true;
  const std::string html = render(in);
  EXPECT_NE(html.find("<td>GPU memory (system memory, unified)</td>"), std::string::npos);
  EXPECT_NE(html.find("GPU memory used MB (system memory, unified)"), std::string::npos);
}

TEST(HtmlReport, NoFailuresStillHasTheTable) {
  RunSummaryInput in = sample_run(false);
  for (FileOutcome& f : in.files) f.status = "ok";
  const std::string html = render(in);
  EXPECT_NE(html.find("id=\"failures-table\""), std::string::npos);
  EXPECT_NE(html.find("No failures."), std::string::npos);
}

// A file transcribed from only part of its recording is listed beside the failures, with
// its warning, and counted in the summary and the JSON report.
TEST(HtmlReport, AFileDecodedInPartIsListedWithItsWarning) {
  RunSummaryInput in = sample_run(false);
  for (FileOutcome& f : in.files) f.status = "ok";
  in.files[1].warnings = {"decoding stopped at 5.4 s of the 11.0 s the container declares <x>"};
  const nlohmann::ordered_json rep = performance_report(in);
  EXPECT_EQ(rep["decoded_in_part"], 1);
  EXPECT_EQ(rep["files"][1]["warnings"][0], in.files[1].warnings[0]);
  EXPECT_FALSE(rep["files"][0].contains("warnings"));
  const std::string html = render_html(in, rep);
  EXPECT_EQ(count(html, "<tr class=\"partial\">"), 1u);
  EXPECT_NE(html.find("of the 11.0 s the container declares &lt;x&gt;"), std::string::npos);
  EXPECT_NE(html.find("and files decoded in part (1)"), std::string::npos);
  EXPECT_EQ(html.find("No failures."), std::string::npos);
}

TEST(HtmlReport, ThousandsOfFilesAreCapped) {
  const RunSummaryInput in = sample_run(false, 5000, 400);
  const std::string html = render(in);
  EXPECT_EQ(count(html, "class=\"bar\""), 40u);
  EXPECT_NE(html.find("40 slowest of 4999"), std::string::npos);  // one of them is resumed
  EXPECT_LT(html.size(), 2u << 20);                               // the page stays small
}

// The caption's figures leave resumed files out; an even count takes the upper median.
TEST(HtmlReport, PerFileCaptionGivesMedianMeanAndMax) {
  RunSummaryInput in = sample_run(false);
  in.files.resize(5);
  const double seconds[] = {4, 1, 100, 3, 2};
  for (size_t i = 0; i < in.files.size(); ++i) {
    in.files[i].processing_s = seconds[i];
    in.files[i].status = i == 2 ? "resumed" : "ok";
  }
  EXPECT_NE(render(in).find("4 files processed by this run; median 3 s, mean 2.5 s, max 4 s."),
            std::string::npos);
  in.files[2].status = "failed";
  EXPECT_NE(render(in).find("5 files processed by this run; median 3 s, mean 22 s, max 100 s."),
            std::string::npos);
}

TEST(HtmlReport, LongRunsUseMinutes) {
  RunSummaryInput in = sample_run(false);
  in.wall_s = 4000;
  EXPECT_NE(render(in).find("time since start (min)"), std::string::npos);
  EXPECT_NE(render(sample_run(false)).find("time since start (s)"), std::string::npos);
}

}  // namespace
}  // namespace voiceman::report
