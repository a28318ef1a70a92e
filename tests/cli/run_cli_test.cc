// `voiceman run` and `voiceman verify` as a user runs them: exit codes, the 50-file tree,
// kill -9 and SIGINT followed by a re-run, the progress bar on a terminal.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "cli_process.h"
#include "support/paths.h"
#include "voiceman/manifest/hashing.h"

namespace voiceman::cli::test {
namespace {

namespace fs = std::filesystem;
using voiceman::testing::quote;
using voiceman::testing::read_bytes;

// Greedy decoding and two threads: CI has two cores.
const std::string kFast =
    " --beam-size 1 --threads 2 --model " + quote(voiceman::testing::model_dir("tiny.en").string());

// 50 clips of 1.5 s cut from the LibriSpeech utterances, in five formats, laid out as
// "speaker N/session a|b/<utterance>.<ext>". Built once for the suite.
class RunCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(voiceman::testing::model_dir("tiny.en") / "model.bin") ||
        !voiceman::testing::have_ffmpeg_cli())
      return;
    std::vector<fs::path> sources;
    for (const auto& e : fs::recursive_directory_iterator(voiceman::testing::shared_data_dir() /
                                                          "librispeech_test-other"))
      if (e.path().extension() == ".flac") sources.push_back(e.path());
    std::sort(sources.begin(), sources.end());
    const char* ext[] = {"m4a", "mp3", "ogg", "flac", "wav"};
    const char* codec[] = {"-c:a aac", "-c:a libmp3lame", "-c:a libvorbis", "", ""};
    for (size_t i = 0; i < sources.size(); ++i)
      rels_->push_back("speaker " + sources[i].parent_path().filename().string() + "/session " +
                       static_cast<char>('a' + (i % 10) / 5) + "/" + sources[i].stem().string() +
                       "." + ext[i % 5]);
    // CTest runs each test in its own process, possibly in parallel: the corpus is built
    // once into a private folder and renamed into place; later processes reuse it.
    const fs::path root = fs::path(VOICEMAN_BINARY_DIR) / "test-scratch" / "cli_tree_corpus";
    tree_ = new fs::path(root / "recordings");
    if (fs::exists(root / "complete")) return;
    const fs::path staging = root / ("staging-" + std::to_string(::getpid()));
    fs::remove_all(staging);
    for (size_t i = 0; i < sources.size(); ++i)
      voiceman::testing::ffmpeg_convert(sources[i], staging / (*rels_)[i],
                                        std::string("-t 1.5 ") + codec[i % 5]);
    std::error_code ec;
    fs::rename(staging, *tree_, ec);  // fails if another process got there first
    fs::remove_all(staging, ec);
    voiceman::testing::write_bytes(root / "complete", "");
  }
  void SetUp() override {
    if (!tree_) GTEST_SKIP() << "needs models/tiny.en and the ffmpeg CLI";
  }

  // Every input has its four outputs, each matching the manifest; nothing else is there.
  static void expect_complete(const fs::path& out, const std::vector<std::string>& rels) {
    const auto m = nlohmann::json::parse(read_bytes(out / "manifest.json"));
    EXPECT_EQ(m["status"], "complete");
    ASSERT_EQ(m["inputs"].size(), rels.size());
    std::set<std::string> seen;
    for (const auto& in : m["inputs"]) {
      EXPECT_TRUE(seen.insert(in["relative_path"].get<std::string>()).second);
      EXPECT_EQ(in["status"], "ok") << in.dump();
      ASSERT_EQ(in["outputs"].size(), 4u);
      for (const auto& o : in["outputs"])
        EXPECT_EQ(manifest::sha256_hex(read_bytes(out / o["path"].get<std::string>())),
                  o["sha256"]);
    }
    for (const std::string& rel : rels) {
      EXPECT_TRUE(seen.count(rel)) << rel;
      for (const char* f : {".json", ".srt", ".vtt", ".txt"})
        EXPECT_TRUE(fs::is_regular_file(out / "transcripts" / (rel + f))) << rel << f;
      const auto doc = nlohmann::json::parse(read_bytes(out / "transcripts" / (rel + ".json")));
      EXPECT_TRUE(doc.contains("segments"));
    }
    EXPECT_EQ(count_files(out / "transcripts", ""), static_cast<int>(rels.size() * 4));
    EXPECT_EQ(count_files(out, ".voiceman-tmp-"), 0);
  }

  static fs::path* tree_;
  static std::vector<std::string>* rels_;
};

