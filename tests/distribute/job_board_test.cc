// The job board against a real Redis server: claims are exclusive, leases lapse when no
// heartbeat renews them, a stopped worker hands its claims back, the first finisher's
// record stays, and workers that see other recordings or settings are refused.
#include "voiceman/distribute/job_board.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "support/redis_server.h"
#include "voiceman/core/errors.h"
#include "voiceman/distribute/job_status.h"

namespace voiceman::distribute {
namespace {

using State = JobEntry::State;
constexpr int kRecordings = 6;  // what the workers of these tests say they share

TEST(RedisUrl, ParsesTcpAndUnixAddresses) {
  RedisAddress a = parse_redis_url("redis://cache.local:6380/2");
  EXPECT_EQ(a.host, "cache.local");
  EXPECT_EQ(a.port, 6380);
  EXPECT_EQ(a.db, 2);
  a = parse_redis_url("redis://:s3cret@10.0.0.5");
  EXPECT_EQ(a.host, "10.0.0.5");
  EXPECT_EQ(a.port, 6379);
  EXPECT_EQ(a.password, "s3cret");
  EXPECT_EQ(a.display, "redis://:***@10.0.0.5");
  a = parse_redis_url("redis://[::1]:7000");
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 7000);
  a = parse_redis_url("unix:///run/redis.sock?db=3");
  EXPECT_EQ(a.socket_path, "/run/redis.sock");
  EXPECT_EQ(a.db, 3);
  EXPECT_TRUE(a.password.empty());
  // The password ends at the "@/" that starts the path; the path may hold '@' too.
  a = parse_redis_url("unix://:p@ss:w/rd@/run/r@dis.sock?db=2");
  EXPECT_EQ(a.password, "p@ss:w/rd");
  EXPECT_EQ(a.socket_path, "/run/r@dis.sock");
  EXPECT_EQ(a.db, 2);
  EXPECT_EQ(a.display, "unix://:***@/run/r@dis.sock?db=2");
  // Percent escapes are decoded, as redis-cli -u does; a stray '%' is kept.
  a = parse_redis_url("redis://:p%40ss%3aw%2Frd%25@host");
  EXPECT_EQ(a.password, "p@ss:w/rd%");
  EXPECT_EQ(a.host, "host");
  a = parse_redis_url("unix://:50%%off%4@/run/redis.sock");
  EXPECT_EQ(a.password, "50%%off%4");
  a = parse_redis_url("unix:///run/r@dis.sock");
  EXPECT_EQ(a.socket_path, "/run/r@dis.sock");
  EXPECT_TRUE(a.password.empty());
  EXPECT_EQ(a.display, "unix:///run/r@dis.sock");
  for (const char* bad : {"http://host", "redis://", "redis://host:99999", "redis://host:x",
                          "redis://user:pw@host", "unix://relative.sock", "redis://host/db",
                          "unix://user:pw@/run/redis.sock", "unix://:pw/run/redis.sock"})
    EXPECT_THROW(parse_redis_url(bad), ConfigError) << bad;
}

TEST(RedisUrl, RedactsThePassword) {
  EXPECT_EQ(redact_redis_url("redis://:pw@h:1/0"), "redis://:***@h:1/0");
  EXPECT_EQ(redact_redis_url("redis://h:1"), "redis://h:1");
  // Malformed addresses are refused without showing what may be a password.
  for (const char* bad :
       {"unix://:S3CR3T@run/redis.sock", "unix://:S3CR3T/run/redis.sock", "unix://S3CR3T",
        "unix://:S3/CR3T@run/redis.sock", "unix://me:S3CR3T@/run/redis.sock",
        "redis://me:S3CR3T@host", "redis://:S3CR3T@host:x"}) {
    try {
      parse_redis_url(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const ConfigError& e) {
      EXPECT_EQ(std::string(e.what()).find("CR3T"), std::string::npos) << e.what();
    }
  }
}

TEST(JobOptions, RedisAndJobGoTogether) {
  JobOptions o;
  validate(o);  // no job at all
  o.redis_url = "redis://localhost";
  EXPECT_THROW(validate(o), ConfigError);
  o.name = "calls-2024";
  validate(o);
  o.name = "bad name";
  EXPECT_THROW(validate(o), ConfigError);
  o.name = "ok";
  o.lease_s = 0.5;
  EXPECT_THROW(validate(o), ConfigError);
}

class JobBoardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = voiceman::testing::test_redis_url();
    if (url_.empty()) GTEST_SKIP() << "no redis-server installed and VOICEMAN_TEST_REDIS unset";
    job_ = voiceman::testing::unique_job_name(
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  std::unique_ptr<JobBoard> board(const std::string& worker, double lease_s = 60,
                                  const std::string& inputs = "inputs",
                                  const std::string& settings = "settings") {
    return std::make_unique<JobBoard>(JobOptions{url_, job_, lease_s}, worker, inputs, settings,
                                      kRecordings);
  }
  // Sets a claim the way a worker that then died would leave it.
  void plant_claim(const std::string& key, const std::string& worker, int lease_ms) {
    RedisClient c(parse_redis_url(url_), 5);
    c.command({"SET", JobBoard::claim_key(job_, key), worker, "PX", std::to_string(lease_ms)});
  }
  std::string url_;
  std::string job_;
};

TEST_F(JobBoardTest, AClaimIsExclusiveUntilItsWorkerFinishes) {
  auto a = board("host-a:/out");
  auto b = board("host-b:/out");
  EXPECT_EQ(a->claim("x/1.m4a").state, State::claimed);
  EXPECT_EQ(a->claim("x/1.m4a").state, State::claimed);  // its own claim again
  JobEntry e = b->claim("x/1.m4a");
  EXPECT_EQ(e.state, State::held);
  EXPECT_EQ(e.worker, "host-a:/out");
  EXPECT_EQ(b->peek("x/1.m4a").state, State::held);
  EXPECT_EQ(b->claim("x/2.m4a").state, State::claimed);  // others are free

  e = a->finish("x/1.m4a", "ok", "abc");
  EXPECT_EQ(e.state, State::done);
  EXPECT_EQ(e.worker, "host-a:/out");
  e = b->claim("x/1.m4a");
  EXPECT_EQ(e.state, State::done);
  EXPECT_EQ(e.worker, "host-a:/out");
  EXPECT_EQ(e.status, "ok");
  EXPECT_EQ(e.sha256, "abc");
  // A's own finished recording: its journal decides (resume), so the board says claimed.
  EXPECT_EQ(a->claim("x/1.m4a").state, State::claimed);
}

TEST_F(JobBoardTest, TheFirstFinisherKeepsTheRecord) {
  auto a = board("host-a:/out");
  auto b = board("host-b:/out");
  a->finish("f.wav", "failed", "");
  const JobEntry e = b->finish("f.wav", "ok", "123");
  EXPECT_EQ(e.worker, "host-a:/out");
  EXPECT_EQ(e.status, "failed");
}

TEST_F(JobBoardTest, AClaimNobodyRenewsLapses) {
  auto b = board("host-b:/out");
  plant_claim("gone.mp3", "dead:/out", 1500);
  EXPECT_EQ(b->claim("gone.mp3").state, State::held);
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  EXPECT_EQ(b->peek("gone.mp3").state, State::free);
  EXPECT_EQ(b->claim("gone.mp3").state, State::claimed);
}

TEST_F(JobBoardTest, TheHeartbeatKeepsClaimsPastTheirLease) {
  auto a = board("host-a:/out", 2.0);
  auto b = board("host-b:/out");
  ASSERT_EQ(a->claim("long.m4a").state, State::claimed);
  std::this_thread::sleep_for(std::chrono::milliseconds(5000));  // 2.5 leases
  const JobEntry e = b->claim("long.m4a");
  EXPECT_EQ(e.state, State::held);
  EXPECT_EQ(e.worker, "host-a:/out");
}

TEST_F(JobBoardTest, AStoppedWorkerHandsItsClaimsBack) {
  auto a = board("host-a:/out");
  auto b = board("host-b:/out");
  ASSERT_EQ(a->claim("1.ogg").state, State::claimed);
  ASSERT_EQ(a->claim("2.ogg").state, State::claimed);
  a->release("1.ogg");
  EXPECT_EQ(b->claim("1.ogg").state, State::claimed);
  EXPECT_EQ(b->claim("2.ogg").state, State::held);
  a.reset();  // 2.ogg goes back at once, not after the 60 s lease
  EXPECT_EQ(b->claim("2.ogg").state, State::claimed);
}

TEST_F(JobBoardTest, StatusCountsWhatIsFinishedHeldAndNotStarted) {
  auto a = board("host-a:/out");
  auto b = board("host-b:/out");
  ASSERT_EQ(a->claim("1.wav").state, State::claimed);
  ASSERT_EQ(a->claim("2.wav").state, State::claimed);
  ASSERT_EQ(b->claim("3.wav").state, State::claimed);
  a->finish("1.wav", "ok", "x");
  b->finish("3.wav", "failed", "");
  plant_claim("4.wav", "dead:/out", 20000);  // a worker that stopped renewing

  const JobStatus s = read_job_status(url_, job_);
  EXPECT_EQ(s.name, job_);
  EXPECT_FALSE(s.created_utc.empty());
  EXPECT_EQ(s.recordings, kRecordings);
  EXPECT_EQ(s.finished, (std::map<std::string, int>{{"failed", 1}, {"ok", 1}}));
  EXPECT_EQ(s.finished_total(), 2);
  EXPECT_EQ(s.in_progress, 2);  // 2.wav (A) and 4.wav (the dead worker)
  EXPECT_EQ(s.not_started(), kRecordings - 4);
  ASSERT_EQ(s.workers.size(), 3u);
  const WorkerProgress& wa = s.workers.at("host-a:/out");
  EXPECT_EQ(wa.finished, (std::map<std::string, int>{{"ok", 1}}));
  EXPECT_EQ(wa.holding, 1);
  EXPECT_GT(wa.lease_left_s, 50);  // a 60 s lease, just renewed
  EXPECT_LE(wa.lease_left_s, 60);
  const WorkerProgress& wb = s.workers.at("host-b:/out");
  EXPECT_EQ(wb.finished, (std::map<std::string, int>{{"failed", 1}}));
  EXPECT_EQ(wb.holding, 0);
  const WorkerProgress& dead = s.workers.at("dead:/out");
  EXPECT_TRUE(dead.finished.empty());
  EXPECT_EQ(dead.holding, 1);
  EXPECT_GT(dead.lease_left_s, 0);
  EXPECT_LE(dead.lease_left_s, 20);

  const auto j = to_json(s);
  EXPECT_EQ(j["recordings"], kRecordings);
  EXPECT_EQ(j["finished"], 2);
  EXPECT_EQ(j["in_progress"], 2);
  EXPECT_EQ(j["not_started"], kRecordings - 4);
  EXPECT_EQ(j["workers"].size(), 3u);
  EXPECT_EQ(j["workers"][1]["worker"], "host-a:/out");
  EXPECT_EQ(j["workers"][1]["finished"]["ok"], 1);

  // A finished claim no longer counts as in progress.
  a->finish("2.wav", "ok", "z");
  const JobStatus after = read_job_status(url_, job_);
  EXPECT_EQ(after.in_progress, 1);
  EXPECT_EQ(after.workers.at("host-a:/out").holding, 0);
  EXPECT_EQ(after.workers.at("host-a:/out").finished.at("ok"), 2);
}

TEST_F(JobBoardTest, AMalformedDoneRecordIsNamedByTheBoardAndTheStatus) {
  auto a = board("host-a:/out");
  RedisClient c(parse_redis_url(url_), 5);
  c.command({"HSET", JobBoard::done_key(job_), "bad.wav", "{\"worker\": 1}"});
  for (const auto& read : std::vector<std::function<void()>>{
           [&] { a->claim("bad.wav"); }, [&] { read_job_status(url_, job_); }}) {
    try {
      read();
      ADD_FAILURE() << "a malformed record was accepted";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("malformed done record for bad.wav"), std::string::npos) << what;
      EXPECT_NE(what.find(job_), std::string::npos) << what;
    }
  }
}

TEST_F(JobBoardTest, StatusOfAJobThatDoesNotExistNamesIt) {
  try {
    read_job_status(url_, job_ + "-never-started");
    FAIL() << "read a job that no worker joined";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(job_ + "-never-started"), std::string::npos) << e.what();
  }
}

