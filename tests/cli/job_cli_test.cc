// `voiceman run --redis --job` as users run it: workers sharing one folder through a real
// Redis server, each recording transcribed by exactly one of them, and the recordings of
// a worker killed while holding them taken over by another.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "cli_process.h"
#include "support/paths.h"
#include "support/redis_server.h"
#include "voiceman/distribute/job_board.h"
#include "voiceman/manifest/manifest.h"

namespace voiceman::cli::test {
namespace {

namespace fs = std::filesystem;
using voiceman::testing::quote;
using voiceman::testing::read_bytes;

class JobCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(voiceman::testing::model_dir("tiny.en") / "model.bin") ||
        !voiceman::testing::have_ffmpeg_cli())
      GTEST_SKIP() << "needs models/tiny.en and the ffmpeg CLI";
    url_ = voiceman::testing::test_redis_url();
    if (url_.empty()) GTEST_SKIP() << "no redis-server installed and VOICEMAN_TEST_REDIS unset";
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    job_ = voiceman::testing::unique_job_name(name);
    base_ = voiceman::testing::scratch_dir("cli_job_" + name);
    for (const auto& clip : voiceman::testing::make_good_clips(base_ / "in"))
      good_.insert(clip.relative_path);
    voiceman::testing::write_bytes(base_ / "in" / "empty.wav", "");
  }

  std::vector<std::string> args(const fs::path& out) const {
    return {"run",         (base_ / "in").string(),
            "-o",          out.string(),
            "--redis",     url_,
            "--job",       job_,
            "--lease",     "2",
            "--beam-size", "1",
            "--threads",   "1",
            "--model",     voiceman::testing::model_dir("tiny.en").string()};
  }
  static std::string shell(const std::vector<std::string>& argv) {
    std::string s;
    for (const std::string& a : argv) {
      if (!s.empty()) s += ' ';
      s += quote(a);
    }
    return s;
  }
  static std::map<std::string, nlohmann::json> inputs(const fs::path& out) {
    const auto m = nlohmann::json::parse(read_bytes(out / "manifest.json"));
    EXPECT_EQ(m["status"], "complete");
    std::map<std::string, nlohmann::json> by_path;
    for (const auto& in : m["inputs"]) by_path[in["relative_path"].get<std::string>()] = in;
    return by_path;
  }
  // `voiceman job --json` for this job.
  nlohmann::json job_status() const {
    std::string out;
    EXPECT_EQ(voiceman("job --json --redis " + quote(url_) + " --job " + quote(job_), &out), 0)
        << out;
    return nlohmann::json::parse(out.substr(std::min(out.find('{'), out.size())), nullptr, false);
  }
  // The claims of this job in Redis (recordings some worker holds right now).
  int claims_held_by(const std::string& worker) const {
    distribute::RedisClient c(distribute::parse_redis_url(url_), 5);
    const auto keys = c.command({"KEYS", distribute::JobBoard::claim_key(job_, "*")}).elements;
    int n = 0;
    for (const auto& k : keys) n += c.command({"GET", k.str}).str == worker;
    return n;
  }

  std::string url_, job_;
  fs::path base_;
  std::set<std::string> good_;
};

