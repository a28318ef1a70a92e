// metrics.jsonl writer: one complete line per write, append vs truncate, concurrent
// writers never interleave, errors name the file.
#include "voiceman/writers/metrics_log.h"

#include <gtest/gtest.h>

#include <sstream>
#include <thread>

#include "support/corpus.h"
#include "support/paths.h"
#include "voiceman/core/errors.h"

namespace voiceman::writers {
namespace {

namespace fs = std::filesystem;
using voiceman::testing::read_bytes;

std::vector<std::string> lines_of(const fs::path& file) {
  std::istringstream in(read_bytes(file));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(MetricsLog, WritesOneCompactLinePerCall) {
  const fs::path file = voiceman::testing::scratch_dir("metrics_log_lines") / "sub" / "m.jsonl";
  {
    MetricsLog log(file, false);
    EXPECT_EQ(log.path(), file);
    log.write({{"batch_id", 0}, {"note", "multi\nline"}, {"gpu_mem_used_mb", nullptr}});
    log.write({{"batch_id", 1}, {"device", "cpu"}});
    // Written before the log is closed: each line is on disk as soon as write returns.
    EXPECT_EQ(lines_of(file).size(), 2u);
  }
  const std::string text = read_bytes(file);
  EXPECT_EQ(text,
            "{\"batch_id\":0,\"note\":\"multi\\nline\",\"gpu_mem_used_mb\":null}\n"
            "{\"batch_id\":1,\"device\":\"cpu\"}\n");
}

TEST(MetricsLog, AppendKeepsAndTruncateClears) {
  const fs::path file = voiceman::testing::scratch_dir("metrics_log_append") / "m.jsonl";
  { MetricsLog(file, false).write({{"run", 1}}); }
  { MetricsLog(file, true).write({{"run", 2}}); }
  EXPECT_EQ(lines_of(file), (std::vector<std::string>{"{\"run\":1}", "{\"run\":2}"}));
  { MetricsLog(file, false).write({{"run", 3}}); }
  EXPECT_EQ(lines_of(file), (std::vector<std::string>{"{\"run\":3}"}));
}

// A crash can cut the last line short; appending after it would spoil the next line too.
TEST(MetricsLog, AppendDropsALineACrashCutShortAndCountsTheRest) {
  const fs::path file = voiceman::testing::scratch_dir("metrics_log_cut") / "m.jsonl";
  voiceman::testing::write_bytes(file, "{\"run\":1}\n{\"run\":1,\"i\":2}\n{\"run\":1,\"i");
  MetricsLog log(file, true);
  EXPECT_EQ(log.lines_kept(), 2);
  log.write({{"run", 2}});
  EXPECT_EQ(lines_of(file),
            (std::vector<std::string>{"{\"run\":1}", "{\"run\":1,\"i\":2}", "{\"run\":2}"}));
  EXPECT_EQ(MetricsLog(file, false).lines_kept(), 0);
}

TEST(MetricsLog, ConcurrentWritersNeverInterleave) {
  const fs::path file = voiceman::testing::scratch_dir("metrics_log_threads") / "m.jsonl";
  {
    MetricsLog log(file, false);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&log, t] {
        for (int i = 0; i < 25; ++i)
          log.write({{"thread", t}, {"i", i}, {"pad", std::string(3000, 'a' + t)}});
      });
    }
    for (auto& th : threads) th.join();
  }
  const std::vector<std::string> lines = lines_of(file);
  ASSERT_EQ(lines.size(), 100u);
  int per_thread[4] = {0, 0, 0, 0};
  for (const std::string& line : lines) {
    const nlohmann::json j = nlohmann::json::parse(line);  // throws on an interleaved line
    const int t = j["thread"];
    EXPECT_EQ(j["pad"], std::string(3000, 'a' + t));
    ++per_thread[t];
  }
  for (int n : per_thread) EXPECT_EQ(n, 25);
}

TEST(MetricsLog, InvalidUtf8IsReplacedNotThrown) {
  const fs::path file = voiceman::testing::scratch_dir("metrics_log_utf8") / "m.jsonl";
  MetricsLog log(file, false);
  log.write({{"path", std::string("bad\xff name")}});
  EXPECT_EQ(lines_of(file), std::vector<std::string>{"{\"path\":\"bad\xEF\xBF\xBD name\"}"});
}

TEST(MetricsLog, UnopenableFileIsAnIoErrorNamingIt) {
  const fs::path dir = voiceman::testing::scratch_dir("metrics_log_bad");
  voiceman::testing::write_bytes(dir / "file", "x");
  try {
    MetricsLog log(dir / "file" / "m.jsonl", false);
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("m.jsonl"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace voiceman::writers
