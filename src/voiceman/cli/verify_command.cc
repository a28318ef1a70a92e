#include <iostream>

#include "voiceman/cli/cli.h"
#include "voiceman/cli/commands.h"
#include "voiceman/manifest/verify.h"

namespace voiceman::cli {

CLI::App* add_verify_command(CLI::App& app, VerifyArgs& args) {
  CLI::App* cmd = app.add_subcommand(
      "verify",
      "Check the originals and outputs of a run (or of a shared job's workers) against the "
      "manifest (exit 0 or 3)");
  cmd->footer(
      std::string(
          "Re-hashes every original and output listed in OUT/manifest.json and prints each\n"
          "difference: a changed or missing file, a file in OUT/transcripts that the manifest\n"
          "does not list, or a run that never finished. Nothing is written.\n"
          "Several OUTs of one job (run --redis/--job) are also checked against each other:\n"
          "a recording one worker lists as delegated must be in the named worker's OUT\n"
          "with the same outcome.\n"
          "Exit 0 when everything matches, 3 otherwise.\n\n") +
      exit_codes_help());
  cmd->fallthrough();  // -v/-q may also follow the subcommand
  cmd->add_option("OUT", args.out_dirs, "Output folders of `voiceman run`")->required();
  return cmd;
}

int run_verify(const VerifyArgs& args) {
  const std::vector<std::filesystem::path> outs(args.out_dirs.begin(), args.out_dirs.end());
  const manifest::VerifyReport report = manifest::verify(outs);
  for (const manifest::Difference& d : report.differences)
    std::cout << d.kind << ": " << d.path << ": " << d.detail << "\n";
  std::cout << "verify: " << report.originals_checked << " originals and " << report.outputs_checked
            << " outputs checked, ";
  if (report.delegated_checked > 0) std::cout << report.delegated_checked << " delegated matched, ";
  if (report.delegated_unchecked > 0)
    std::cout << report.delegated_unchecked
              << " delegated not checked (give their workers' OUTs to check them), ";
  std::cout << report.differences.size()
            << (report.differences.size() == 1 ? " difference" : " differences") << "\n";
  return report.ok() ? kExitOk : kExitIntegrity;
}

}  // namespace voiceman::cli