TEST_F(JobBoardTest, WorkersMustSeeTheSameRecordingsAndSettings) {
  auto a = board("host-a:/out", 60, "inputs-1", "settings-1");
  EXPECT_THROW(board("host-b:/out", 60, "inputs-2", "settings-1"), ConfigError);
  EXPECT_THROW(board("host-b:/out", 60, "inputs-1", "settings-2"), ConfigError);
  EXPECT_NO_THROW(board("host-b:/out", 60, "inputs-1", "settings-1"));
}

// Over TCP, with a password and a database number, on a server of its own.
TEST(JobBoardTcp, AuthenticatesAndSelectsTheDatabase) {
  const int port = 20000 + ::getpid() % 20000;
  voiceman::testing::RedisServer server(port, "s3cret");
  if (server.url().empty()) GTEST_SKIP() << "no redis-server on 127.0.0.1:" << port;
  const std::string at = "127.0.0.1:" + std::to_string(port);
  JobBoard board(JobOptions{"redis://:s3cret@" + at + "/3", "tcp", 60}, "w", "i", "s", 1);
  EXPECT_EQ(board.claim("a.wav").state, State::claimed);
  RedisClient db3(parse_redis_url("redis://:s3cret@" + at + "/3"), 5);
  EXPECT_EQ(db3.command({"EXISTS", JobBoard::claim_key("tcp", "a.wav")}).integer, 1);
  RedisClient db0(parse_redis_url("redis://:s3cret@" + at), 5);
  EXPECT_EQ(db0.command({"EXISTS", JobBoard::claim_key("tcp", "a.wav")}).integer, 0);
  EXPECT_THROW(JobBoard(JobOptions{"redis://:wrong@" + at, "tcp", 60}, "w", "i", "s", 1),
               ConfigError);
  EXPECT_THROW(JobBoard(JobOptions{"redis://" + at, "tcp", 60}, "w", "i", "s", 1), ConfigError);
}

