// Every way a recording can be unusable must end in a MediaError that names the file
// and says why, never a crash or a silent empty result.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "media_fixture.h"
#include "voiceman/audio/decode.h"
#include "voiceman/core/errors.h"

namespace voiceman::audio {
namespace {

namespace fs = std::filesystem;

// Runs decode and checks the MediaError names the file and contains `reason`.
template <typename Decode>
void expect_media_error(Decode decode, const fs::path& path, const std::string& reason) {
  SCOPED_TRACE(path.filename().string());
  try {
    decode(path);
    ADD_FAILURE() << "expected MediaError for " << path;
  } catch (const MediaError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(path.filename().string()), std::string::npos) << what;
    EXPECT_NE(what.find(reason), std::string::npos) << what;
  }
}

void expect_both_fail(const fs::path& path, const std::string& reason) {
  expect_media_error([](const fs::path& p) { return decode_file(p); }, path, reason);
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = voiceman::testing::scratch_dir("audio_bad_input"); }
  fs::path dir_;
};

TEST_F(BadInput, ZeroBytes) {
  const fs::path empty = dir_ / "empty.m4a";
  write_text(empty, "");
  expect_both_fail(empty, "zero bytes");
  expect_media_error([](const fs::path& p) { return read_wav(p); }, empty, "zero bytes");
}

TEST_F(BadInput, MissingFile) {
  expect_both_fail(dir_ / "no such recording.wav", "unreadable");
  expect_media_error([](const fs::path& p) { return read_wav(p); }, dir_ / "gone.wav",
                     "unreadable");
}

TEST_F(BadInput, Directory) {
  fs::create_directories(dir_ / "folder.wav");
  expect_both_fail(dir_ / "folder.wav", "unreadable");
  expect_media_error([](const fs::path& p) { return read_wav(p); }, dir_ / "folder.wav",
                     "unreadable");
}

TEST_F(BadInput, PermissionDenied) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads files regardless of permissions";
  const fs::path locked = dir_ / "locked.wav";
  write_text(locked, "RIFF....WAVE");
  fs::permissions(locked, fs::perms::none);
  expect_both_fail(locked, "unreadable");
  fs::permissions(locked, fs::perms::owner_all);
}

TEST_F(BadInput, TextRenamedToAudio) {
  const std::string text = "Meeting notes, not a recording.\nSecond line of plain text.\n";
  for (const char* name : {"notes.mp3", "notes.wav", "notes.m4a", "notes.flac"}) {
    write_text(dir_ / name, text);
    if (have_ffmpeg()) expect_both_fail(dir_ / name, "not audio");
  }
  expect_media_error([](const fs::path& p) { return read_wav(p); }, dir_ / "notes.wav",
                     "not audio");
}

TEST_F(BadInput, TruncatedM4a) {
  if (!have_ffmpeg() || !test::have_ffmpeg_cli()) GTEST_SKIP() << "needs FFmpeg";
  const fs::path whole = dir_ / "whole.m4a";
  ASSERT_TRUE(
      test::ffmpeg_make("-i " + test::shell_quote(test::jfk().string()) + " -c:a aac", whole));
  std::ifstream in(whole, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const fs::path half = dir_ / "half.m4a";
  write_text(half, bytes.substr(0, bytes.size() / 2));  // the index (moov) is at the end
  expect_both_fail(half, "corrupt or truncated media");
}

TEST_F(BadInput, VideoWithoutAudio) {
  if (!have_ffmpeg() || !test::have_ffmpeg_cli()) GTEST_SKIP() << "needs FFmpeg";
  const fs::path video = dir_ / "screen capture.mp4";
  ASSERT_TRUE(
      test::ffmpeg_make("-f lavfi -i testsrc=duration=1:size=64x64:rate=10 -c:v mpeg4", video));
  expect_both_fail(video, "no audio stream");
}

TEST_F(BadInput, RandomBytes) {
  std::string noise(20000, '\0');
  uint32_t state = 12345;
  for (char& c : noise) {
    state = state * 1664525u + 1013904223u;
    c = static_cast<char>(state >> 24);
  }
  write_text(dir_ / "noise.ogg", noise);
  if (have_ffmpeg()) expect_both_fail(dir_ / "noise.ogg", "cannot decode");
}

// A playlist or concat script under a recording's name must not be "decoded" from the
// files it names, which were never hashed.
TEST_F(BadInput, PlaylistsAndConcatScriptsAreRefused) {
  if (!have_ffmpeg()) GTEST_SKIP() << "needs FFmpeg";
  const std::string target = test::jfk().string();
  write_text(dir_ / "call.mp3",
             "#EXTM3U\n#EXT-X-TARGETDURATION:11\n#EXTINF:11,\n" + target + "\n#EXT-X-ENDLIST\n");
  expect_both_fail(dir_ / "call.mp3", "not audio");
  fs::copy_file(target, dir_ / "jfk.flac", fs::copy_options::overwrite_existing);
  write_text(dir_ / "call2.wav", "ffconcat version 1.0\nfile jfk.flac\n");
  expect_both_fail(dir_ / "call2.wav", "not audio");
}

}  // namespace
}  // namespace voiceman::audio
