// The native diarizer on the real two-speaker call (../shared/data/sample.wav, reference
// sample.rttm), with the fetched models (scripts/fetch-diarization-models.sh). Skips when
// the models are missing.
#include <gtest/gtest.h>

#include <set>

#include "diarize/der.h"
#include "support/corpus.h"
#include "support/paths.h"
#include "voiceman/audio/decode.h"
#include "voiceman/diarize/diarizer.h"
#include "voiceman/writers/rttm_writer.h"

namespace voiceman::diarize {
namespace {

namespace fs = std::filesystem;

fs::path model(const char* name) { return voiceman::testing::model_dir("diarization") / name; }

TEST(DiarizerReal, TwoSpeakerCallHasTwoSpeakersAndLowDer) {
  const fs::path seg = model("segmentation-whisperx.bin"), enc = model("resemblyzer.pt");
  if (!fs::exists(seg) || !fs::exists(enc))
    GTEST_SKIP() << "diarization models missing (scripts/fetch-diarization-models.sh)";
  const fs::path data = voiceman::testing::shared_data_dir();
  const audio::Audio audio = audio::read_wav(data / "sample.wav");
  const auto ref = writers::parse_rttm(voiceman::testing::read_bytes(data / "sample.rttm"));
  ExecContext ctx;
  ctx.threads = 2;
  const Diarizer diarizer = Diarizer::load(seg, enc, ctx);
  DiarizeStats stats;
  const std::vector<SpeakerTurn> turns = diarizer.run(audio.samples, {}, &stats);

  std::set<std::string> speakers;
  for (const auto& t : turns) speakers.insert(t.speaker);
  EXPECT_EQ(speakers, (std::set<std::string>{"SPEAKER_00", "SPEAKER_01"}));
  const double der0 = voiceman::testing::diarization_error_rate(ref, turns, 0.0);
  const double der25 = voiceman::testing::diarization_error_rate(ref, turns, 0.25);
  std::cout << "sample.wav: " << speakers.size() << " speakers, DER " << der0 * 100
            << "% (collar 0), " << der25 * 100 << "% (collar 0.25); diarized in " << stats.total_s
            << " s (" << stats.windows << " windows, " << stats.embeddings << " embeddings)\n";
  EXPECT_LE(der25, 0.10);
  EXPECT_LE(der0, 0.15);
  // The first turn is the first speaker heard: Diane's "Hello?" at 6.7 s.
  ASSERT_FALSE(turns.empty());
  EXPECT_NEAR(turns.front().start, 6.69, 0.3);
  // The RTTM written for these turns reads back the same.
  const auto back = writers::parse_rttm(writers::to_rttm("sample", turns));
  ASSERT_EQ(back.size(), turns.size());
  for (size_t i = 0; i < turns.size(); ++i) {
    EXPECT_NEAR(back[i].start, turns[i].start, 1e-3);
    EXPECT_NEAR(back[i].end, turns[i].end, 2e-3);
    EXPECT_EQ(back[i].speaker, turns[i].speaker);
  }
  // Forcing the count gives it (coarser windows: this only checks the count).
  DiarizeOptions three;
  three.num_speakers = 3;
  three.segmentation_step = three.embedding_step = 0.5;
  speakers.clear();
  for (const auto& t : diarizer.run(audio.samples, three)) speakers.insert(t.speaker);
  EXPECT_EQ(speakers.size(), 3u);
}

}  // namespace
}  // namespace voiceman::diarize
