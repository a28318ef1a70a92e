// `voiceman run`'s command line as CLI11 parses it, into the pipeline's options.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "voiceman/cli/commands.h"
#include "voiceman/core/errors.h"

namespace voiceman::cli {
namespace {

// Parses `voiceman run IN -o OUT extra...` as cli::main does.
RunArgs parse_run(const std::vector<std::string>& extra) {
  CLI::App app;
  RunArgs args;
  add_run_command(app, args);
  std::vector<std::string> words = {"voiceman", "run", "in", "-o", "out"};
  words.insert(words.end(), extra.begin(), extra.end());
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  app.parse(static_cast<int>(argv.size()), argv.data());
  return args;
}

bool has_rttm(const pipeline::RunOptions& o) {
  return std::find(o.formats.begin(), o.formats.end(), writers::Format::rttm) != o.formats.end();
}

// The message of the ConfigError that `extra` gives, or "" when there is none.
std::string config_error(const std::vector<std::string>& extra) {
  try {
    run_options(parse_run(extra));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// CLI11 reads "-1" into a uint64_t as 2^64-1, which the run shifts into bytes.
TEST(RunArgs, ANegativeEngineMemoryCapIsRefused) {
  EXPECT_THROW(parse_run({"--engine-memory-cap-mb", "-1"}), CLI::ValidationError);
  EXPECT_EQ(parse_run({"--engine-memory-cap-mb", "512"}).options.engine_memory_cap_mb, 512u);
}

TEST(RunArgs, DiarizeAddsRttmOnlyWhenFormatsAreNotGiven) {
  EXPECT_TRUE(has_rttm(run_options(parse_run({"--diarize"}))));
  EXPECT_FALSE(has_rttm(run_options(parse_run({"--diarize", "--formats", "json,srt,vtt,txt"}))));
  EXPECT_FALSE(has_rttm(run_options(parse_run({"--formats", "json,srt,vtt,txt"}))));
  EXPECT_TRUE(has_rttm(run_options(parse_run({"--diarize", "--formats", "json,rttm"}))));
}

// Options that act only with another one are refused without it, naming both.
TEST(RunArgs, OptionsThatWouldBeIgnoredAreRefused) {
  struct Case {
    std::vector<std::string> alone;  // refused
    const char* needs;
    std::vector<std::string> with;  // what makes it act
  };
  const std::vector<std::string> diarize = {"--diarize"};
  const std::vector<std::string> job = {"--redis", "redis://localhost", "--job", "j"};
  const std::vector<std::string> sequential = {"--mode", "sequential"};
  const std::vector<std::string> batched = {"--mode", "batched"};
  const Case cases[] = {
      {{"--num-speakers", "2"}, "--diarize", diarize},
      {{"--min-speakers", "1"}, "--diarize", diarize},  // the default value, given
      {{"--max-speakers", "3"}, "--diarize", diarize},
      {{"--segmentation-model", "seg.bin"}, "--diarize", diarize},
      {{"--speaker-model", "spk.pt"}, "--diarize", diarize},
      {{"--lease", "30"}, "--redis", job},
      {{"--batch-size", "4", "--mode", "sequential"}, "--mode batched", {}},
      {{"--max-batch-size", "8", "--mode", "sequential"}, "--mode batched", {}},
      {{"--chunk-length", "20", "--mode", "sequential"}, "--mode batched", {}},
      {{"--no-continue-chunks", "--mode", "sequential"}, "--mode batched", {}},
      {{"--concatenate-speech", "--mode", "sequential"}, "--mode batched", {}},
      {{"--vad-model", "vad.onnx", "--mode", "sequential"}, "--mode batched", {}},
      {{"--batch-windows", "4"}, "--mode sequential", sequential},
      {{"--batch-windows", "4", "--mode", "batched"}, "--mode sequential", {}},
  };
  for (const Case& c : cases) {
    const std::string what = config_error(c.alone);
    EXPECT_NE(what.find(c.alone.front()), std::string::npos) << c.alone.front() << ": " << what;
    EXPECT_NE(what.find(c.needs), std::string::npos) << c.alone.front() << ": " << what;
    if (c.with.empty()) continue;
    std::vector<std::string> both = c.alone;
    both.insert(both.end(), c.with.begin(), c.with.end());
    EXPECT_EQ(config_error(both), "") << c.alone.front();
  }
  // Their batched-mode counterparts are taken.
  EXPECT_EQ(config_error({"--batch-size", "4", "--max-batch-size", "8", "--chunk-length", "20",
                          "--no-continue-chunks", "--concatenate-speech"}),
            "");
  EXPECT_EQ(config_error({"--batch-size", "4", "--mode", "batched"}), "");
}

TEST(RunArgs, NumberListsMustBeWholeAndFinite) {
  EXPECT_NE(config_error({"--temperature", "0.2abc,1x"}), "");
  EXPECT_NE(config_error({"--temperature", "0,nan"}), "");
  EXPECT_NE(config_error({"--retry-backoff", "5,15,"}), "");
  EXPECT_NE(config_error({"--retry-backoff", "inf"}), "");
  const pipeline::RunOptions o = run_options(parse_run({"--temperature", "0,0.5"}));
  EXPECT_EQ(o.transcribe.temperatures, (std::vector<float>{0.f, 0.5f}));
}

}  // namespace
}  // namespace voiceman::cli
