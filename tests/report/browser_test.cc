// report.html in a real browser: Debian's headless chromium renders it, the rendered DOM
// holds the four SVG charts and the failures table, and a screenshot is saved under the
// build folder (VOICEMAN_BINARY_DIR/report-screenshot.png) for people to look at.
// chromium is installed by scripts/install-deps.sh, so its absence is a failure.
#include <gtest/gtest.h>

#include <filesystem>

#include "report/report_fixture.h"
#include "support/corpus.h"
#include "support/paths.h"
#include "voiceman/report/performance_report.h"

namespace voiceman::report {
namespace {

namespace fs = std::filesystem;
using voiceman::report::testing::count;
using voiceman::testing::quote;
using voiceman::testing::read_bytes;
using voiceman::testing::run_shell;

// One headless chromium run with its own throw-away profile; stdout goes to `out`.
int chromium(const fs::path& scratch, const std::string& name, const std::string& args,
             const fs::path& out) {
  const fs::path profile = scratch / ("profile-" + name);
  fs::create_directories(profile);
  const std::string cmd =
      "timeout 180 chromium --headless --no-sandbox --disable-gpu "
      "--no-first-run --disable-extensions --disable-dev-shm-usage "
      "--hide-scrollbars --user-data-dir=" +
      quote(profile.string()) + " " + args + " > " + quote(out.string()) + " 2> " +
      quote((scratch / (name + ".log")).string());
  const int rc = run_shell(cmd);
  fs::remove_all(profile);
  return rc;
}

uint32_t be32(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

TEST(Browser, ChromiumRendersTheReport) {
  ASSERT_EQ(run_shell("command -v chromium > /dev/null"), 0)
      << "chromium is missing: run scripts/install-deps.sh (it installs Debian's chromium)";

  const fs::path scratch = voiceman::testing::scratch_dir("report_browser");
  const RunSummaryInput in = testing::sample_run(true);
  const fs::path html = scratch / "report.html";
  voiceman::testing::write_bytes(html, render_html(in, performance_report(in)));
  const std::string url = "file://" + html.string();

  const fs::path shot = fs::path(VOICEMAN_BINARY_DIR) / "report-screenshot.png";
  fs::remove(shot);
  const int shot_rc =
      chromium(scratch, "screenshot",
               "--window-size=1280,2400 --screenshot=" + quote(shot.string()) + " " + quote(url),
               scratch / "screenshot.out");
  ASSERT_EQ(shot_rc, 0) << read_bytes(scratch / "screenshot.log");
  ASSERT_TRUE(fs::exists(shot)) << read_bytes(scratch / "screenshot.log");
  const std::string png = read_bytes(shot);
  ASSERT_GT(png.size(), 24u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(be32(png, 16), 1280u);  // IHDR width
  EXPECT_EQ(be32(png, 20), 2400u);  // IHDR height
  EXPECT_GT(png.size(), 40000u) << "a blank page compresses to a few KB";

  const fs::path dom_file = scratch / "dom.html";
  ASSERT_EQ(chromium(scratch, "dom", "--dump-dom " + quote(url), dom_file), 0)
      << read_bytes(scratch / "dom.log");
  const std::string dom = read_bytes(dom_file);
  ASSERT_FALSE(dom.empty()) << read_bytes(scratch / "dom.log");
  for (const char* id : {"chart-throughput", "chart-memory", "chart-batch-size", "chart-files"})
    EXPECT_EQ(count(dom, std::string("<svg class=\"chart\" id=\"") + id + "\""), 1u) << id;
  EXPECT_GE(count(dom, "<path "), 4u);              // throughput, RAM, GPU memory, batch size
  EXPECT_EQ(count(dom, "<g class=\"bar\">"), 23u);  // 24 files, one resumed
  EXPECT_NE(dom.find("<table class=\"failures\" id=\"failures-table\">"), std::string::npos);
  EXPECT_EQ(count(dom, "<tr class=\"failure\">"), 2u);
  // The hostile name stayed text: no element was injected into the page.
  EXPECT_EQ(dom.find("<script"), std::string::npos);
  EXPECT_NE(dom.find("&lt;script&gt;alert(\"x\")&lt;/script&gt; &amp; 'q' 통화.m4a"),
            std::string::npos);
}

}  // namespace
}  // namespace voiceman::report
