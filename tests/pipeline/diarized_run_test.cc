// `voiceman run --diarize` on the two-speaker call of ../shared/data (sample.wav, with its
// reference RTTM and per-turn transcript sample.stm): two speakers, an RTTM, speakers on
// words that agree with the reference, and the speakers summary in the manifest.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "run_fixture.h"
#include "voiceman/core/errors.h"
#include "voiceman/engine/ops/ops.h"
#include "voiceman/manifest/manifest.h"

namespace voiceman::pipeline::test {
namespace {

struct RefTurn {
  double start = 0, end = 0;
  std::string speaker;
  int words = 0;
};

// sample.stm lines: "sample 1 SPEAKER START END TEXT..."
std::vector<RefTurn> read_stm(const fs::path& path) {
  std::vector<RefTurn> turns;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string file, channel, word;
    RefTurn t;
    ls >> file >> channel >> t.speaker >> t.start >> t.end;
    while (ls >> word) ++t.words;
    if (t.words > 0) turns.push_back(t);
  }
  return turns;
}

class DiarizedRun : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!engine_available()) GTEST_SKIP() << "needs models (tiny.en, Silero VAD) and ffmpeg";
    seg_ = voiceman::testing::model_dir("diarization/segmentation-whisperx.bin");
    spk_ = voiceman::testing::model_dir("diarization/resemblyzer.pt");
    ASSERT_TRUE(fs::exists(seg_) && fs::exists(spk_))
        << "scripts/fetch-models.sh fetches the diarization models into models/diarization";
  }
  fs::path seg_, spk_;
};

// The whole check for one compute type; `products` is the diarizer's expected LSTM
// arithmetic as the manifest records it.
void expect_two_speakers_on_the_words(const fs::path& seg, const fs::path& spk,
                                      const std::string& compute_type, const std::string& name,
                                      const std::string& products) {
  const fs::path data = voiceman::testing::shared_data_dir();
  const fs::path base = voiceman::testing::scratch_dir("diarized_run_" + name);
  fs::create_directories(base / "in" / "day 1");
  fs::copy_file(data / "sample.wav", base / "in" / "day 1" / "sample.wav");
  RunOptions o = fast_options({(base / "in").string()}, base / "out");
  o.compute_type = compute_type;
  o.diarize = true;
  o.segmentation_model = seg.string();
  o.speaker_model = spk.string();
  o.formats.push_back(writers::Format::rttm);
  const RunReport r = run_quietly(o);
  ASSERT_EQ(r.ok, 1);

  // RTTM: exactly two speakers.
  std::ifstream rttm(base / "out" / "transcripts" / "day 1" / "sample.wav.rttm");
  ASSERT_TRUE(rttm.good());
  std::set<std::string> rttm_speakers;
  std::string line;
  while (std::getline(rttm, line)) {
    std::istringstream ls(line);
    std::string type, file, channel, start, dur, o1, o2, speaker;
    ls >> type >> file >> channel >> start >> dur >> o1 >> o2 >> speaker;
    EXPECT_EQ(type, "SPEAKER");
    EXPECT_EQ(file, "day_1/sample.wav");  // the relative path: unique within OUT
    rttm_speakers.insert(speaker);
  }
  EXPECT_EQ(rttm_speakers.size(), 2u);

  // Words: each reference turn's words are matched by time (word middles inside the turn);
  // our labels are mapped to the reference names by the most frequent pairing.
  std::ifstream json_in(base / "out" / "transcripts" / "day 1" / "sample.wav.json");
  const nlohmann::json j = nlohmann::json::parse(json_in);
  struct W {
    double mid;
    std::string speaker;
  };
  std::vector<W> words;
  for (const auto& s : j.at("segments"))
    for (const auto& w : s.at("words"))
      words.push_back({(w.at("start").get<double>() + w.at("end").get<double>()) / 2,
                       w.at("speaker").get<std::string>()});
  ASSERT_GT(words.size(), 50u);
  const std::vector<RefTurn> ref = read_stm(data / "sample.stm");
  std::map<std::pair<std::string, std::string>, int> pairs;
  for (const W& w : words)
    for (const RefTurn& t : ref)
      if (w.mid >= t.start && w.mid <= t.end) ++pairs[{w.speaker, t.speaker}];
  std::vector<std::pair<int, std::pair<std::string, std::string>>> ranked;
  for (const auto& [k, n] : pairs) ranked.push_back({n, k});
  std::sort(ranked.rbegin(), ranked.rend());
  std::map<std::string, std::string> mapping;
  std::set<std::string> used;
  for (const auto& [n, k] : ranked)
    if (!mapping.count(k.first) && !used.count(k.second)) {
      mapping[k.first] = k.second;
      used.insert(k.second);
    }
  // Per reference turn, up to its word count of our words are matched to it by time.
  // Agreement: of the matched words, those whose speaker is the turn's. Coverage: matched
  // over all reference words (what the ASR itself got; tiny.en drops a few).
  int correct = 0, matched = 0, total = 0;
  for (const RefTurn& t : ref) {
    int inside = 0, good = 0;
    for (const W& w : words) {
      if (w.mid < t.start || w.mid > t.end) continue;
      ++inside;
      good += mapping[w.speaker] == t.speaker;
    }
    matched += std::min(inside, t.words);
    correct += std::min(good, t.words);
    total += t.words;
  }
  const double agreement = static_cast<double>(correct) / matched;
  const double coverage = static_cast<double>(matched) / total;
  std::cout << "speaker agreement with sample.stm: " << correct << "/" << matched << " = "
            << agreement << " of the matched reference words; coverage " << matched << "/" << total
            << " = " << coverage << "\n";
  EXPECT_GE(agreement, 0.85);
  EXPECT_GE(coverage, 0.80);

  // The manifest's speakers summary, and the arithmetic the diarizer used.
  const manifest::Manifest m = manifest::read_manifest(base / "out");
  EXPECT_EQ(m.options.value("diarization_lstm_products", ""), products);
  ASSERT_EQ(m.inputs.size(), 1u);
  ASSERT_EQ(m.inputs[0].speakers.size(), 2u);
  int summarized_words = 0;
  for (const auto& s : m.inputs[0].speakers) {
    EXPECT_GT(s.seconds, 3.0) << s.speaker;
    summarized_words += s.words;
  }
  EXPECT_EQ(summarized_words, static_cast<int>(words.size()));
}

TEST_F(DiarizedRun, Int8RunKeepsFloat32DiarizerAndGetsTwoSpeakersOnTheWords) {
  // int8: the same arithmetic on every x86 CPU.
  expect_two_speakers_on_the_words(seg_, spk_, "int8", "int8", "float32");
}

TEST_F(DiarizedRun, DefaultRunUsesBf16DiarizerWhereNativeAndGetsTwoSpeakersOnTheWords) {
  // auto: int8_bfloat16 where the CPU multiplies bf16, and then so do the diarizer's LSTMs.
  expect_two_speakers_on_the_words(seg_, spk_, "auto", "auto",
                                   ops::bf16_supported() ? "bfloat16" : "float32");
}

TEST(DiarizedRunOptions, RttmWithoutDiarizeIsRefused) {
  RunOptions o;
  o.inputs = {"x"};
  o.out_dir = "y";
  o.formats = {writers::Format::rttm};
  EXPECT_THROW(validate(o), ConfigError);
  o.diarize = true;
  EXPECT_NO_THROW(validate(o));
  o.diarization.num_speakers = -1;
  EXPECT_THROW(validate(o), ConfigError);
}

}  // namespace
}  // namespace voiceman::pipeline::test
