#pragma once
// How far a shared job has got, read from its Redis keys without joining it: what each
// worker has finished, the claims held right now, and what no worker has started. For
// `voiceman job`; the workers themselves never need it.
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace voiceman::distribute {

struct WorkerProgress {
  std::map<std::string, int> finished;  // outcome (ok, failed, ...) -> recordings
  int holding = 0;                      // claims held now: recordings in progress
  double lease_left_s = 0;              // the longest of its claims' remaining leases

  int finished_total() const;
};

struct JobStatus {
  std::string name;
  std::string url;  // without a password
  std::string created_utc;
  std::optional<int> recordings;        // the job's recordings, when its first worker said
  std::map<std::string, int> finished;  // outcome -> recordings, all workers together
  int in_progress = 0;                  // claims held now
  std::map<std::string, WorkerProgress> workers;  // by worker (HOST:OUT)

  int finished_total() const;
  // Recordings no worker has finished or holds; nullopt when the total is unknown.
  std::optional<int> not_started() const;
};

// Reads the job `name` on the server at `redis_url`. ConfigError when there is no such
// job there; IoError when the server cannot be reached.
JobStatus read_job_status(const std::string& redis_url, const std::string& name);

nlohmann::ordered_json to_json(const JobStatus& status);

}  // namespace voiceman::distribute
