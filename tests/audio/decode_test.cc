// decode_file through FFmpeg. Reference values come from faster-whisper 1.2.1's
// decode_audio() (PyAV) on the same files; FLAC and 16-bit WAV are lossless so they match
// to the last bit, lossy codecs within one s16 step across FFmpeg versions.
#include "voiceman/audio/decode.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "media_fixture.h"
#include "voiceman/core/errors.h"

namespace voiceman::audio {
namespace {

namespace fs = std::filesystem;
using voiceman::testing::shared_data_dir;

constexpr float kLsb = 1.0f / 32768.0f;

#define SKIP_WITHOUT_FFMPEG() \
  if (!have_ffmpeg()) GTEST_SKIP() << "built without FFmpeg"

TEST(DecodeFile, JfkFlacIsElevenSecondsAtSixteenKilohertz) {
  SKIP_WITHOUT_FFMPEG();
  const Audio audio = decode_file(test::jfk());
  EXPECT_EQ(audio.source_sample_rate, 44100);
  EXPECT_EQ(audio.source_channels, 2);
  ASSERT_EQ(audio.samples.size(), 176000u);
  EXPECT_DOUBLE_EQ(audio.duration_s(), 11.0);
  // decode_audio(jfk.flac)[i] from faster-whisper.
  EXPECT_EQ(audio.samples[0], 0.0f);
  EXPECT_FLOAT_EQ(audio.samples[1000], 3.05175781e-05f);
  EXPECT_FLOAT_EQ(audio.samples[50000], -0.00396728516f);
  EXPECT_FLOAT_EQ(audio.samples[88000], 0.141540527f);
  EXPECT_FLOAT_EQ(audio.samples[150000], -0.0146484375f);
  EXPECT_FLOAT_EQ(audio.samples[175999], -0.0139160156f);
  EXPECT_NEAR(test::rms(audio.samples), 0.142101486, 1e-6);
}

TEST(DecodeFile, ChannelPickingMatchesSplitStereo) {
  SKIP_WITHOUT_FFMPEG();
  // decode_audio(jfk.flac, split_stereo=True): left / right at the same indices.
  const Audio left = decode_file(test::jfk(), {.channel = 0});
  const Audio right = decode_file(test::jfk(), {.channel = 1});
  ASSERT_EQ(left.samples.size(), 176000u);
  ASSERT_EQ(right.samples.size(), 176000u);
  EXPECT_FLOAT_EQ(left.samples[1000], -9.15527344e-05f);
  EXPECT_FLOAT_EQ(right.samples[1000], 0.000152587891f);
  EXPECT_FLOAT_EQ(left.samples[50000], -0.00445556641f);
  EXPECT_FLOAT_EQ(right.samples[50000], -0.00347900391f);
  EXPECT_FLOAT_EQ(left.samples[88000], 0.140869141f);
  EXPECT_FLOAT_EQ(right.samples[88000], 0.142181396f);
  EXPECT_NEAR(test::rms(left.samples), 0.141950555, 1e-6);
  EXPECT_NEAR(test::rms(right.samples), 0.14227731, 1e-6);
}

// Channels with no speaker layout are microphones, not a surround mix: each counts the
// same, as in the WAV reader. swresample's default layouts would weigh them unequally and
// drop the one in the LFE position (channel 2 of 3, 3 of 6 or 8) altogether.
TEST(DecodeFile, ChannelsWithoutALayoutAreAveraged) {
  SKIP_WITHOUT_FFMPEG();
  const fs::path dir = voiceman::testing::scratch_dir("decode_many_channels");
  for (const auto& [channels, live] : {std::pair{3, 2}, {4, 0}, {6, 3}, {8, 3}}) {
    SCOPED_TRACE(std::to_string(channels) + " channels, live " + std::to_string(live));
    std::vector<int16_t> frames(static_cast<size_t>(channels) * 1600, 0);
    for (size_t f = 0; f < 1600; ++f)
      frames[f * channels + live] = static_cast<int16_t>(600 * channels);
    const fs::path wav = dir / ("ch" + std::to_string(channels) + ".wav");
    test::write_wav(wav, {.channels = static_cast<uint16_t>(channels)}, test::pcm16(frames));
    const Audio audio = decode_file(wav);
    ASSERT_EQ(audio.samples.size(), 1600u);
    for (size_t i : {size_t{0}, size_t{800}, size_t{1599}})
      EXPECT_NEAR(audio.samples[i], 600 * kLsb, kLsb) << i;
    EXPECT_EQ(read_wav(wav).samples, std::vector<float>(1600, 600 * kLsb));
  }
}

TEST(DecodeFile, ChannelOutOfRangeNamesTheFile) {
  SKIP_WITHOUT_FFMPEG();
  try {
    decode_file(test::jfk(), {.channel = 2});
    FAIL() << "expected MediaError";
  } catch (const MediaError& e) {
    EXPECT_NE(std::string(e.what()).find("jfk.flac"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("channel 2"), std::string::npos) << e.what();
  }
}

TEST(DecodeFile, Mp3At48kHz) {
  SKIP_WITHOUT_FFMPEG();
  const Audio audio = decode_file(shared_data_dir() / "lhotse" / "common_voice_en_651325.mp3");
  EXPECT_EQ(audio.source_sample_rate, 48000);
  EXPECT_EQ(audio.source_channels, 1);
  ASSERT_EQ(audio.samples.size(), 38016u);
  EXPECT_NEAR(audio.samples[5000], -3.05175781e-05f, kLsb);
  EXPECT_NEAR(audio.samples[20000], -0.000274658203f, kLsb);
  EXPECT_NEAR(test::rms(audio.samples), 0.0164987674, 1e-5);
}

TEST(DecodeFile, SixteenKilohertzWavIsPassedThroughExactly) {
  SKIP_WITHOUT_FFMPEG();
  const fs::path wav = shared_data_dir() / "sample.wav";
  const Audio audio = decode_file(wav);
  EXPECT_EQ(audio.source_sample_rate, 16000);
  EXPECT_EQ(audio.source_channels, 1);
  ASSERT_EQ(audio.samples.size(), 480000u);
  EXPECT_FLOAT_EQ(audio.samples[5000], -3.05175781e-05f);
  EXPECT_FLOAT_EQ(audio.samples[479999], 0.00186157227f);
  EXPECT_NEAR(test::rms(audio.samples), 0.0214088323, 1e-6);
  // The FFmpeg-free reader must agree bit for bit on 16-bit 16 kHz mono.
  EXPECT_EQ(read_wav(wav).samples, audio.samples);
}

// Container/codec matrix, generated from jfk.flac with the ffmpeg CLI.
class GeneratedMedia : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!have_ffmpeg() || !test::have_ffmpeg_cli()) return;
    dir_ = new fs::path(voiceman::testing::scratch_dir("audio_generated_media"));
    const std::string in = "-i " + test::shell_quote(test::jfk().string());
    ok_ = test::ffmpeg_make(in + " -c:a aac -b:a 96k", *dir_ / "jfk.m4a") &&
          test::ffmpeg_make(in + " -c:a libvorbis", *dir_ / "jfk.ogg") &&
          test::ffmpeg_make(in + " -c:a libopus", *dir_ / "jfk.opus") &&
          test::ffmpeg_make(in + " -c:a libopus", *dir_ / "jfk.webm") &&
          test::ffmpeg_make(in + " -c:a libmp3lame", *dir_ / "jfk.mp3") &&
          test::ffmpeg_make("-f lavfi -i testsrc=duration=11:size=64x64:rate=5 " + in +
                                " -c:v mpeg4 -c:a aac -shortest",
                            *dir_ / "jfk_video.mp4") &&
          test::ffmpeg_make(in + " -c:a aac -f mov", *dir_ / "jfk.mov");
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (!have_ffmpeg()) GTEST_SKIP() << "built without FFmpeg";
    if (!test::have_ffmpeg_cli()) GTEST_SKIP() << "no ffmpeg command-line tool";
    ASSERT_TRUE(ok_) << "ffmpeg could not generate the test media";
  }
  static fs::path path(const std::string& name) { return *dir_ / name; }

