#pragma once
// Scale-out: several `voiceman run` workers, on one machine or many, share one corpus
// through a Redis server. Each recording is claimed before it is read; a claim is a
// Redis key with a lease that the claiming worker's heartbeat renews, so the recordings
// of a worker that dies go back to the others when its lease lapses. A finished
// recording is recorded once in the job's done hash (first finisher wins) and every
// other worker lists it as delegated. All state lives in Redis; each worker keeps its
// own OUT (transcripts, manifest, journal).
//
// Keys, with the job name as a hash tag so a Redis Cluster keeps them in one slot:
//   voiceman:{JOB}:meta           hash: inputs and settings fingerprints, created_utc,
//                                 recordings (how many; job_status.h reads them all)
//   voiceman:{JOB}:done           hash: relative path -> {"worker","status","sha256",...}
//   voiceman:{JOB}:claim:REL      string: the worker holding REL, with a PX lease
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "voiceman/distribute/redis_client.h"

namespace voiceman::distribute {

// Seconds a job's Redis command may take before it counts as an I/O error.
constexpr double kJobCommandTimeoutS = 5;

struct JobOptions {
  std::string redis_url;  // empty: no job (the run is on its own)
  std::string name;       // the job: letters, digits, '.', '_' and '-'
  double lease_s = 60;    // a claim lapses this long after its worker's last heartbeat
};

// Throws ConfigError naming the bad option.
void validate(const JobOptions& options);

// What a job says about one recording.
struct JobEntry {
  enum class State { free, claimed, held, done };
  State state = State::free;
  std::string worker;  // held: the holder; done: who finished it
  std::string status;  // done: ok, failed or integrity_violation
  std::string sha256;  // done: the original's digest as that worker read it
};

// A done record (the `done` hash's value for one recording) as a done entry. Throws Error
// naming the job and the recording when it is malformed.
JobEntry parse_done_record(const std::string& job, const std::string& key,
                           const std::string& record);

class JobBoard {
 public:
  // Connects and joins the job, creating it if it is new. The job's inputs and settings
  // fingerprints must equal this worker's: ConfigError if another worker sees different
  // recordings or transcribes differently; IoError (with the URL) if Redis is unreachable.
  // `recordings` (how many the inputs fingerprint covers) is kept for progress reports.
  JobBoard(const JobOptions& options, std::string worker, const std::string& inputs_fingerprint,
           const std::string& settings_fingerprint, int recordings);
  // Stops the heartbeat and releases the claims still held, so that the other workers
  // take those recordings at once.
  ~JobBoard();
  JobBoard(const JobBoard&) = delete;
  JobBoard& operator=(const JobBoard&) = delete;

  // Claims `key` for this worker: claimed (also when this worker already held it, or
  // finished it in an earlier run), held by another worker, or done. IoError on failure.
  JobEntry claim(const std::string& key);
  // The entry without claiming: free, held (by anyone, this worker included) or done.
  JobEntry peek(const std::string& key);
  // Records the outcome (the first record of a key stays) and drops this worker's claim.
  // Returns the entry as recorded.
  JobEntry finish(const std::string& key, const std::string& status, const std::string& sha256);
  // Drops this worker's claim without recording an outcome.
  void release(const std::string& key);

  const std::string& worker() const { return worker_; }
  const std::string& name() const { return options_.name; }
  std::string url() const { return client_.address().display; }

  // The Redis keys of a job (tests and operators use them too).
  static std::string meta_key(const std::string& job);
  static std::string done_key(const std::string& job);
  static std::string claim_key(const std::string& job, const std::string& key);

 private:
  JobEntry parse(const RedisReply& reply, const std::string& key) const;
  void heartbeat();

  JobOptions options_;
  std::string worker_;
  std::mutex mutex_;  // the connection and held_
  RedisClient client_;
  std::set<std::string> held_;

  std::mutex beat_mutex_;
  std::condition_variable beat_cv_;
  bool closing_ = false;
  std::thread beat_;
};

}  // namespace voiceman::distribute
