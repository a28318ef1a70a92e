#include "voiceman/distribute/job_board.h"

#include <cctype>
#include <chrono>
#include <nlohmann/json.hpp>

#include "voiceman/core/errors.h"
#include "voiceman/core/log.h"
#include "voiceman/manifest/manifest.h"

namespace voiceman::distribute {
namespace {

// KEYS: meta. ARGV: inputs, settings, created_utc, recordings. The first worker's stay.
constexpr const char* kJoin = R"lua(
redis.call('HSETNX', KEYS[1], 'inputs', ARGV[1])
redis.call('HSETNX', KEYS[1], 'settings', ARGV[2])
redis.call('HSETNX', KEYS[1], 'created_utc', ARGV[3])
redis.call('HSETNX', KEYS[1], 'recordings', ARGV[4])
return redis.call('HMGET', KEYS[1], 'inputs', 'settings'))lua";

// KEYS: done, claim. ARGV: field, worker, lease ms.
constexpr const char* kClaim = R"lua(
local d = redis.call('HGET', KEYS[1], ARGV[1])
if d then return {'done', d} end
local owner = redis.call('GET', KEYS[2])
if (not owner) or owner == ARGV[2] then
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
  return {'claimed', ARGV[2]}
end
return {'held', owner})lua";

// KEYS: done, claim. ARGV: field.
constexpr const char* kPeek = R"lua(
local d = redis.call('HGET', KEYS[1], ARGV[1])
if d then return {'done', d} end
local owner = redis.call('GET', KEYS[2])
if owner then return {'held', owner} end
return {'free', ''})lua";

// KEYS: done, claim. ARGV: field, record, worker.
constexpr const char* kFinish = R"lua(
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return {'done', redis.call('HGET', KEYS[1], ARGV[1])})lua";

// KEYS: claim. ARGV: worker.
constexpr const char* kRelease = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0)lua";

// KEYS: claims. ARGV: worker, lease ms. Returns the 1-based positions of lost claims.
constexpr const char* kRenew = R"lua(
local lost = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
  else
    lost[#lost + 1] = i
  end
end
return lost)lua";

std::string lease_ms(double lease_s) {
  return std::to_string(static_cast<long long>(lease_s * 1000));
}

}  // namespace

