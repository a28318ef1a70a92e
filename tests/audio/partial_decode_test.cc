// A recording that decodes only in part (cut off, or bad data in the middle) keeps the
// audio that decoded, and says so in Audio::warnings, which the run keeps in the
// manifest: a transcript of part of a piece of evidence must not pass for the whole.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "media_fixture.h"
#include "voiceman/audio/decode.h"

namespace voiceman::audio {
namespace {

namespace fs = std::filesystem;

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string joined(const Audio& a) {
  std::string all;
  for (const std::string& w : a.warnings) all += w + "\n";
  return all;
}

class PartialDecode : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_ffmpeg() || !test::have_ffmpeg_cli()) GTEST_SKIP() << "needs FFmpeg";
    dir_ = voiceman::testing::scratch_dir("audio_partial_decode");
  }
  fs::path dir_;
};

// Every recording of ../shared/data decodes whole: no warning on a sound file.
TEST_F(PartialDecode, SoundRecordingsHaveNoWarnings) {
  int decoded = 0;
  for (const auto& entry : fs::recursive_directory_iterator(voiceman::testing::shared_data_dir())) {
    const std::string ext = entry.path().extension().string();
    if (ext != ".wav" && ext != ".flac" && ext != ".mp3" && ext != ".m4a" && ext != ".ogg")
      continue;
    const Audio a = decode_file(entry.path());
    EXPECT_TRUE(a.warnings.empty()) << entry.path() << ": " << joined(a);
    ++decoded;
  }
  EXPECT_GT(decoded, 10);
}

// Cut off with its index at the front, an m4a, a FLAC and an mp3 still open and decode up
// to the cut (FFmpeg meets the half packet there as bad data); the container's own length
// tells that more was there.
TEST_F(PartialDecode, ACutOffRecordingSaysHowMuchOfItDecoded) {
  const std::string jfk = test::shell_quote(test::jfk().string());
  struct Case {
    const char* name;
    const char* args;
  };
  for (const Case c : {Case{"front.m4a", "-c:a aac -movflags +faststart"},
                       Case{"cut.flac", "-c:a flac"}, Case{"cut.mp3", "-c:a libmp3lame"}}) {
    SCOPED_TRACE(c.name);
    const fs::path whole = dir_ / (std::string("whole-") + c.name);
    ASSERT_TRUE(test::ffmpeg_make("-i " + jfk + " " + c.args, whole));
    const Audio full = decode_file(whole);
    EXPECT_TRUE(full.warnings.empty()) << joined(full);
    const std::string bytes = read_all(whole);
    const fs::path cut = dir_ / c.name;
    write_all(cut, bytes.substr(0, bytes.size() / 2));
    const Audio part = decode_file(cut);
    EXPECT_LT(part.duration_s(), 0.75 * full.duration_s());
    ASSERT_EQ(part.warnings.size(), 1u) << joined(part);
    EXPECT_NE(part.warnings[0].find("the container declares"), std::string::npos)
        << part.warnings[0];
  }
}

// A WAV whose data chunk is cut short says how many of its bytes are there.
TEST_F(PartialDecode, ACutOffWavSaysSo) {
  const fs::path whole = dir_ / "whole.wav";
  ASSERT_TRUE(test::ffmpeg_make("-i " + test::shell_quote(test::jfk().string()), whole));
  const std::string bytes = read_all(whole);
  const fs::path cut = dir_ / "cut.wav";
  write_all(cut, bytes.substr(0, bytes.size() / 2));
  // FFmpeg takes the data to the end of the file for all there is; the header says more.
  const Audio ffmpeg = decode_file(cut);
  EXPECT_NE(joined(ffmpeg).find("cut short: "), std::string::npos) << joined(ffmpeg);
  const Audio ours = read_wav(cut);
  ASSERT_EQ(ours.warnings.size(), 1u);
  EXPECT_NE(ours.warnings[0].find("cut short"), std::string::npos) << joined(ours);
}

// Bad data in the middle stops decoding there, as faster-whisper's PyAV decode does; the
// audio before it is kept and the warning says where it stopped.
TEST_F(PartialDecode, BadDataInTheMiddleSaysWhereDecodingStopped) {
  const fs::path whole = dir_ / "whole-adts.aac";
  ASSERT_TRUE(
      test::ffmpeg_make("-i " + test::shell_quote(test::jfk().string()) + " -c:a aac", whole));
  std::string bytes = read_all(whole);
  const size_t from = bytes.size() / 2;
  uint32_t state = 7;
  for (size_t i = from; i < from + 4096 && i < bytes.size(); ++i) {
    state = state * 1664525u + 1013904223u;
    bytes[i] = static_cast<char>(state >> 24);
  }
  const fs::path bad = dir_ / "bad.aac";
  write_all(bad, bytes);
  const Audio a = decode_file(bad);
  ASSERT_FALSE(a.warnings.empty());
  EXPECT_NE(joined(a).find("decoding stopped at"), std::string::npos) << joined(a);
}

}  // namespace
}  // namespace voiceman::audio