fs::path* RunCli::tree_ = nullptr;
std::vector<std::string>* RunCli::rels_ = new std::vector<std::string>;

TEST_F(RunCli, FiftyFileTreeIsMirroredInOut) {
  const fs::path out = voiceman::testing::scratch_dir("cli_tree_run") / "out";
  std::string log;
  ASSERT_EQ(voiceman("run " + quote(tree_->string()) + " -o " + quote(out.string()) + kFast +
                         " --workers 2",
                     &log),
            0)
      << log;
  ASSERT_EQ(rels_->size(), 50u);
  expect_complete(out, *rels_);
  EXPECT_NE(log.find("50 ok, 0 failed, 0 skipped"), std::string::npos) << log;
  EXPECT_NE(log.find("realtime factor"), std::string::npos) << log;
  EXPECT_NE(log.find("transcripts: " + (out / "transcripts").string()), std::string::npos) << log;
  std::string verify_log;
  EXPECT_EQ(voiceman("verify " + quote(out.string()), &verify_log), 0) << verify_log;
}

TEST_F(RunCli, ExitCodesAndVerifyAfterTampering) {
  const fs::path base = voiceman::testing::scratch_dir("cli_exit_codes");
  fs::create_directories(base / "in");
  const std::string first = (*rels_)[0], second = (*rels_)[1];
  fs::copy_file(*tree_ / first, base / "in" / "a.m4a");
  fs::copy_file(*tree_ / second, base / "in" / "b.mp3");
  voiceman::testing::write_bytes(base / "in" / "broken.wav", "RIFF but nothing else");
  const std::string in = quote((base / "in").string()), out = quote((base / "out").string());
  std::string log;
  EXPECT_EQ(voiceman("run " + in + " -o " + out + kFast, &log), 1) << log;  // one failed
  EXPECT_NE(log.find("broken.wav"), std::string::npos) << log;
  fs::remove(base / "in" / "broken.wav");
  log.clear();
  EXPECT_EQ(voiceman("run " + in + " -o " + out + kFast, &log), 0) << log;
  EXPECT_NE(log.find("2 ok (2 already done)"), std::string::npos) << log;
  log.clear();
  EXPECT_EQ(voiceman("verify " + out, &log), 0) << log;

  // One byte of a copied input.
  std::string bytes = read_bytes(base / "in" / "b.mp3");
  bytes[bytes.size() / 3] ^= 0x01;
  voiceman::testing::write_bytes(base / "in" / "b.mp3", bytes);
  log.clear();
  EXPECT_EQ(voiceman("verify " + out, &log), 3) << log;
  EXPECT_NE(log.find("changed: " + (base / "in" / "b.mp3").string() + ": sha256 was"),
            std::string::npos)
      << log;
  bytes[bytes.size() / 3] ^= 0x01;
  voiceman::testing::write_bytes(base / "in" / "b.mp3", bytes);
  // One byte of an output (after restoring the input's bytes, only its mtime differs).
  const fs::path txt = base / "out" / "transcripts" / "a.m4a.txt";
  std::string text = read_bytes(txt);
  text[0] ^= 0x20;
  voiceman::testing::write_bytes(txt, text);
  log.clear();
  EXPECT_EQ(voiceman("verify " + out, &log), 3) << log;
  EXPECT_NE(log.find("changed: " + txt.string()), std::string::npos) << log;
}

