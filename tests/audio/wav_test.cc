// read_wav: the FFmpeg-free reader used on machines without FFmpeg.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "media_fixture.h"
#include "support/corpus.h"
#include "voiceman/audio/decode.h"
#include "voiceman/core/errors.h"

namespace voiceman::audio {
namespace {

namespace fs = std::filesystem;
using test::put16;
using test::put32;
using test::WavSpec;
using test::write_wav;

class ReadWav : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = voiceman::testing::scratch_dir("audio_read_wav"); }
  fs::path dir_;
};

TEST_F(ReadWav, Pcm16MonoIsScaledBy32768) {
  write_wav(dir_ / "a.wav", {}, test::pcm16({0, 16384, -32768, 32767, -1}));
  const Audio audio = read_wav(dir_ / "a.wav");
  EXPECT_EQ(audio.source_sample_rate, 16000);
  EXPECT_EQ(audio.source_channels, 1);
  EXPECT_EQ(audio.samples,
            (std::vector<float>{0.0f, 0.5f, -1.0f, 32767.0f / 32768.0f, -1.0f / 32768.0f}));
}

TEST_F(ReadWav, EveryPcmWidthAndFloat) {
  std::string u8, s24, s32, f32, f64;
  for (uint8_t v : {128, 192, 0, 255}) u8 += static_cast<char>(v);
  for (int32_t v : {0, 4194304, -8388608, 8388607}) {
    s24 += static_cast<char>(v & 0xFF);
    s24 += static_cast<char>((v >> 8) & 0xFF);
    s24 += static_cast<char>((v >> 16) & 0xFF);
  }
  for (int64_t v : {0LL, 1073741824LL, -2147483648LL, 2147483647LL}) {
    put32(s32, static_cast<uint32_t>(static_cast<int32_t>(v)));
  }
  for (float v : {0.0f, 0.5f, -1.0f, 0.25f}) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    put32(f32, bits);
  }
  for (double v : {0.0, 0.5, -1.0, 0.25}) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    put32(f64, static_cast<uint32_t>(bits));
    put32(f64, static_cast<uint32_t>(bits >> 32));
  }
  write_wav(dir_ / "u8.wav", {.bits = 8}, u8);
  write_wav(dir_ / "s24.wav", {.bits = 24}, s24);
  write_wav(dir_ / "s32.wav", {.bits = 32}, s32);
  write_wav(dir_ / "f32.wav", {.format_tag = 3, .bits = 32}, f32);
  write_wav(dir_ / "f64.wav", {.format_tag = 3, .bits = 64}, f64);
  write_wav(dir_ / "ext.wav", {.format_tag = 0xFFFE, .bits = 32, .sub_format = 3}, f32);

  EXPECT_EQ(read_wav(dir_ / "u8.wav").samples,
            (std::vector<float>{0.0f, 0.5f, -1.0f, 127.0f / 128}));
  const auto s24_samples = read_wav(dir_ / "s24.wav").samples;
  ASSERT_EQ(s24_samples.size(), 4u);
  EXPECT_EQ(s24_samples[1], 0.5f);
  EXPECT_EQ(s24_samples[2], -1.0f);
  EXPECT_NEAR(s24_samples[3], 1.0f, 2e-7);
  const auto s32_samples = read_wav(dir_ / "s32.wav").samples;
  ASSERT_EQ(s32_samples.size(), 4u);
  EXPECT_EQ(s32_samples[1], 0.5f);
  EXPECT_EQ(s32_samples[2], -1.0f);
  const std::vector<float> floats = {0.0f, 0.5f, -1.0f, 0.25f};
  EXPECT_EQ(read_wav(dir_ / "f32.wav").samples, floats);
  EXPECT_EQ(read_wav(dir_ / "f64.wav").samples, floats);
  EXPECT_EQ(read_wav(dir_ / "ext.wav").samples, floats);
}

TEST_F(ReadWav, FloatBeyondFullScaleIsClipped) {
  std::string f32;
  for (float v : {1.5f, -2.0f, 0.5f}) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    put32(f32, bits);
  }
  write_wav(dir_ / "loud.wav", {.format_tag = 3, .bits = 32}, f32);
  EXPECT_EQ(read_wav(dir_ / "loud.wav").samples, (std::vector<float>{1.0f, -1.0f, 0.5f}));
}