void validate(const JobOptions& o) {
  if (o.redis_url.empty() != o.name.empty())
    throw ConfigError("--redis and --job go together: a shared run needs both");
  if (o.redis_url.empty()) return;
  parse_redis_url(o.redis_url);
  for (char c : o.name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      throw ConfigError("--job '" + o.name + "': use letters, digits, '.', '_' and '-' only");
  if (o.name.size() > 200) throw ConfigError("--job: at most 200 characters");
  if (!(o.lease_s >= 1 && o.lease_s <= 86400))
    throw ConfigError("--lease must be between 1 and 86400 seconds");
}

std::string JobBoard::meta_key(const std::string& job) { return "voiceman:{" + job + "}:meta"; }
std::string JobBoard::done_key(const std::string& job) { return "voiceman:{" + job + "}:done"; }
std::string JobBoard::claim_key(const std::string& job, const std::string& key) {
  return "voiceman:{" + job + "}:claim:" + key;
}

JobBoard::JobBoard(const JobOptions& options, std::string worker,
                   const std::string& inputs_fingerprint, const std::string& settings_fingerprint,
                   int recordings)
    : options_(options),
      worker_(std::move(worker)),
      client_(parse_redis_url(options.redis_url), kJobCommandTimeoutS) {
  RedisReply r;
  try {
    r = client_.eval(kJoin, {meta_key(options_.name)},
                     {inputs_fingerprint, settings_fingerprint, manifest::utc_now(),
                      std::to_string(recordings)});
  } catch (const IoError&) {
    throw;
  } catch (const Error& e) {  // NOAUTH, a read-only replica, scripting disabled...
    throw ConfigError("job '" + options_.name + "': " + e.what());
  }
  if (r.elements.size() != 2) throw Error("Redis: unexpected reply to the job's join script");
  if (r.elements[0].str != inputs_fingerprint)
    throw ConfigError("job '" + options_.name + "' on " + url() +
                      " was started over a different set of recordings (its other workers see "
                      "other files or sizes under the input folders); use a new --job name");
  if (r.elements[1].str != settings_fingerprint)
    throw ConfigError("job '" + options_.name + "' on " + url() +
                      " transcribes with other settings or another model; give every worker "
                      "the same options, or use a new --job name");
  beat_ = std::thread([this] { heartbeat(); });
}

JobBoard::~JobBoard() {
  {
    std::lock_guard lock(beat_mutex_);
    closing_ = true;
  }
  beat_cv_.notify_all();
  beat_.join();
  std::lock_guard lock(mutex_);
  for (const std::string& key : held_) {
    try {
      client_.eval(kRelease, {claim_key(options_.name, key)}, {worker_});
    } catch (const std::exception& e) {
      log::warn("job ", options_.name, ": could not release ", key, " (", e.what(),
                "); other workers take it when its lease lapses");
      break;
    }
  }
}

JobEntry parse_done_record(const std::string& job, const std::string& key,
                           const std::string& record) {
  JobEntry e;
  e.state = JobEntry::State::done;
  try {
    const auto j = nlohmann::json::parse(record);
    e.worker = j.at("worker").get<std::string>();
    e.status = j.at("status").get<std::string>();
    e.sha256 = j.value("sha256", "");
  } catch (const nlohmann::json::exception& ex) {
    throw Error("job " + job + ": malformed done record for " + key + " (" + ex.what() + ")");
  }
  return e;
}

JobEntry JobBoard::parse(const RedisReply& reply, const std::string& key) const {
  if (reply.elements.size() != 2) throw Error("Redis: unexpected reply from a job script");
  const std::string& state = reply.elements[0].str;
  JobEntry e;
  if (state == "claimed") {
    e.state = JobEntry::State::claimed;
    e.worker = worker_;
  } else if (state == "held") {
    e.state = JobEntry::State::held;
    e.worker = reply.elements[1].str;
  } else if (state == "done") {
    e = parse_done_record(options_.name, key, reply.elements[1].str);
  }
  return e;
}

JobEntry JobBoard::claim(const std::string& key) {
  std::lock_guard lock(mutex_);
  JobEntry e = parse(client_.eval(kClaim, {done_key(options_.name), claim_key(options_.name, key)},
                                  {key, worker_, lease_ms(options_.lease_s)}),
                     key);
  if (e.state == JobEntry::State::claimed) held_.insert(key);
  // Finished by this worker in an earlier run: its own journal decides what is left to do.
  if (e.state == JobEntry::State::done && e.worker == worker_) e.state = JobEntry::State::claimed;
  return e;
}

JobEntry JobBoard::peek(const std::string& key) {
  std::lock_guard lock(mutex_);
  return parse(client_.eval(kPeek, {done_key(options_.name), claim_key(options_.name, key)}, {key}),
               key);
}

JobEntry JobBoard::finish(const std::string& key, const std::string& status,
                          const std::string& sha256) {
  const nlohmann::ordered_json record = {{"worker", worker_},
                                         {"status", status},
                                         {"sha256", sha256},
                                         {"finished_utc", manifest::utc_now()}};
  std::lock_guard lock(mutex_);
  // Held, and renewed, while the outcome is being recorded. The script is safe to repeat
  // (the first record stays), so a dropped reply is retried on a new connection; after
  // that the claim is let go to lapse, and the other workers take the recording over.
  constexpr int kAttempts = 3;
  for (int attempt = 1;; ++attempt) {
    try {
      RedisReply reply =
          client_.eval(kFinish, {done_key(options_.name), claim_key(options_.name, key)},
                       {key, record.dump(), worker_});
      held_.erase(key);
      return parse(reply, key);
    } catch (const IoError&) {
      if (attempt < kAttempts) continue;
      held_.erase(key);
      throw;
    } catch (...) {
      held_.erase(key);
      throw;
    }
  }
}

void JobBoard::release(const std::string& key) {
  std::lock_guard lock(mutex_);
  if (held_.erase(key) == 0) return;
  client_.eval(kRelease, {claim_key(options_.name, key)}, {worker_});
}

void JobBoard::heartbeat() {
  const auto period = std::chrono::duration<double>(options_.lease_s / 3);
  std::unique_lock beat(beat_mutex_);
  while (!beat_cv_.wait_for(beat, period, [this] { return closing_; })) {
    std::lock_guard lock(mutex_);
    if (held_.empty()) continue;
    const std::vector<std::string> keys(held_.begin(), held_.end());
    std::vector<std::string> claim_keys;
    claim_keys.reserve(keys.size());
    for (const std::string& k : keys) claim_keys.push_back(claim_key(options_.name, k));
    try {
      const RedisReply lost =
          client_.eval(kRenew, claim_keys, {worker_, lease_ms(options_.lease_s)});
      for (const RedisReply& i : lost.elements) {
        const std::string& key = keys.at(static_cast<size_t>(i.integer - 1));
        held_.erase(key);
        log::warn("job ", options_.name, ": the claim on ", key,
                  " lapsed (this worker stalled for longer than --lease); another worker may "
                  "transcribe it too");
      }
    } catch (const std::exception& e) {
      log::warn("job ", options_.name, ": heartbeat failed (", e.what(), "); retrying");
    }
  }
}

}  // namespace voiceman::distribute