  // Lossy re-encodes of jfk: about 11 s and about the same loudness as the original.
  static void expect_like_jfk(const fs::path& file, int source_rate) {
    SCOPED_TRACE(file.filename().string());
    const Audio audio = decode_file(file);
    EXPECT_EQ(audio.source_sample_rate, source_rate);
    EXPECT_NEAR(audio.duration_s(), 11.0, 0.1);
    EXPECT_NEAR(test::rms(audio.samples), 0.1421, 0.01);
  }

  static fs::path* dir_;
  static bool ok_;
};
fs::path* GeneratedMedia::dir_ = nullptr;
bool GeneratedMedia::ok_ = false;

TEST_F(GeneratedMedia, AacInM4a) { expect_like_jfk(path("jfk.m4a"), 44100); }
TEST_F(GeneratedMedia, Vorbis) { expect_like_jfk(path("jfk.ogg"), 44100); }
TEST_F(GeneratedMedia, Opus) { expect_like_jfk(path("jfk.opus"), 48000); }
TEST_F(GeneratedMedia, WebmAudioTrack) { expect_like_jfk(path("jfk.webm"), 48000); }
TEST_F(GeneratedMedia, Mp3) { expect_like_jfk(path("jfk.mp3"), 44100); }
TEST_F(GeneratedMedia, MovAudioTrack) { expect_like_jfk(path("jfk.mov"), 44100); }

