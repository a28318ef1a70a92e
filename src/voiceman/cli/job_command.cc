#include <cmath>
#include <iostream>
#include <map>
#include <optional>
#include <string>

#include "voiceman/cli/cli.h"
#include "voiceman/cli/commands.h"
#include "voiceman/core/errors.h"
#include "voiceman/distribute/job_board.h"
#include "voiceman/distribute/job_status.h"

namespace voiceman::cli {
namespace {

// "3 (ok 2, failed 1)", or "0".
std::string outcomes(int total, const std::map<std::string, int>& by_outcome) {
  std::string s = std::to_string(total);
  if (total == 0) return s;
  std::string parts;
  for (const auto& [outcome, n] : by_outcome)
    parts += (parts.empty() ? "" : ", ") + outcome + " " + std::to_string(n);
  return s + " (" + parts + ")";
}

void print_text(const distribute::JobStatus& s) {
  std::cout << "job " << s.name << " on " << s.url << ", started " << s.created_utc << "\n";
  std::cout << "  recordings   " << (s.recordings ? std::to_string(*s.recordings) : "unknown")
            << "\n";
  std::cout << "  finished     " << outcomes(s.finished_total(), s.finished) << "\n";
  std::cout << "  in progress  " << s.in_progress << "\n";
  const std::optional<int> left = s.not_started();
  std::cout << "  not started  " << (left ? std::to_string(*left) : "unknown") << "\n";
  for (const auto& [worker, w] : s.workers) {
    std::cout << "  worker " << worker << ": finished " << outcomes(w.finished_total(), w.finished)
              << ", holding " << w.holding;
    if (w.holding > 0) std::cout << " (lease left " << std::lround(w.lease_left_s) << " s)";
    std::cout << "\n";
  }
}

}  // namespace

CLI::App* add_job_command(CLI::App& app, JobArgs& args) {
  CLI::App* cmd = app.add_subcommand(
      "job", "Show how far a shared run (run --redis/--job) has got, across its workers");
  cmd->footer(
      std::string(
          "Reads the job's state from Redis without joining it or changing anything: the\n"
          "recordings finished (by outcome and by worker), those in progress (claims held\n"
          "now, with the longest lease left: a worker that stopped renewing counts down to\n"
          "0, then the others take its recordings) and those no worker has started.\n\n") +
      exit_codes_help());
  cmd->fallthrough();
  cmd->add_option(
         "--redis", args.redis_url,
         "redis://[:PASSWORD@]HOST[:PORT][/DB] or unix://[:PASSWORD@]/PATH, as given to run")
      ->required();
  cmd->add_option("--job", args.name, "The job's name, as given to run")->required();
  cmd->add_flag("--json", args.json, "Print the status as JSON");
  return cmd;
}

int run_job(const JobArgs& args) {
  distribute::validate(distribute::JobOptions{args.redis_url, args.name});
  distribute::JobStatus status;
  try {
    status = distribute::read_job_status(args.redis_url, args.name);
  } catch (const IoError& e) {
    throw ConfigError(std::string("--redis: ") + e.what());
  }
  if (args.json)
    std::cout << distribute::to_json(status).dump(2) << "\n";
  else
    print_text(status);
  return kExitOk;
}

}  // namespace voiceman::cli