TEST_F(JobCli, TwoWorkersShareAFolderAndEachRecordingIsDoneOnce) {
  const fs::path out_a = base_ / "out-a", out_b = base_ / "out-b";
  const pid_t a = spawn_voiceman(args(out_a), base_ / "a.log");
  const pid_t b = spawn_voiceman(args(out_b), base_ / "b.log");
  const int rc_a = wait_exit(a), rc_b = wait_exit(b);
  const std::string log_a = read_bytes(base_ / "a.log"), log_b = read_bytes(base_ / "b.log");
  const auto in_a = inputs(out_a), in_b = inputs(out_b);
  ASSERT_EQ(in_a.size(), good_.size() + 1) << log_a;
  ASSERT_EQ(in_b.size(), good_.size() + 1) << log_b;
  const std::string host = manifest::current_host().hostname;
  int failed_a = 0, failed_b = 0;
  for (const auto& [rel, ra] : in_a) {
    const nlohmann::json& rb = in_b.at(rel);
    // Exactly one worker processed it; the other names that worker and its outcome.
    const bool by_a = ra["status"] != "delegated";
    const nlohmann::json& done = by_a ? ra : rb;
    const nlohmann::json& other = by_a ? rb : ra;
    EXPECT_EQ(other["status"], "delegated") << rel;
    EXPECT_EQ(other["worker"], host + ":" + (by_a ? out_a : out_b).string()) << rel;
    EXPECT_EQ(other["worker_status"], done["status"]) << rel;
    EXPECT_TRUE(other["outputs"].empty()) << rel;
    EXPECT_EQ(done["status"], good_.count(rel) ? "ok" : "failed") << rel;
    (by_a ? failed_a : failed_b) += done["status"] == "failed";
    const fs::path txt = (by_a ? out_a : out_b) / "transcripts" / (rel + ".txt");
    EXPECT_EQ(fs::exists(txt), good_.count(rel) == 1) << txt;
    EXPECT_FALSE(fs::exists((by_a ? out_b : out_a) / "transcripts" / (rel + ".txt"))) << rel;
  }
  // Each worker's exit code is about its own share.
  EXPECT_EQ(rc_a, failed_a ? 1 : 0) << log_a;
  EXPECT_EQ(rc_b, failed_b ? 1 : 0) << log_b;
  std::string log;
  EXPECT_EQ(voiceman("verify " + quote(out_a.string()), &log), 0) << log;
  EXPECT_EQ(voiceman("verify " + quote(out_b.string()), &log), 0) << log;
  // Together: what each delegated is in the other with the same outcome.
  log.clear();
  EXPECT_EQ(voiceman("verify " + quote(out_a.string()) + " " + quote(out_b.string()), &log), 0)
      << log;
  EXPECT_NE(log.find(std::to_string(good_.size() + 1) + " delegated matched, 0 differences"),
            std::string::npos)
      << log;

  // `voiceman job` adds the workers' shares up: all finished, none held or left.
  const nlohmann::json st = job_status();
  EXPECT_EQ(st["recordings"], good_.size() + 1) << st.dump();
  EXPECT_EQ(st["finished"], good_.size() + 1) << st.dump();
  EXPECT_EQ(st["finished_by_outcome"]["failed"], 1) << st.dump();
  EXPECT_EQ(st["in_progress"], 0) << st.dump();
  EXPECT_EQ(st["not_started"], 0) << st.dump();
  std::map<std::string, int> share;
  for (const auto& [rel, ra] : in_a)
    ++share[ra["status"] == "delegated" ? ra["worker"].get<std::string>()
                                        : in_b.at(rel)["worker"].get<std::string>()];
  for (const auto& w : st["workers"]) {
    int finished = 0;
    for (const auto& [outcome, n] : w["finished"].items()) finished += n.get<int>();
    EXPECT_EQ(finished, share[w["worker"].get<std::string>()]) << st.dump();
  }
  log.clear();
  EXPECT_EQ(voiceman("job --redis " + quote(url_) + " --job " + quote(job_), &log), 0) << log;
  EXPECT_NE(log.find("finished     " + std::to_string(good_.size() + 1) + " (failed 1, ok " +
                     std::to_string(good_.size()) + ")"),
            std::string::npos)
      << log;
  log.clear();
  EXPECT_EQ(voiceman("job --redis " + quote(url_) + " --job never-run-" + job_, &log), 2) << log;
  EXPECT_NE(log.find("no job 'never-run-" + job_ + "'"), std::string::npos) << log;

  // A worker that would transcribe differently is refused before it reads anything.
  std::vector<std::string> other = args(base_ / "out-c");
  other.push_back("--no-word-timestamps");
  log.clear();
  EXPECT_EQ(voiceman(shell(other), &log), 2) << log;
  EXPECT_NE(log.find("other settings"), std::string::npos) << log;
}

