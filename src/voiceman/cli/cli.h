#pragma once
// The command line: parses arguments into option structs and calls the library.
// It is the only place that maps errors to exit codes.

namespace voiceman::cli {

// Exit codes (documented in --help and the README).
inline constexpr int kExitOk = 0;
inline constexpr int kExitSomeFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitIntegrity = 3;
// An error ended the command that is not one input's failure (OUT not writable, a device
// or Redis failure...): 1 would send the user to a failed_files.json that lists nothing.
inline constexpr int kExitAborted = 4;
// The RAM cap (--ram-cap) stopped new work: the rest is pending, as after a signal, but a
// script should tell a machine short of memory from a user's Ctrl-C.
inline constexpr int kExitResourceStop = 5;
inline constexpr int kExitInterrupted = 130;  // SIGINT/SIGTERM; the run can be resumed

// The exit-code table shown in --help.
const char* exit_codes_help();

int main(int argc, char** argv);

}  // namespace voiceman::cli