// Greedy, two threads, one chunk per batch: many small batches to interrupt.
std::vector<std::string> one_file_per_batch_args(const fs::path& in, const fs::path& out) {
  return {"run",        in.string(),   "-o",
          out.string(), "--beam-size", "1",
          "--threads",  "2",           "--batch-size",
          "1",          "--model",     voiceman::testing::model_dir("tiny.en").string()};
}

TEST_F(RunCli, KillNineAnywhereThenRerunCompletes) {
  const fs::path base = voiceman::testing::scratch_dir("cli_kill9");
  std::vector<std::string> rels;
  for (const std::string& rel : *rels_)
    if (rel.rfind("speaker 1688/", 0) == 0 || rel.rfind("speaker 1998/", 0) == 0) {
      fs::create_directories((base / "in" / rel).parent_path());
      fs::copy_file(*tree_ / rel, base / "in" / rel);
      rels.push_back(rel);
    }
  ASSERT_EQ(rels.size(), 20u);
  const fs::path out = base / "out";
  const std::vector<std::string> args = one_file_per_batch_args(base / "in", out);
  // Killed while transcribing, once a few outputs are on disk...
  pid_t pid = spawn_voiceman(args, base / "log.txt");
  ASSERT_TRUE(wait_until([&] { return count_files(out / "transcripts", ".json") >= 3; }, 300));
  ::kill(pid, SIGKILL);
  EXPECT_EQ(wait_exit(pid), 128 + SIGKILL);
  // ...whatever made it to disk is whole (a temporary file may be left, never a torn one).
  for (const auto& e : fs::recursive_directory_iterator(out / "transcripts")) {
    if (e.path().extension() == ".json") {
      EXPECT_NO_THROW(nlohmann::json::parse(read_bytes(e.path()))) << e.path();
    }
  }
  // ...killed again early in the re-run (start-up, hashing, first file)...
  pid = spawn_voiceman(args, base / "log.txt");
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  ::kill(pid, SIGKILL);
  wait_exit(pid);
  // ...and the third run finishes everything exactly once.
  pid = spawn_voiceman(args, base / "log.txt");
  EXPECT_EQ(wait_exit(pid), 0) << read_bytes(base / "log.txt");
  expect_complete(out, rels);
  EXPECT_NE(read_bytes(base / "log.txt").find("already done"), std::string::npos);
  std::string log;
  EXPECT_EQ(voiceman("verify " + quote(out.string()), &log), 0) << log;
}

TEST_F(RunCli, SigintStopsCleanlyAndTheRunResumes) {
  const fs::path base = voiceman::testing::scratch_dir("cli_sigint");
  std::vector<std::string> rels;
  // Enough files that the run cannot finish between the first output and the signal.
  for (size_t i = 0; i < 16; ++i) {
    const std::string rel = fs::path((*rels_)[i]).filename().string();
    fs::create_directories(base / "in");
    fs::copy_file(*tree_ / (*rels_)[i], base / "in" / rel);
    rels.push_back(rel);
  }
  const fs::path out = base / "out";
  const std::vector<std::string> args = one_file_per_batch_args(base / "in", out);
  pid_t pid = spawn_voiceman(args, base / "log.txt");
  ASSERT_TRUE(wait_until([&] { return count_files(out / "transcripts", ".json") >= 1; }, 300));
  ::kill(pid, SIGINT);
  EXPECT_EQ(wait_exit(pid), 130);
  const std::string log = read_bytes(base / "log.txt");
  EXPECT_NE(log.find("stopping after the current batch"), std::string::npos) << log;
  EXPECT_NE(log.find("re-run the same command to resume"), std::string::npos) << log;
  const auto m = nlohmann::json::parse(read_bytes(out / "manifest.json"));
  EXPECT_EQ(m["status"], "interrupted");
  EXPECT_GT(m["summary"]["pending"].get<int>(), 0);
  pid = spawn_voiceman(args, base / "log2.txt");
  EXPECT_EQ(wait_exit(pid), 0) << read_bytes(base / "log2.txt");
  expect_complete(out, rels);
}

