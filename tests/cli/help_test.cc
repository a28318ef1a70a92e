// `voiceman --help` and each subcommand's help are complete, and usage errors exit 2.
#include <gtest/gtest.h>

#include "cli_process.h"
#include "support/paths.h"

namespace voiceman::cli::test {
namespace {

void expect_all(const std::string& text, const std::vector<std::string>& needles) {
  for (const std::string& n : needles)
    EXPECT_NE(text.find(n), std::string::npos) << n << "\n" << text;
}

TEST(Help, TopLevelListsSubcommandsAndExitCodes) {
  std::string out;
  ASSERT_EQ(voiceman("--help", &out), 0);
  expect_all(out, {"transcribe", "run", "verify", "job", "--version", "Exit codes:",
                   "0  all inputs done", "1  some inputs failed", "2  usage or configuration error",
                   "3  integrity violation", "4  stopped by an error that is not one input's",
                   "5  run stopped at the RAM cap", "130"});
}

TEST(Help, RunDocumentsEveryOption) {
  std::string out;
  ASSERT_EQ(voiceman("run --help", &out), 0);
  expect_all(out, {"INPUT",
                   "-o,--output",
                   "--model",
                   "--device",
                   "cuda:N, or cuda:all",
                   "--engines-per-device",
                   "--cuda-graphs",
                   "--int8-cross-kv",
                   "--compute-type",
                   "--threads",
                   "--workers",
                   "--language",
                   "--task",
                   "--beam-size",
                   "--best-of",
                   "--patience",
                   "--temperature",
                   "--no-condition-on-previous-text",
                   "--initial-prompt",
                   "--hotwords",
                   "--no-word-timestamps",
                   "--batch-windows",
                   "--mode",
                   "--vad-model",
                   "--concatenate-speech",
                   "--no-continue-chunks",
                   "--chunk-length",
                   "--diarize",
                   "--num-speakers",
                   "--min-speakers",
                   "--max-speakers",
                   "--batch-size",
                   "--max-batch-size",
                   "--engine-memory-cap-mb",
                   "--ram-cap",
                   "--condition-on-previous-text",
                   "--without-timestamps",
                   "--channel",
                   "--formats",
                   "--max-retries",
                   "--retry-backoff",
                   "--no-resume",
                   "--follow-symlinks",
                   "manifest.json",
                   "failed_files.json",
                   "VOICEMAN_INJECT_FAULT",
                   "Exit codes:"});
}

TEST(Help, VerifyJobAndTranscribe) {
  std::string out;
  ASSERT_EQ(voiceman("verify --help", &out), 0);
  expect_all(
      out, {"OUT", "manifest.json", "Exit 0 when everything matches, 3 otherwise", "Exit codes:"});
  out.clear();
  ASSERT_EQ(voiceman("job --help", &out), 0);
  expect_all(out, {"--redis", "--job", "--json", "without joining it", "Exit codes:"});
  out.clear();
  ASSERT_EQ(voiceman("transcribe --help", &out), 0);
  expect_all(out,
             {"FILE", "--model", "--beam-size", "--device", "auto,cpu,cuda", "--compute-type"});
}

// `transcribe --device cuda` without a GPU: the documented fallback, not an error.
TEST(Transcribe, CudaWithoutAGpuFallsBackToTheCpu) {
  if (std::filesystem::exists("/dev/nvidia0")) GTEST_SKIP() << "a GPU is present";
  const std::string jfk =
      voiceman::testing::quote((voiceman::testing::shared_data_dir() / "jfk.flac").string());
  std::string out;
  ASSERT_EQ(voiceman("transcribe " + jfk + " --device cuda --beam-size 1 --threads 2", &out), 0)
      << out;
  expect_all(out,
             {"GPU not available, using CPU fallback", "ask what you can do for your country"});
  out.clear();
  EXPECT_EQ(voiceman("transcribe " + jfk + " --device tpu", &out), 2) << out;
}

// transcribe's one input that cannot be read is that input's failure (1), not 4.
TEST(Transcribe, AnUnreadableFileExitsOne) {
  if (!std::filesystem::exists(voiceman::testing::model_dir("tiny.en") / "model.bin"))
    GTEST_SKIP() << "models/tiny.en not fetched";
  const std::filesystem::path dir = voiceman::testing::scratch_dir("cli_transcribe_unreadable");
  voiceman::testing::write_bytes(dir / "noise.wav", "not audio at all");
  std::string out;
  EXPECT_EQ(voiceman("transcribe " + voiceman::testing::quote((dir / "noise.wav").string()) +
                         " --threads 2",
                     &out),
            1)
      << out;
}

TEST(Usage, ErrorsExitTwo) {
  const std::string dir = voiceman::testing::scratch_dir("cli_usage").string();
  const std::string data = voiceman::testing::quote(voiceman::testing::shared_data_dir().string());
  const std::string out = voiceman::testing::quote(dir + "/out");
  std::string log;
  EXPECT_EQ(voiceman("", &log), 2);
  EXPECT_EQ(voiceman("run " + data, &log), 2);  // no -o
  EXPECT_EQ(voiceman("run " + data + " -o " + out + " --bogus", &log), 2);
  EXPECT_EQ(voiceman("run " + data + " -o " + out + " --device tpu", &log), 2);
  EXPECT_EQ(voiceman("run " + data + " -o " + out + " --device cuda:x", &log), 2);
  EXPECT_EQ(voiceman("run " + data + " -o " + out + " --engines-per-device 9", &log), 2);
  EXPECT_EQ(voiceman("run " + data + " -o " + out + " --mode sequential --device cuda:all", &log),
            2);
  EXPECT_EQ(voiceman("run " + data + " -o " + out + " --formats json,rttm", &log), 2);
  EXPECT_EQ(voiceman("run " + data + " -o " + out + " --retry-backoff 5,soon", &log), 2);
  EXPECT_EQ(voiceman("run " + data + " -o " + out + " --workers 0", &log), 2);
  EXPECT_EQ(voiceman("run /no/such/folder -o " + out, &log), 2);
  EXPECT_EQ(voiceman("run " + data + " -o " + out + " --model /no/such/model", &log), 2);
  log.clear();
  EXPECT_EQ(voiceman("run " + data + " -o " + data + "/out", &log), 2);
  EXPECT_NE(log.find("refusing to write OUT"), std::string::npos) << log;
  log.clear();
  EXPECT_EQ(voiceman("verify " + voiceman::testing::quote(dir), &log), 3);  // no manifest
  EXPECT_NE(log.find("manifest.json: missing"), std::string::npos) << log;
}

// Options that would overflow, be read wrong or be ignored are usage errors.
TEST(Usage, OptionsThatWouldBeMisreadOrIgnoredExitTwo) {
  const std::string dir = voiceman::testing::scratch_dir("cli_usage_ignored").string();
  const std::string data = voiceman::testing::quote(voiceman::testing::shared_data_dir().string());
  const std::string run = "run " + data + " -o " + voiceman::testing::quote(dir + "/out");
  std::string log;
  EXPECT_EQ(voiceman(run + " --engine-memory-cap-mb -1", &log), 2) << log;
  EXPECT_EQ(voiceman(run + " --retry-backoff 5,15,", &log), 2) << log;
  EXPECT_EQ(voiceman(run + " --temperature 0,nan", &log), 2) << log;
  log.clear();
  EXPECT_EQ(voiceman(run + " --num-speakers 2", &log), 2) << log;
  EXPECT_NE(log.find("--num-speakers needs --diarize"), std::string::npos) << log;
  EXPECT_EQ(voiceman(run + " --lease 30", &log), 2) << log;
  EXPECT_EQ(voiceman(run + " --mode sequential --batch-size 4", &log), 2) << log;
  const std::string jfk =
      voiceman::testing::quote((voiceman::testing::shared_data_dir() / "jfk.flac").string());
  EXPECT_EQ(voiceman("transcribe " + jfk + " --temperature 0.2abc,1x", &log), 2) << log;
  EXPECT_FALSE(std::filesystem::exists(dir + "/out"));
}

// An error that ends the run without being one input's failure has its own exit code:
// 1 would send the user to a failed_files.json that does not exist.
TEST(Usage, ARunThatCannotGoOnExitsFour) {
  const std::filesystem::path dir = voiceman::testing::scratch_dir("cli_run_error");
  voiceman::testing::write_bytes(dir / "a-file", "");
  const std::string jfk =
      voiceman::testing::quote((voiceman::testing::shared_data_dir() / "jfk.flac").string());
  std::string log;
  EXPECT_EQ(
      voiceman("run " + jfk + " -o " + voiceman::testing::quote((dir / "a-file" / "out").string()),
               &log),
      4)
      << log;
  EXPECT_NE(log.find("cannot create the output folder"), std::string::npos) << log;
}

// A run the RAM cap stops is told apart from one a signal stopped (130): a cap below what
// the loaded model alone takes stops it before the first file, and the same command
// without it resumes and finishes.
TEST(Usage, ARunStoppedAtTheRamCapExitsFiveAndResumes) {
  if (!std::filesystem::exists(voiceman::testing::model_dir("tiny.en") / "model.bin"))
    GTEST_SKIP() << "models/tiny.en not fetched";
  const std::filesystem::path dir = voiceman::testing::scratch_dir("cli_ram_cap");
  const std::string jfk =
      voiceman::testing::quote((voiceman::testing::shared_data_dir() / "jfk.flac").string());
  const std::string run = "run " + jfk + " -o " + voiceman::testing::quote((dir / "out").string()) +
                          " --threads 2 --beam-size 1";
  std::string log;
  EXPECT_EQ(voiceman(run + " --ram-cap 0.001", &log), 5) << log;
  EXPECT_NE(log.find("1 not processed (stopped at the RAM cap)"), std::string::npos) << log;
  EXPECT_NE(log.find("stopped early: memory use"), std::string::npos) << log;
  log.clear();
  EXPECT_EQ(voiceman(run, &log), 0) << log;
  EXPECT_NE(log.find("1 ok"), std::string::npos) << log;
}

}  // namespace
}  // namespace voiceman::cli::test