TEST_F(GeneratedMedia, AudioTrackOfAVideo) { expect_like_jfk(path("jfk_video.mp4"), 44100); }

TEST_F(GeneratedMedia, UnicodeAndSpacesInTheName) {
  const fs::path named = path("녹음 파일 01.m4a");
  fs::copy_file(path("jfk.m4a"), named, fs::copy_options::overwrite_existing);
  EXPECT_EQ(decode_file(named).samples, decode_file(path("jfk.m4a")).samples);
}

TEST_F(GeneratedMedia, ColonInTheNameIsNotAProtocol) {
  const fs::path named = path("rec:01 10:30.m4a");
  fs::copy_file(path("jfk.m4a"), named, fs::copy_options::overwrite_existing);
  EXPECT_EQ(decode_file(named).samples.size(), decode_file(path("jfk.m4a")).samples.size());
}

TEST_F(GeneratedMedia, ReadOnlyOriginalDecodesAndIsLeftUntouched) {
  const fs::path original = path("evidence.m4a");
  fs::copy_file(path("jfk.m4a"), original, fs::copy_options::overwrite_existing);
  fs::permissions(original, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  const auto before = fs::last_write_time(original);
  const auto size = fs::file_size(original);
  EXPECT_NEAR(decode_file(original).duration_s(), 11.0, 0.1);
  EXPECT_EQ(fs::last_write_time(original), before);
  EXPECT_EQ(fs::file_size(original), size);
}

TEST_F(GeneratedMedia, PickingAChannelOfAStereoAac) {
  const Audio left = decode_file(path("jfk.m4a"), {.channel = 0});
  const Audio right = decode_file(path("jfk.m4a"), {.channel = 1});
  const Audio mix = decode_file(path("jfk.m4a"));
  ASSERT_EQ(left.samples.size(), mix.samples.size());
  ASSERT_EQ(right.samples.size(), mix.samples.size());
  // swresample's stereo->mono downmix is the mean of the two channels (to one s16 step
  // of rounding per path).
  double worst = 0.0;
  for (size_t i = 0; i < mix.samples.size(); ++i) {
    const double mean = 0.5 * (static_cast<double>(left.samples[i]) + right.samples[i]);
    worst = std::max(worst, std::abs(mean - mix.samples[i]));
  }
  EXPECT_LE(worst, 2.0 * kLsb);
  EXPECT_NE(left.samples, right.samples);
}

}  // namespace
}  // namespace voiceman::audio