TEST_F(RunCli, ProgressBarOnATerminalAndCudaFallback) {
  const fs::path base = voiceman::testing::scratch_dir("cli_tty");
  fs::create_directories(base / "in");
  fs::copy_file(*tree_ / (*rels_)[0], base / "in" / "a.m4a");
  fs::copy_file(*tree_ / (*rels_)[3], base / "in" / "b.flac");
  // script(1) gives the child a pseudo-terminal, so stderr is a TTY.
  const std::string cmd = quote(voiceman::testing::voiceman_binary().string()) + " run " +
                          quote((base / "in").string()) + " -o " + quote((base / "out").string()) +
                          kFast + " --device cuda --cuda-graphs --int8-cross-kv";
  std::string log;
  ASSERT_EQ(voiceman::testing::run_shell("script -qec " + quote(cmd) + " /dev/null", &log), 0)
      << log;
  EXPECT_NE(log.find("2/2 files"), std::string::npos) << log;
  EXPECT_NE(log.find("h audio"), std::string::npos) << log;
  EXPECT_NE(log.find("x realtime"), std::string::npos) << log;
  EXPECT_NE(log.find("ETA"), std::string::npos) << log;
  const auto m = nlohmann::json::parse(read_bytes(base / "out" / "manifest.json"));
  EXPECT_EQ(m["options"]["device"], "cuda");
  EXPECT_EQ(m["options"]["cuda_graphs"], true);
  // int8 cross keys and values change results, so the transcript settings record them.
  EXPECT_EQ(m["options"]["cross_keys_values"], "int8");
  EXPECT_EQ(m["summary"]["ok"], 2) << m["summary"].dump();
  if (!fs::exists("/dev/nvidia0")) {
    EXPECT_NE(log.find("GPU not available, using CPU fallback"), std::string::npos) << log;
    EXPECT_EQ(m["options"]["device_effective"], "cpu");
    // The record keeps the reason the log gave.
    const std::string why = m["options"]["device_fallback"];
    EXPECT_EQ(why.rfind("GPU not available: ", 0), 0u) << why;
    EXPECT_NE(log.find("using CPU fallback (" + why + ")"), std::string::npos) << log;
    EXPECT_EQ(m["options"]["cuda_graphs_effective"], false) << "no graphs on the CPU";
    EXPECT_FALSE(m["options"].contains("gpu_effective"));
    EXPECT_FALSE(m["options"].contains("log_mel_spectrum_effective"));
    // The CPU's batch starts at 8 windows and holds there.
    EXPECT_EQ(m["options"]["batch_effective"], nlohmann::json({{"initial", 8}, {"max", 8}}));
  } else {
    EXPECT_EQ(m["options"]["batch_effective"], nlohmann::json({{"initial", 20}, {"max", 32}}));
    EXPECT_FALSE(m["options"].contains("device_fallback"));
    // The record names the card and the libraries that made the transcripts.
    const auto& gpu = m["options"]["gpu_effective"];
    ASSERT_EQ(gpu["devices"].size(), 1u) << gpu.dump();
    EXPECT_EQ(gpu["devices"][0]["device"], m["options"]["device_effective"]);
    EXPECT_FALSE(gpu["devices"][0]["name"].get<std::string>().empty());
    EXPECT_FALSE(gpu["cublas"].get<std::string>().empty());
    // float16 by default on a GPU, so the features' DFT is taken in float.
    EXPECT_EQ(m["options"]["compute_type_effective"], "float16");
    EXPECT_EQ(m["options"]["log_mel_spectrum_effective"], "float32");
  }
}

}  // namespace
}  // namespace voiceman::cli::test