TEST_F(JobCli, AKilledWorkersRecordingsAreTakenOver) {
  const fs::path out_a = base_ / "out-a", out_b = base_ / "out-b";
  const std::string worker_a = manifest::current_host().hostname + ":" + out_a.string();
  // A claims and decodes every recording, then stalls at transcription (a transient
  // fault retried after 10 minutes) while its heartbeat keeps the claims.
  std::vector<std::string> stalled = args(out_a);
  stalled.insert(stalled.end(), {"--max-retries", "9", "--retry-backoff", "600"});
  ::setenv("VOICEMAN_INJECT_FAULT", "transient:*:100:transcribe", 1);
  const pid_t a = spawn_voiceman(stalled, base_ / "a.log");
  ::unsetenv("VOICEMAN_INJECT_FAULT");
  const int good = static_cast<int>(good_.size());
  ASSERT_TRUE(wait_until([&] { return claims_held_by(worker_a) == good; }, 120))
      << read_bytes(base_ / "a.log");
  std::this_thread::sleep_for(std::chrono::seconds(3));  // past the 2 s lease
  EXPECT_EQ(claims_held_by(worker_a), good);
  // While A stalls: it holds every good recording and has failed the empty file.
  nlohmann::json st = job_status();
  EXPECT_EQ(st["finished"], 1) << st.dump();
  EXPECT_EQ(st["in_progress"], good) << st.dump();
  EXPECT_EQ(st["not_started"], 0) << st.dump();
  ASSERT_EQ(st["workers"].size(), 1u) << st.dump();
  EXPECT_EQ(st["workers"][0]["worker"], worker_a);
  EXPECT_EQ(st["workers"][0]["holding"], good);
  EXPECT_EQ(st["workers"][0]["finished"]["failed"], 1);
  EXPECT_GT(st["workers"][0]["lease_left_s"].get<double>(), 0) << "renewed by A's heartbeat";

  // B finds them held (debug log), then A dies without handing them back.
  std::vector<std::string> helper = args(out_b);
  helper.push_back("-v");
  const pid_t b = spawn_voiceman(helper, base_ / "b.log");
  ASSERT_TRUE(wait_until(
      [&] {
        const std::string log = read_bytes(base_ / "b.log");
        int held = 0;
        for (size_t at = log.find("held by " + worker_a); at != std::string::npos;
             at = log.find("held by " + worker_a, at + 1))
          ++held;
        return held == good;
      },
      120))
      << read_bytes(base_ / "b.log");
  ::kill(a, SIGKILL);
  EXPECT_EQ(wait_exit(a), 128 + SIGKILL);
  EXPECT_EQ(wait_exit(b), 0) << read_bytes(base_ / "b.log");

  const std::string log_b = read_bytes(base_ / "b.log");
  for (const std::string& rel : good_)
    EXPECT_NE(log_b.find(rel + ": the worker that held it stopped renewing its claim"),
              std::string::npos)
        << rel << "\n"
        << log_b;
  const auto in_b = inputs(out_b);
  for (const std::string& rel : good_) EXPECT_EQ(in_b.at(rel)["status"], "ok") << rel;
  // A failed the empty file before it stalled; B records that and does not retry it.
  EXPECT_EQ(in_b.at("empty.wav")["status"], "delegated");
  EXPECT_EQ(in_b.at("empty.wav")["worker"], worker_a);
  EXPECT_EQ(in_b.at("empty.wav")["worker_status"], "failed");
  std::string log;
  EXPECT_EQ(voiceman("verify " + quote(out_b.string()), &log), 0) << log;
  // A's claims lapsed and B finished them: nothing is left in progress.
  st = job_status();
  EXPECT_EQ(st["finished"], good + 1) << st.dump();
  EXPECT_EQ(st["in_progress"], 0) << st.dump();
  EXPECT_EQ(st["finished_by_outcome"]["ok"], good) << st.dump();
}

TEST_F(JobCli, AResumedWorkerKeepsWhatItFinishedBeforeItDied) {
  const fs::path out = base_ / "out";
  std::string log;
  ASSERT_EQ(voiceman(shell(args(out)), &log), 1) << log;  // empty.wav failed
  // As if this worker died between its journal and the job, and another worker then
  // transcribed the recording as well.
  const std::string rel = *good_.begin();
  distribute::RedisClient c(distribute::parse_redis_url(url_), 5);
  c.command({"HSET", distribute::JobBoard::done_key(job_), rel,
             R"({"worker":"other:/out","status":"ok","sha256":""})"});
  log.clear();
  ASSERT_EQ(voiceman(shell(args(out)), &log), 1) << log;
  EXPECT_NE(log.find("4 ok (4 already done)"), std::string::npos) << log;
  const auto in = inputs(out);
  EXPECT_EQ(in.at(rel)["status"], "ok");  // its outputs here stay listed
  log.clear();
  EXPECT_EQ(voiceman("verify " + quote(out.string()), &log), 0) << log;
}

}  // namespace
}  // namespace voiceman::cli::test
