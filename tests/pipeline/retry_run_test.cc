// The retry path on the real pipeline, driven by injected faults: log lines, backoff,
// attempt counts, and the permanent/transient classes in failed_files.json.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>

#include "run_fixture.h"

namespace voiceman::pipeline::test {
namespace {

using voiceman::testing::read_bytes;

class RetryRun : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!engine_available()) GTEST_SKIP() << "needs models/tiny.en and the ffmpeg CLI";
    base_ = voiceman::testing::scratch_dir(
        std::string("retry_") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(base_ / "in");
    fs::copy_file(voiceman::testing::shared_data_dir() / "lhotse" / "common_voice_en_651325.mp3",
                  base_ / "in" / "call 1.mp3");
  }
  RunOptions options(const std::string& fault) {
    RunOptions o = fast_options({(base_ / "in").string()}, base_ / "out");
    o.fault = parse_fault_spec(fault);
    return o;
  }
  nlohmann::json failed() {
    return nlohmann::json::parse(read_bytes(base_ / "out/failed_files.json"));
  }
  fs::path base_;
};

TEST_F(RetryRun, TransientFaultIsRetriedWithBackoff) {
  LogCapture log;
  const auto t0 = std::chrono::steady_clock::now();
  const RunReport r = run_quietly(options("transient:call*.mp3:2"));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.ok, 1);
  EXPECT_TRUE(log.contains("call 1.mp3: transient error at decode"));
  EXPECT_TRUE(log.contains("Retrying call 1.mp3 (attempt 1/3)"));
  EXPECT_TRUE(log.contains("Retrying call 1.mp3 (attempt 2/3)"));
  EXPECT_FALSE(log.contains("(attempt 3/3)"));
  EXPECT_GE(seconds, 0.2 + 0.4);  // both backoff delays were waited
  const manifest::Manifest m = manifest::read_manifest(base_ / "out");
  EXPECT_EQ(m.inputs.at(0).attempts, 3);
  EXPECT_EQ(m.inputs.at(0).status, manifest::InputStatus::ok);
  EXPECT_TRUE(failed().empty());
}

// A retry reads the original again; changed since the first attempt read it, it is an
// integrity violation with both digests, not a fresh start from the new one.
TEST_F(RetryRun, AnOriginalChangedBetweenAttemptsIsAnIntegrityViolation) {
  const fs::path original = base_ / "in" / "call 1.mp3";
  const uint64_t size = fs::file_size(original);
  bool changed = false;
  // The warning is logged when the first attempt fails, before the retry is queued.
  log::Sink previous = log::set_sink(
      [&](log::Level, std::string_view m) {
        if (!changed && m.find("transient error at decode") != std::string_view::npos) {
          std::ofstream(original, std::ios::app) << "x";
          changed = true;
        }
      },
      log::Level::info);
  const RunReport r = run_quietly(options("transient:call*.mp3:1"));
  log::set_sink(std::move(previous));
  ASSERT_TRUE(changed);
  EXPECT_EQ(r.integrity_violations, 1);
  const manifest::Manifest m = manifest::read_manifest(base_ / "out");
  const manifest::InputRecord& rec = m.inputs.at(0);
  EXPECT_EQ(rec.status, manifest::InputStatus::integrity_violation);
  EXPECT_EQ(rec.before->size, size);  // the first attempt's digest
  EXPECT_EQ(rec.after->size, size + 1);
  EXPECT_NE(rec.error.find("changed between attempts"), std::string::npos) << rec.error;
  EXPECT_TRUE(rec.outputs.empty());
  EXPECT_EQ(failed().at(0)["error_class"], "integrity");
}

TEST_F(RetryRun, TransientFaultAtWriteLeavesNoPartialOutput) {
  LogCapture log;
  const RunReport r = run_quietly(options("transient:*:1:write"));
  EXPECT_EQ(r.ok, 1);
  EXPECT_TRUE(log.contains("Retrying call 1.mp3 (attempt 1/3)"));
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(base_ / "out/transcripts"))
    files.push_back(e.path().filename().string());
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"call 1.mp3.json", "call 1.mp3.srt", "call 1.mp3.txt",
                                             "call 1.mp3.vtt"}));
}

TEST_F(RetryRun, FailureHalfwayThroughWritingRemovesWhatWasWritten) {
  const RunReport r = run_quietly(options("permanent:*:1:write"));
  EXPECT_EQ(r.failed, 1);
  EXPECT_EQ(failed().at(0)["stage"], "write");
  EXPECT_TRUE(fs::is_empty(base_ / "out/transcripts"));
}

// A re-run that fails while writing keeps the earlier run's transcripts whole: none of
// them is replaced until every new one is written.
TEST_F(RetryRun, AFailedRewriteKeepsTheEarlierTranscripts) {
  ASSERT_EQ(run_quietly(fast_options({(base_ / "in").string()}, base_ / "out")).ok, 1);
  std::map<std::string, std::string> before;
  for (const auto& e : fs::recursive_directory_iterator(base_ / "out/transcripts"))
    before[e.path().filename().string()] = read_bytes(e.path());
  ASSERT_EQ(before.size(), 4u);
  RunOptions o = options("permanent:*:1:write");
  o.resume = false;
  EXPECT_EQ(run_quietly(o).failed, 1);
  std::map<std::string, std::string> after;
  for (const auto& e : fs::recursive_directory_iterator(base_ / "out/transcripts"))
    after[e.path().filename().string()] = read_bytes(e.path());
  EXPECT_EQ(after, before);
}

TEST_F(RetryRun, PermanentFaultIsRecordedAfterOneAttempt) {
  LogCapture log;
  const RunReport r = run_quietly(options("permanent:*.mp3:1"));
  EXPECT_EQ(r.failed, 1);
  EXPECT_FALSE(log.contains("Retrying"));
  EXPECT_TRUE(log.contains("(permanent error, 1 attempt)"));
  const auto f = failed();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0]["error_class"], "permanent");
  EXPECT_EQ(f[0]["attempts"], 1);
  EXPECT_EQ(f[0]["stage"], "decode");
  EXPECT_EQ(f[0]["sha256"].get<std::string>().size(), 64u);
}

TEST_F(RetryRun, TransientFaultBeyondMaxRetriesFails) {
  LogCapture log;
  RunOptions o = options("transient:*:9:transcribe");
  o.max_retries = 2;
  o.retry_backoff_s = {0.05};
  const RunReport r = run_quietly(o);
  EXPECT_EQ(r.failed, 1);
  EXPECT_TRUE(log.contains("Retrying call 1.mp3 (attempt 2/2)"));
  const auto f = failed();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0]["error_class"], "transient");
  EXPECT_EQ(f[0]["attempts"], 3);
  EXPECT_EQ(f[0]["stage"], "transcribe");
  EXPECT_NE(f[0]["error"].get<std::string>().find("call 1.mp3"), std::string::npos);
}

}  // namespace
}  // namespace voiceman::pipeline::test