// Over a Unix socket, with a password (unix://:PASSWORD@/PATH), on a server of its own.
TEST(JobBoardUnix, AuthenticatesOverASocket) {
  voiceman::testing::RedisServer server(0, "s3cret");
  if (server.url().empty()) GTEST_SKIP() << "no redis-server";
  const std::string& url = server.url();
  ASSERT_TRUE(url.starts_with("unix://:s3cret@/")) << url;
  const std::string path = url.substr(std::string("unix://:s3cret@").size());
  JobBoard board(JobOptions{url + "?db=4", "sock", 60}, "w", "i", "s", 1);
  EXPECT_EQ(board.claim("a.wav").state, State::claimed);
  RedisClient db4(parse_redis_url(url + "?db=4"), 5);
  EXPECT_EQ(db4.command({"EXISTS", JobBoard::claim_key("sock", "a.wav")}).integer, 1);
  EXPECT_THROW(JobBoard(JobOptions{"unix://:wrong@" + path, "sock", 60}, "w", "i", "s", 1),
               ConfigError);
  EXPECT_THROW(JobBoard(JobOptions{"unix://" + path, "sock", 60}, "w", "i", "s", 1), ConfigError);
}

TEST(RedisErrors, AServersPassingStateIsToldFromAFaultyCommand) {
  EXPECT_TRUE(server_state_error("LOADING Redis is loading the dataset in memory"));
  EXPECT_TRUE(server_state_error("READONLY You can't write against a read only replica."));
  EXPECT_TRUE(server_state_error("OOM command not allowed when used memory > 'maxmemory'."));
  EXPECT_TRUE(server_state_error("BUSY Redis is busy running a script."));
  EXPECT_TRUE(server_state_error("MASTERDOWN Link with MASTER is down"));
  EXPECT_FALSE(server_state_error("ERR unknown command 'FOO'"));
  EXPECT_FALSE(server_state_error("WRONGTYPE Operation against a key holding the wrong kind"));
  EXPECT_FALSE(server_state_error("NOAUTH Authentication required."));
  EXPECT_FALSE(server_state_error("BUSYKEY Target key name already exists."));
  EXPECT_FALSE(server_state_error(""));
  // Redis 6 wraps an error raised inside a script.
  EXPECT_TRUE(server_state_error(
      "ERR Error running script (call to f_3c1d): @user_script:2: @user_script: 2: -READONLY "
      "You can't write against a read only replica."));
  EXPECT_FALSE(server_state_error(
      "ERR Error running script (call to f_3c1d): @user_script:2: -WRONGTYPE Operation"));
}

