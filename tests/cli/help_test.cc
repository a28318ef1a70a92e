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
  expect_all(out, {"transcribe", "run", "verify", "job", "--version",
                   "Exit codes:", "0  all inputs done", "1  some inputs failed",
                   "2  usage or configuration error", "3  integrity violation", "130"});
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

}  // namespace
}  // namespace voiceman::cli::test
