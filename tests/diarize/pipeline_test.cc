// The whole pipeline on synthetic "speakers" (pure tones) with stand-in models computed
// from the signal itself: the segmentation model detects each tone per frame and reports
// the speakers of a window in order of first activity (so local slots change meaning from
// window to window, as a real model's do), the encoder returns the excerpt's spectrum at a
// few frequencies. The pipeline must stitch the windows back together by embedding.
#include "voiceman/diarize/pipeline.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "diarize/der.h"
#include "voiceman/core/errors.h"

namespace voiceman::diarize {
namespace {

constexpr int kRate = 1000;
constexpr int kFrame = 100;  // samples per segmentation frame (0.1 s)
const double kTones[3] = {50, 130, 270};
const double kDistractors[2] = {90, 200};

double tone_power(std::span<const float> x, double hz) {
  double re = 0, im = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double ph = 2 * M_PI * hz * double(i) / kRate;
    re += x[i] * std::cos(ph);
    im += x[i] * std::sin(ph);
  }
  return (re * re + im * im) / std::max<size_t>(1, x.size() * x.size());
}

SegmenterSpec spec() {
  SegmenterSpec s;
  s.sample_rate = kRate;
  s.window_samples = 5 * kRate;
  s.frames_per_window = 50;
  s.local_speakers = 3;
  s.timing = {0.0, 0.1, 0.1};
  return s;
}

Array3 fake_segment(std::span<const float> audio, int64_t step, int count) {
  const SegmenterSpec sp = spec();
  Array3 out(count, sp.frames_per_window, sp.local_speakers, 0.05f);
  for (int w = 0; w < count; ++w) {
    std::vector<float> window(sp.window_samples, 0.f);  // zeros past the end
    const int64_t start = std::min<int64_t>(w * step, audio.size());
    std::copy_n(audio.begin() + start,
                std::min<int64_t>(sp.window_samples, int64_t(audio.size()) - start), window.begin());
    std::vector<int> slot_of(3, -1);
    int next = 0;
    for (int f = 0; f < sp.frames_per_window; ++f) {
      const auto frame = std::span<const float>(window).subspan(f * kFrame, kFrame);
      for (int k = 0; k < 3; ++k) {
        if (tone_power(frame, kTones[k]) < 0.005) continue;
        if (slot_of[k] < 0) slot_of[k] = next++;
        out.at(w, f, slot_of[k]) = 0.9f;
      }
    }
  }
  return out;
}

std::vector<Embedding> fake_embed(const std::vector<std::span<const float>>& excerpts) {
  std::vector<Embedding> out;
  for (const auto& x : excerpts) {
    Embedding e;
    for (double hz : kTones) e.push_back(static_cast<float>(std::sqrt(tone_power(x, hz))));
    for (double hz : kDistractors) e.push_back(static_cast<float>(std::sqrt(tone_power(x, hz))));
    out.push_back(e);
  }
  return out;
}

struct Scene {
  std::vector<float> audio;
  std::vector<SpeakerTurn> truth;
};

// 60 s: three speakers taking turns, one second of overlap (27-28 s), silence at the end.
Scene make_scene() {
  Scene s;
  s.truth = {{0, 8, "A"},   {8, 15, "B"},  {15, 20, "A"}, {20, 28, "C"},
             {27, 35, "B"}, {35, 42, "A"}, {42, 50, "C"}, {50, 58, "B"}};
  s.audio.assign(60 * kRate, 0.0f);
  std::mt19937 rng(3);
  std::normal_distribution<float> noise(0.0f, 0.01f);
  for (size_t i = 0; i < s.audio.size(); ++i) {
    const double t = double(i) / kRate;
    for (const SpeakerTurn& turn : s.truth)
      if (t >= turn.start && t < turn.end)
        s.audio[i] += 0.3f * std::sin(2 * M_PI * kTones[turn.speaker[0] - 'A'] * t);
    s.audio[i] += noise(rng);
  }
  return s;
}

std::set<std::string> speakers(const std::vector<SpeakerTurn>& turns) {
  std::set<std::string> out;
  for (const auto& t : turns) out.insert(t.speaker);
  return out;
}

TEST(Pipeline, FindsThreeToneSpeakersWithOverlap) {
  const Scene scene = make_scene();
  DiarizeStats stats;
  DiarizeOptions o;
  o.segmentation_step = 0.1;  // pyannote's step
  o.embedding_step = 0.5;
  const auto turns = diarize(scene.audio, spec(), fake_segment, fake_embed, o, &stats);
  EXPECT_EQ(speakers(turns), (std::set<std::string>{"SPEAKER_00", "SPEAKER_01", "SPEAKER_02"}));
  const double der = testing::diarization_error_rate(scene.truth, turns);
  EXPECT_LT(der, 0.03) << "DER " << der;
  ASSERT_FALSE(turns.empty());
  EXPECT_EQ(turns.front().speaker, "SPEAKER_00");
  EXPECT_NEAR(turns.front().start, 0.0, 0.15);
  // The overlap is kept: at 27.5 s two speakers are active.
  int active = 0;
  for (const auto& t : turns) active += t.start <= 27.5 && t.end >= 27.5;
  EXPECT_EQ(active, 2);
  EXPECT_EQ(stats.windows, 111);          // 0, 0.5, ..., 55 s
  EXPECT_EQ(stats.embedded_windows, 23);  // every fifth, and the last
  EXPECT_EQ(stats.speakers, 3);
  EXPECT_GT(stats.clustered, 0);
  EXPECT_LE(stats.clustered, stats.embeddings);
}

TEST(Pipeline, ForcedAndBoundedSpeakerCounts) {
  const Scene scene = make_scene();
  DiarizeOptions o;
  o.num_speakers = 2;
  EXPECT_EQ(speakers(diarize(scene.audio, spec(), fake_segment, fake_embed, o)).size(), 2u);
  o = {};
  o.max_speakers = 2;
  EXPECT_EQ(speakers(diarize(scene.audio, spec(), fake_segment, fake_embed, o)).size(), 2u);
  o = {};
  o.min_speakers = 3;
  o.max_speakers = 5;
  EXPECT_EQ(speakers(diarize(scene.audio, spec(), fake_segment, fake_embed, o)).size(), 3u);
}

TEST(Pipeline, EmbeddingEveryWindowGivesTheSameSpeakers) {
  const Scene scene = make_scene();
  DiarizeOptions o;
  o.embedding_step = o.segmentation_step;  // pyannote's choice: embed every window
  DiarizeStats stats;
  const auto turns = diarize(scene.audio, spec(), fake_segment, fake_embed, o, &stats);
  EXPECT_EQ(stats.embedded_windows, stats.windows);
  EXPECT_EQ(speakers(turns).size(), 3u);
  EXPECT_LT(testing::diarization_error_rate(scene.truth, turns), 0.03);
}

TEST(Pipeline, SilenceShortAudioAndBadOptions) {
  std::vector<float> silence(20 * kRate, 0.0f);
  EXPECT_TRUE(diarize(silence, spec(), fake_segment, fake_embed, {}).empty());
  EXPECT_TRUE(diarize({}, spec(), fake_segment, fake_embed, {}).empty());
  // Shorter than one window: one padded window, one speaker.
  std::vector<float> beep(3 * kRate);
  for (size_t i = 0; i < beep.size(); ++i) beep[i] = 0.3f * std::sin(2 * M_PI * 130 * i / kRate);
  const auto turns = diarize(beep, spec(), fake_segment, fake_embed, {});
  ASSERT_EQ(turns.size(), 1u);
  EXPECT_NEAR(turns[0].end, 3.0, 0.11);
  DiarizeOptions bad;
  bad.offset = 0.9;  // above onset
  EXPECT_THROW(diarize(beep, spec(), fake_segment, fake_embed, bad), ConfigError);
}

TEST(SelectExcerpts, DropsOverlapWhenEnoughCleanSpeechRemains) {
  const SegmenterSpec sp = spec();
  std::vector<float> audio(5 * kRate);
  for (size_t i = 0; i < audio.size(); ++i) audio[i] = float(i);  // sample = its index
  Array3 bin(1, 50, 3);
  for (int f = 0; f < 30; ++f) bin.at(0, f, 0) = 1;   // speaker 0: 0-3 s
  for (int f = 20; f < 35; ++f) bin.at(0, f, 1) = 1;  // speaker 1: 2-3.5 s (1 s overlapped)
  bin.at(0, 40, 2) = 1;                               // speaker 2: 0.1 s, too short
  DiarizeOptions o;
  const auto ex = select_excerpts(audio, 0, bin, 0, 50, sp, o);
  ASSERT_EQ(ex.size(), 2u);
  // Speaker 0 has 2 s of clean speech: only that is embedded, and it is confident.
  EXPECT_EQ(ex[0].speaker, 0);
  EXPECT_EQ(ex[0].samples.size(), 2000u);
  EXPECT_EQ(ex[0].samples.front(), 0.0f);
  EXPECT_EQ(ex[0].samples.back(), 1999.0f);
  EXPECT_TRUE(ex[0].confident);
  // Speaker 1 has 0.5 s clean (< min_clean_speech_s): all of its 1.5 s is embedded, but it
  // is not confident enough to be clustered (0.5 s clean < 20% of the window).
  EXPECT_EQ(ex[1].speaker, 1);
  EXPECT_EQ(ex[1].samples.size(), 1500u);
  EXPECT_EQ(ex[1].samples.front(), 2000.0f);
  EXPECT_FALSE(ex[1].confident);
  // Frames past the end of the audio are ignored; the window start is honoured, and
  // excerpts are clipped to the audio.
  const auto cut = select_excerpts(audio, 0, bin, 0, 25, sp, o);
  ASSERT_EQ(cut.size(), 2u);
  EXPECT_EQ(cut[0].samples.size(), 2000u);
  EXPECT_EQ(cut[1].samples.size(), 500u);  // 2-2.5 s, all overlapped
  const auto later = select_excerpts(audio, 2000, bin, 0, 50, sp, o);
  ASSERT_EQ(later.size(), 2u);
  EXPECT_EQ(later[0].samples.front(), 2000.0f);
  EXPECT_EQ(later[0].samples.size(), 2000u);
  EXPECT_EQ(later[1].samples.size(), 1000u);  // 4000-5500 clipped at 5000
  EXPECT_EQ(later[1].samples.back(), 4999.0f);
}

}  // namespace
}  // namespace voiceman::diarize