TEST_F(ReadWav, FloatNanIsSilenceAndInfinityFullScale) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  std::string f32;
  for (float v : {0.25f, nan, inf, -inf, 0.5f}) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    put32(f32, bits);
  }
  write_wav(dir_ / "damaged.wav", {.format_tag = 3, .bits = 32}, f32);
  EXPECT_EQ(read_wav(dir_ / "damaged.wav").samples,
            (std::vector<float>{0.25f, 0.0f, 1.0f, -1.0f, 0.5f}));
  std::string f64;  // finite, but past float's range
  for (double v : {1e300, -1e300, 0.5}) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    put32(f64, static_cast<uint32_t>(bits));
    put32(f64, static_cast<uint32_t>(bits >> 32));
  }
  write_wav(dir_ / "huge.wav", {.format_tag = 3, .sample_rate = 8000, .bits = 64}, f64);
  for (float v : read_wav(dir_ / "huge.wav").samples) ASSERT_TRUE(std::isfinite(v));
  // Resampled, a NaN would have spread through the filter to every sample near it.
  std::string long_f32;
  for (int i = 0; i < 800; ++i) {
    const float v = i == 400 ? nan : i == 401 ? inf : 0.1f;
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    put32(long_f32, bits);
  }
  write_wav(dir_ / "damaged8k.wav", {.format_tag = 3, .sample_rate = 8000, .bits = 32}, long_f32);
  const Audio audio = read_wav(dir_ / "damaged8k.wav");
  ASSERT_EQ(audio.samples.size(), 1600u);
  for (float v : audio.samples) ASSERT_TRUE(std::isfinite(v));
}

TEST_F(ReadWav, StereoDownmixAndChannelPick) {
  // Interleaved L R frames.
  write_wav(dir_ / "st.wav", {.channels = 2}, test::pcm16({1000, 3000, -2000, 2000, 16384, 0}));
  const Audio mix = read_wav(dir_ / "st.wav");
  EXPECT_EQ(mix.source_channels, 2);
  EXPECT_EQ(mix.samples, (std::vector<float>{2000.0f / 32768, 0.0f, 8192.0f / 32768}));
  EXPECT_EQ(read_wav(dir_ / "st.wav", {.channel = 1}).samples,
            (std::vector<float>{3000.0f / 32768, 2000.0f / 32768, 0.0f}));
  try {
    read_wav(dir_ / "st.wav", {.channel = 2});
    FAIL() << "expected MediaError";
  } catch (const MediaError& e) {
    EXPECT_NE(std::string(e.what()).find("st.wav"), std::string::npos) << e.what();
  }
}

TEST_F(ReadWav, ThreeChannelsPickTheMiddleOne) {
  write_wav(dir_ / "3ch.wav", {.channels = 3}, test::pcm16({1, 2, 3, 4, 5, 6}));
  const Audio audio = read_wav(dir_ / "3ch.wav", {.channel = 1});
  EXPECT_EQ(audio.source_channels, 3);
  EXPECT_EQ(audio.samples, (std::vector<float>{2.0f / 32768, 5.0f / 32768}));
}

TEST_F(ReadWav, SkipsUnknownChunksAndPadBytes) {
  std::string list = "LIST";
  put32(list, 5);  // odd size: followed by one pad byte
  list += std::string("INFOx\0", 6);
  write_wav(dir_ / "list.wav", {}, test::pcm16({7, 8}), 0, true, list);
  EXPECT_EQ(read_wav(dir_ / "list.wav").samples, (std::vector<float>{7.0f / 32768, 8.0f / 32768}));
}

TEST_F(ReadWav, TruncatedDataKeepsWhatIsThere) {
  // Header claims 1000 bytes; only 3 samples and half a fourth are present.
  std::string payload = test::pcm16({10, 20, 30});
  payload += '\x01';
  write_wav(dir_ / "cut.wav", {}, payload, 1000);
  EXPECT_EQ(read_wav(dir_ / "cut.wav").samples,
            (std::vector<float>{10.0f / 32768, 20.0f / 32768, 30.0f / 32768}));
}

// A recorder that stopped before writing the data size leaves 0 there: the samples are
// read to the end of the file, as FFmpeg does.
TEST_F(ReadWav, ZeroDataSizeReadsToTheEnd) {
  const fs::path wav = dir_ / "unfinished.wav";
  write_wav(wav, {}, test::pcm16({10, 20, 30}));
  std::string bytes = voiceman::testing::read_bytes(wav);
  const size_t data = bytes.find("data");
  ASSERT_NE(data, std::string::npos);
  bytes.replace(data + 4, 4, std::string(4, '\0'));
  voiceman::testing::write_bytes(wav, bytes);
  const std::vector<float> expected{10.0f / 32768, 20.0f / 32768, 30.0f / 32768};
  EXPECT_EQ(read_wav(wav).samples, expected);
  EXPECT_EQ(decode_file(wav).samples, expected);  // FFmpeg, where built in
}

