#include "voiceman/cli/cli.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "voiceman/cli/commands.h"
#include "voiceman/core/errors.h"
#include "voiceman/core/log.h"
#include "voiceman/core/version.h"

namespace voiceman::cli {
namespace {

constexpr const char* kExitCodes =
    "Exit codes:\n"
    "  0  all inputs done\n"
    "  1  some inputs failed (see failed_files.json)\n"
    "  2  usage or configuration error\n"
    "  3  integrity violation (an original changed, or verify found a mismatch)\n"
    "  4  stopped by an error that is not one input's (e.g. OUT not writable; see the log)\n"
    "  5  run stopped at the RAM cap (--ram-cap) before every file was done (re-run to resume)\n"
    "  130  run interrupted by SIGINT/SIGTERM (re-run the same command to resume)\n";

void install_stderr_logger(bool verbose, bool quiet) {
  const log::Level level = verbose ? log::Level::debug
                           : quiet ? log::Level::warn
                                   : log::Level::info;
  log::set_sink(
      [](log::Level lvl, std::string_view message) {
        std::cerr << "voiceman: "
                  << (lvl >= log::Level::warn ? std::string(log::level_name(lvl)) + ": " : "")
                  << message << "\n";
      },
      level);
}

}  // namespace

const char* exit_codes_help() { return kExitCodes; }

int main(int argc, char** argv) {
  CLI::App app{"voiceman: evidence-safe transcription with word timestamps and speakers"};
  app.footer(kExitCodes);
  app.set_version_flag("--version", std::string(kVersion) + " (" + kGitCommit + ")");
  app.require_subcommand(1);
  bool verbose = false, quiet = false;
  app.add_flag("-v,--verbose", verbose, "Log debug details");
  app.add_flag("-q,--quiet", quiet, "Log warnings and errors only");

  TranscribeArgs transcribe;
  CLI::App* transcribe_cmd = add_transcribe_command(app, transcribe);
  RunArgs run;
  CLI::App* run_cmd = add_run_command(app, run);
  VerifyArgs verify;
  CLI::App* verify_cmd = add_verify_command(app, verify);
  JobArgs job;
  CLI::App* job_cmd = add_job_command(app, job);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  install_stderr_logger(verbose, quiet);
  try {
    if (transcribe_cmd->parsed()) return run_transcribe(transcribe);
    if (run_cmd->parsed()) return run_run(run);
    if (verify_cmd->parsed()) return run_verify(verify);
    if (job_cmd->parsed()) return run_job(job);
    return kExitUsage;
  } catch (const ConfigError& e) {
    log::error(e.what());
    return kExitUsage;
  } catch (const IntegrityError& e) {
    log::error(e.what());
    return kExitIntegrity;
  } catch (const ModelError& e) {
    log::error(e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    log::error(e.what());
    return kExitAborted;
  }
}

}  // namespace voiceman::cli
