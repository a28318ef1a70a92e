#include "voiceman/distribute/job_status.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <vector>

#include "voiceman/core/errors.h"
#include "voiceman/distribute/job_board.h"
#include "voiceman/distribute/redis_client.h"

namespace voiceman::distribute {
namespace {

constexpr size_t kKeysPerScript = 500;

// KEYS: claims. Returns each one's holder ('' when it lapsed since the scan) and its
// remaining lease in ms, read together so that a holder goes with its own lease.
constexpr const char* kReadClaims = R"lua(
local out = {}
for _, key in ipairs(KEYS) do
  out[#out + 1] = redis.call('GET', key) or ''
  out[#out + 1] = redis.call('PTTL', key)
end
return out)lua";

std::vector<std::string> claim_keys(RedisClient& client, const std::string& job) {
  // SCAN may return a key twice; the set keeps one.
  std::set<std::string> keys;
  std::string cursor = "0";
  do {
    const RedisReply r =
        client.command({"SCAN", cursor, "MATCH", JobBoard::claim_key(job, "*"), "COUNT", "1000"});
    if (r.elements.size() != 2) throw Error("Redis: unexpected reply to SCAN");
    cursor = r.elements[0].str;
    for (const RedisReply& k : r.elements[1].elements) keys.insert(k.str);
  } while (cursor != "0");
  return {keys.begin(), keys.end()};
}

int total_of(const std::map<std::string, int>& by_outcome) {
  int n = 0;
  for (const auto& [outcome, count] : by_outcome) n += count;
  return n;
}

}  // namespace

int WorkerProgress::finished_total() const { return total_of(finished); }

int JobStatus::finished_total() const { return total_of(finished); }

std::optional<int> JobStatus::not_started() const {
  if (!recordings) return std::nullopt;
  return std::max(0, *recordings - finished_total() - in_progress);
}

JobStatus read_job_status(const std::string& redis_url, const std::string& name) {
  RedisClient client(parse_redis_url(redis_url), kJobCommandTimeoutS);
  JobStatus s;
  s.name = name;
  s.url = client.address().display;

  const RedisReply meta = client.command({"HGETALL", JobBoard::meta_key(name)});
  if (meta.elements.empty()) throw ConfigError("no job '" + name + "' on " + s.url);
  for (size_t i = 0; i + 1 < meta.elements.size(); i += 2) {
    const std::string& field = meta.elements[i].str;
    const std::string& value = meta.elements[i + 1].str;
    if (field == "created_utc") s.created_utc = value;
    int n = 0;
    if (field == "recordings" &&
        std::from_chars(value.data(), value.data() + value.size(), n).ec == std::errc{})
      s.recordings = n;
  }

  const RedisReply done = client.command({"HGETALL", JobBoard::done_key(name)});
  for (size_t i = 0; i + 1 < done.elements.size(); i += 2) {
    const JobEntry e = parse_done_record(name, done.elements[i].str, done.elements[i + 1].str);
    ++s.finished[e.status];
    ++s.workers[e.worker].finished[e.status];
  }

  const std::vector<std::string> keys = claim_keys(client, name);
  for (size_t from = 0; from < keys.size(); from += kKeysPerScript) {
    const std::vector<std::string> part(
        keys.begin() + static_cast<std::ptrdiff_t>(from),
        keys.begin() + static_cast<std::ptrdiff_t>(std::min(keys.size(), from + kKeysPerScript)));
    const RedisReply r = client.eval(kReadClaims, part, {});
    if (r.elements.size() != 2 * part.size()) throw Error("Redis: unexpected reply about claims");
    for (size_t i = 0; i < part.size(); ++i) {
      const std::string& holder = r.elements[2 * i].str;
      if (holder.empty()) continue;  // lapsed or finished since the scan
      WorkerProgress& w = s.workers[holder];
      ++w.holding;
      ++s.in_progress;
      w.lease_left_s =
          std::max(w.lease_left_s, static_cast<double>(r.elements[2 * i + 1].integer) / 1000);
    }
  }
  return s;
}

nlohmann::ordered_json to_json(const JobStatus& s) {
  nlohmann::ordered_json workers = nlohmann::ordered_json::array();
  for (const auto& [worker, w] : s.workers)
    workers.push_back({{"worker", worker},
                       {"finished", w.finished},
                       {"holding", w.holding},
                       {"lease_left_s", w.lease_left_s}});
  const std::optional<int> left = s.not_started();
  return {{"job", s.name},
          {"redis", s.url},
          {"created_utc", s.created_utc},
          {"recordings", s.recordings ? nlohmann::ordered_json(*s.recordings) : nullptr},
          {"finished", s.finished_total()},
          {"finished_by_outcome", s.finished},
          {"in_progress", s.in_progress},
          {"not_started", left ? nlohmann::ordered_json(*left) : nullptr},
          {"workers", workers}};
}

}  // namespace voiceman::distribute