TEST_F(ReadWav, BrokenHeadersNameTheFile) {
  write_wav(dir_ / "nofmt.wav", {}, test::pcm16({1, 2}), 0, false);
  write_wav(dir_ / "alaw.wav", {.format_tag = 6, .bits = 8}, "\x01\x02");
  write_wav(dir_ / "bits12.wav", {.bits = 12}, "\x01\x02");
  std::ofstream(dir_ / "short.wav", std::ios::binary) << "RIFF";
  struct Case {
    const char* name;
    const char* reason;
  };
  for (const Case& c :
       {Case{"nofmt.wav", "corrupt or truncated media"},
        Case{"alaw.wav", "unsupported WAV encoding"},
        Case{"bits12.wav", "unsupported WAV sample size"}, Case{"short.wav", "not audio"}}) {
    try {
      read_wav(dir_ / c.name);
      ADD_FAILURE() << "expected MediaError for " << c.name;
    } catch (const MediaError& e) {
      EXPECT_NE(std::string(e.what()).find(c.name), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(c.reason), std::string::npos) << e.what();
    }
  }
}

TEST_F(ReadWav, ResamplesToSixteenKilohertz) {
  // 1 s of a 1 kHz tone at 44.1 kHz becomes 16000 samples of the same tone.
  std::vector<int16_t> tone(44100);
  for (size_t i = 0; i < tone.size(); ++i) {
    tone[i] = static_cast<int16_t>(std::lround(16384 * std::sin(2 * M_PI * 1000 * i / 44100.0)));
  }
  write_wav(dir_ / "tone44.wav", {.sample_rate = 44100}, test::pcm16(tone));
  const Audio audio = read_wav(dir_ / "tone44.wav");
  EXPECT_EQ(audio.source_sample_rate, 44100);
  ASSERT_EQ(audio.samples.size(), 16000u);
  double worst = 0.0;
  for (size_t j = 200; j + 200 < audio.samples.size(); ++j) {  // away from the edges
    worst =
        std::max(worst, std::abs(audio.samples[j] - 0.5 * std::sin(2 * M_PI * 1000 * j / 16000.0)));
  }
  EXPECT_LT(worst, 1e-4);  // s16 quantisation (1.5e-5) plus filter error
}

TEST_F(ReadWav, MatchesFfmpegOnJfkResampledFrom44k) {
  if (!have_ffmpeg() || !test::have_ffmpeg_cli()) GTEST_SKIP() << "needs FFmpeg";
  const fs::path wav = dir_ / "jfk44.wav";
  ASSERT_TRUE(
      test::ffmpeg_make("-i " + test::shell_quote(test::jfk().string()) + " -c:a pcm_s16le", wav));
  const Audio ours = read_wav(wav);
  const Audio ffmpeg = decode_file(wav);
  ASSERT_EQ(ours.samples.size(), ffmpeg.samples.size());
  double worst = 0.0, sum_sq = 0.0;
  for (size_t i = 0; i < ours.samples.size(); ++i) {
    const double d = std::abs(ours.samples[i] - ffmpeg.samples[i]);
    worst = std::max(worst, d);
    sum_sq += d * d;
  }
  // Different anti-alias filters differ only near 8 kHz: measured max 9.7e-4, rms 2.7e-5.
  EXPECT_LT(worst, 2e-3);
  EXPECT_LT(std::sqrt(sum_sq / ours.samples.size()), 1e-4);
}

}  // namespace
}  // namespace voiceman::audio

namespace voiceman::audio {
namespace {

// decode_file reads WAV in every build; without FFmpeg it refuses anything else by content.
TEST(DecodeFileAnyBuild, ReadsWav) {
  const auto wav = voiceman::testing::shared_data_dir() / "sample.wav";
  const Audio audio = decode_file(wav);
  ASSERT_EQ(audio.samples.size(), 480000u);
  EXPECT_EQ(audio.samples, read_wav(wav).samples);
}

TEST(DecodeFileAnyBuild, WithoutFfmpegOnlyWavIsAccepted) {
  if (have_ffmpeg()) GTEST_SKIP() << "this build has FFmpeg";
  try {
    decode_file(test::jfk());
    FAIL() << "expected MediaError";
  } catch (const MediaError& e) {
    EXPECT_NE(std::string(e.what()).find("jfk.flac"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("no FFmpeg"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace voiceman::audio