// A server made a replica (as after a failover) refuses writes for now: a claim then fails
// as a connection failure does, to be retried, not as a fault of the recording.
TEST(JobBoardReplica, AServerThatCannotWriteForNowIsATransientError) {
  voiceman::testing::RedisServer server;
  if (server.url().empty()) GTEST_SKIP() << "no redis-server";
  JobBoard board(JobOptions{server.url(), "replica", 60}, "w", "i", "s", 1);
  RedisClient admin(parse_redis_url(server.url()), 5);
  admin.command({"REPLICAOF", "127.0.0.1", "1"});  // a master that is not there
  try {
    board.claim("a.wav");
    FAIL() << "a read-only replica took a claim";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("READONLY"), std::string::npos) << e.what();
  }
  EXPECT_THROW(admin.command({"NO-SUCH-COMMAND"}), Error);
  try {
    admin.command({"NO-SUCH-COMMAND"});
  } catch (const IoError&) {
    ADD_FAILURE() << "an unknown command is not the server's passing state";
  } catch (const Error&) {
  }
  admin.command({"REPLICAOF", "NO", "ONE"});
  EXPECT_EQ(board.claim("a.wav").state, State::claimed);
}

TEST(JobBoardUnreachable, NamesTheServer) {
  try {
    JobBoard board(JobOptions{"unix:///nonexistent/redis.sock", "j", 60}, "w", "i", "s", 1);
    FAIL() << "connected to nothing";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("unix:///nonexistent/redis.sock"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace voiceman::distribute
