#include "voiceman/decoding/word_timing.h"

#include <gtest/gtest.h>

#include "voiceman/core/errors.h"

namespace voiceman::decoding {
namespace {

// Expected values come from faster-whisper 1.2.1's own merge_punctuations,
// find_alignment and add_word_timestamps (tests/decoding/faster_whisper_oracle.py).
constexpr int32_t kEot = 50257;
constexpr int32_t kTs = 50364;
using Tokens = std::vector<int32_t>;

WordTiming word(std::string w, Tokens tokens, double start = 0, double end = 0,
                float probability = 0) {
  return WordTiming{std::move(w), start, end, probability, std::move(tokens)};
}

TEST(MergePunctuations, MatchesFasterWhisper) {
  const std::vector<std::string> rows = {" \"", "Hi",  ",", " (", " '",  "there", ")",
                                         ".",   " ok", " ", "-",  "yes", "?"};
  std::vector<WordTiming> a;
  for (size_t i = 0; i < rows.size(); ++i) a.push_back(word(rows[i], {int32_t(i)}));
  merge_punctuations(a, kPrependPunctuations, kAppendPunctuations);
  const std::vector<std::pair<std::string, Tokens>> expected = {
      {"", {}},        {" \"Hi,", {0, 1, 2}},
      {"", {}},        {"", {}},
      {"", {}},        {" ( 'there).", {3, 4, 5, 6, 7}},
      {"", {}},        {"", {}},
      {" ok", {8}},    {"", {}},
      {" -", {9, 10}}, {"yes?", {11, 12}},
      {"", {}}};
  ASSERT_EQ(a.size(), expected.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].word, expected[i].first) << i;
    EXPECT_EQ(a[i].tokens, expected[i].second) << i;
  }
}

TEST(Round2, LikePythonRound) {
  EXPECT_EQ(round2(12.345678), 12.35);
  EXPECT_EQ(round2(0.125), 0.12);  // exact tie: to even
  EXPECT_EQ(round2(0.375), 0.38);
  EXPECT_EQ(round2(2.675), 2.67);  // 2.675 is stored just below
  EXPECT_EQ(round2(-1.005), -1.0);
}

std::vector<WordTiming> rule_alignment() {
  const std::vector<std::tuple<std::string, Tokens, double, double>> rows = {
      {" Hello", {100}, 0.0, 2.5}, {" world", {101, 102}, 2.5, 2.9}, {".", {103}, 2.9, 3.0},
      {" Next", {104}, 3.0, 5.0},  {" (", {105}, 5.0, 5.0},          {"one", {106}, 5.0, 5.3},
      {")", {107}, 5.3, 5.4},      {" two", {108}, 5.4, 5.8},        {"!", {109}, 5.8, 7.0},
      {" Long", {110}, 7.0, 9.5},  {" end", {111}, 9.5, 11.0},       {" Start", {112}, 11.0, 12.5},
      {" stop", {113}, 12.5, 14.0}};
  std::vector<WordTiming> a;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& [w, t, s, e] = rows[i];
    a.push_back(word(w, t, s, e, float(0.5 + 0.01 * double(i))));
  }
  return a;
}

SegmentTokens seg(double start, double end, Tokens tokens) {
  SegmentTokens s;
  s.seek = 1000;
  s.start = start;
  s.end = end;
  s.tokens = std::move(tokens);
  return s;
}

void expect_word(const WordTiming& w, const std::string& text, double start, double end) {
  EXPECT_EQ(w.word, text);
  EXPECT_EQ(w.start, start) << text;
  EXPECT_EQ(w.end, end) << text;
}

TEST(AddWordTimestamps, ClipsLongWordsAndSnapsSegments) {
  std::vector<SegmentTokens> segments = {
      seg(10.0, 13.0, {kTs, 100, 101, 102, 103, kTs + 150}),
      seg(13.0, 16.5, {kTs + 150, 104, 105, 106, 107, 108, 109, kTs + 325}),
      seg(17.8, 18.5, {kTs + 390, 110, 111, kTs + 425}),
      seg(22.0, 22.6, {kTs + 600, 112, 113, kTs + 630})};
  const auto r = add_word_timestamps(segments, rule_alignment(), 10.0, kEot, 2.0);
  ASSERT_EQ(r.words.size(), 4u);

  // A long first word after a pause is cut to twice the median duration.
  EXPECT_EQ(segments[0].start, 11.1);
  EXPECT_EQ(segments[0].end, 12.9);
  ASSERT_EQ(r.words[0].size(), 2u);
  expect_word(r.words[0][0], " Hello", 11.1, 12.5);
  expect_word(r.words[0][1], " world.", 12.5, 12.9);
  EXPECT_EQ(r.words[0][1].tokens, (Tokens{101, 102, 103}));
  EXPECT_FLOAT_EQ(r.words[0][1].probability, 0.51f);

  // A long word after a sentence end starts later; punctuation merges both ways.
  EXPECT_EQ(segments[1].start, 13.6);
  EXPECT_EQ(segments[1].end, 15.8);
  ASSERT_EQ(r.words[1].size(), 3u);
  expect_word(r.words[1][0], " Next", 13.6, 15.0);
  expect_word(r.words[1][1], " (one)", 15.0, 15.3);
  expect_word(r.words[1][2], " two!", 15.4, 15.8);

  // After a pause, two long words share a boundary (float result as in Python).
  EXPECT_EQ(segments[2].start, 18.200000000000003);
  EXPECT_EQ(segments[2].end, 21.0);
  ASSERT_EQ(r.words[2].size(), 2u);
  expect_word(r.words[2][0], " Long", 18.200000000000003, 19.6);
  expect_word(r.words[2][1], " end", 19.6, 21.0);

  // The segment's own timestamps win over a first/last word that overhangs them.
  EXPECT_EQ(segments[3].start, 22.0);
  EXPECT_EQ(segments[3].end, 22.6);
  ASSERT_EQ(r.words[3].size(), 2u);
  expect_word(r.words[3][0], " Start", 21.8, 22.5);
  expect_word(r.words[3][1], " stop", 22.5, 23.2);
  EXPECT_EQ(r.last_speech_timestamp, 22.6);
}

// Two heads over sot(3) + notimestamps + 5 text tokens + eot, 24 frames; text row r looks at
// frames starts[r] .. starts[r+1]-1, plus one spike the median filter removes.
std::vector<float> hand_attention() {
  const int heads = 2, sot = 3, text = 5, tokens = sot + text + 2, frames = 24;
  const int starts[] = {0, 3, 8, 10, 15, 21, 24};
  std::vector<float> w(size_t(heads * tokens * frames), 0.1f);
  auto at = [&](int h, int t, int f) -> float& { return w[size_t((h * tokens + t) * frames + f)]; };
  for (int r = 0; r <= text; ++r) {
    for (int h = 0; h < heads; ++h) {
      for (int f = starts[r]; f < starts[r + 1]; ++f) {
        at(h, sot + r, f) += 1.0f + 0.25f * float(h) + 0.1f * float(r % 2);
      }
    }
  }
  at(0, sot + 2, 9) += 0.5f;
  for (int h = 0; h < heads; ++h) {
    for (int t = 0; t < tokens; ++t) {
      float sum = 0;
      for (int f = 0; f < frames; ++f) sum += at(h, t, f);
      for (int f = 0; f < frames; ++f) at(h, t, f) /= sum;
    }
  }
  return w;
}

TEST(Alignment, AttentionToWordsEndToEnd) {
  const DtwPath path = attention_to_path(hand_attention(), 2, 10, 24, 3, 5);
  EXPECT_EQ(path.text_indices, (std::vector<int32_t>{0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 3, 3,
                                                     3, 3, 3, 4, 4, 4, 4, 4, 4, 5, 5, 5}));
  std::vector<int32_t> frames(24);
  for (int i = 0; i < 24; ++i) frames[size_t(i)] = i;
  EXPECT_EQ(path.time_indices, frames);

  const std::vector<std::string> words = {" Hello", " world", ".", " Bye", "<|endoftext|>"};
  const std::vector<Tokens> word_tokens = {{1000}, {1001, 1002}, {13}, {1003}, {kEot}};
  const std::vector<float> probs = {0.9f, 0.8f, 0.7f, 0.6f, 0.5f};
  const auto alignment = find_alignment(path, probs, words, word_tokens);
  ASSERT_EQ(alignment.size(), 4u);  // <|endoftext|> is not a word
  expect_word(alignment[0], " Hello", 0.0, 0.06);
  expect_word(alignment[1], " world", 0.06, 0.2);
  expect_word(alignment[2], ".", 0.2, 0.3);
  expect_word(alignment[3], " Bye", 0.3, 0.42);
  EXPECT_FLOAT_EQ(alignment[1].probability, 0.75f);
  EXPECT_EQ(alignment[1].tokens, (Tokens{1001, 1002}));

  std::vector<SegmentTokens> segments = {seg(12.34, 12.8, {kTs, 1000, 1001, 1002, 13, kTs + 20}),
                                         seg(12.8, 13.0, {kTs + 20, 1003, kTs + 30})};
  const auto r = add_word_timestamps(segments, alignment, 12.34, kEot, 11.0);
  ASSERT_EQ(r.words.size(), 2u);
  ASSERT_EQ(r.words[0].size(), 2u);
  expect_word(r.words[0][0], " Hello", 12.34, 12.4);
  expect_word(r.words[0][1], " world.", 12.4, 12.54);
  ASSERT_EQ(r.words[1].size(), 1u);
  expect_word(r.words[1][0], " Bye", 12.64, 12.76);
  EXPECT_EQ(segments[0].start, 12.34);
  EXPECT_EQ(segments[0].end, 12.54);
  EXPECT_EQ(segments[1].start, 12.64);
  EXPECT_EQ(segments[1].end, 12.76);
  EXPECT_EQ(r.last_speech_timestamp, 12.76);
}

// numpy reference (faster_whisper_oracle.py random_attention): random softmaxed attention, 2 heads
// over sot(2) + notimestamps + 4 text tokens + eot, 16 frames. Sensitive to every align() step.
TEST(Alignment, RandomAttentionMatchesTheNumpyReference) {
  const std::vector<float> weights = {
      0.254700482f,    0.0538585633f,  0.0228062887f,  0.00904629566f, 0.0173959415f,
      0.00777390972f,  0.0376547277f,  0.256868929f,   0.0164435506f,  0.0135655124f,
      0.0717369616f,   0.058766596f,   0.040300522f,   0.00852106232f, 0.0329293832f,
      0.0976312757f,   0.015098081f,   0.0570806861f,  0.0483784936f,  0.0163885485f,
      0.00715840282f,  0.0796986595f,  0.0169407129f,  0.170338228f,   0.143454239f,
      0.0856691748f,   0.00260062004f, 0.0505442955f,  0.105439574f,   0.134404376f,
      0.0114236502f,   0.0553822704f,  0.00678449683f, 0.00875095557f, 0.14457041f,
      0.00876806956f,  0.207189977f,   0.110941552f,   0.0122682927f,  0.0248999503f,
      0.0347477533f,   0.032397829f,   0.00468719797f, 0.0330040082f,  0.226026863f,
      0.00289128697f,  0.106857136f,   0.0352142118f,  0.00741796335f, 0.390229464f,
      0.0609162338f,   0.00321290898f, 0.0217124205f,  0.0461152866f,  0.108087048f,
      0.0540805981f,   0.0175724812f,  0.0528248362f,  0.167988241f,   0.00704710372f,
      0.026332872f,    0.00969052594f, 0.0235002898f,  0.00327172806f, 0.0106510138f,
      0.0189217776f,   0.0977832526f,  0.141519919f,   0.00348795578f, 0.00771096954f,
      0.0670180917f,   0.0012788712f,  0.0936769992f,  0.0219480246f,  0.167357117f,
      0.0714296699f,   0.015545751f,   0.0146105466f,  0.0174495596f,  0.249610469f,
      0.0158388894f,   0.0190865714f,  0.0510798059f,  0.0251121037f,  0.0223892145f,
      0.00565989269f,  0.0295836981f,  0.0154735763f,  0.173070207f,   0.0801691189f,
      0.214495823f,    0.0820293576f,  0.0180781018f,  0.14586699f,    0.029856611f,
      0.0722100437f,   0.0029610151f,  0.0345321931f,  0.00163160765f, 0.000969357847f,
      0.0130026955f,   0.00532269944f, 0.026257487f,   0.59526515f,    0.00589607703f,
      0.00805229042f,  0.0279377252f,  0.0430082493f,  0.116426818f,   0.0150740771f,
      0.0588838235f,   0.0447787382f,  0.0118125761f,  0.0494472533f,  0.0587099232f,
      0.0114495633f,   0.0822231695f,  0.0153750153f,  0.239314497f,   0.0743510202f,
      0.0636652112f,   0.022945825f,   0.0466076061f,  0.00278169103f, 0.0102018323f,
      0.0959606469f,   0.0168917943f,  0.198262379f,   0.0162524097f,  0.0939247236f,
      0.00849213451f,  0.0971127376f,  0.0367380381f,  0.00301058218f, 0.196587771f,
      0.262420088f,    0.0273489617f,  0.0200155899f,  0.0237500705f,  0.00699123647f,
      0.156846255f,    0.0133704627f,  0.0279551186f,  0.00918380264f, 0.00545544177f,
      0.002052658f,    0.679479599f,   0.0110739106f,  0.0594185032f,  0.0142350923f,
      0.00492398394f,  0.00854798313f, 0.00602174271f, 0.0141209839f,  0.00794722699f,
      0.00889812596f,  0.00176448922f, 0.00415974762f, 0.166802347f,   0.00509812823f,
      0.00819968712f,  0.0661038011f,  0.329028696f,   0.00450055301f, 0.215390772f,
      0.0154430317f,   0.0028397257f,  0.120016202f,   0.038477391f,   0.0443627201f,
      0.0128940959f,   0.0788394064f,  0.0177483167f,  0.0321650952f,  0.00755980564f,
      0.00643069437f,  0.154629633f,   0.00974815339f, 0.0323060825f,  0.0198270921f,
      0.0107619539f,   0.00973564107f, 0.3965725f,     0.0132624079f,  0.0166193806f,
      0.0215649065f,   0.121814266f,   0.0578874983f,  0.0370265543f,  0.00895648543f,
      0.00262421533f,  0.0866632462f,  0.0654725954f,  0.0124397669f,  0.0346322991f,
      0.0496066809f,   0.053449519f,   0.0611932054f,  0.00775652518f, 0.149070665f,
      0.0174977332f,   0.0559548736f,  0.0322287567f,  0.0569623001f,  0.257359356f,
      0.142398462f,    0.00275714463f, 0.00122012536f, 0.190038472f,   0.0121748745f,
      0.0547777936f,   0.196661532f,   0.0047407574f,  0.00235589873f, 0.0823387206f,
      0.0596486665f,   0.0385975316f,  0.0591274388f,  0.113422476f,   0.00576411327f,
      0.043463029f,    0.0129919499f,  0.00474300515f, 0.119153738f,   0.0152514027f,
      0.0307706781f,   0.00379174761f, 0.00623189984f, 0.00373670761f, 0.0044229487f,
      0.0224183835f,   0.00516707869f, 0.0285275094f,  0.0278380364f,  0.348804265f,
      0.002070077f,    0.468072414f,   0.01462215f,    0.016374493f,   0.00190022762f,
      0.021145789f,    0.128576934f,   0.0372634865f,  0.0476228707f,  0.0272664372f,
      0.238313287f,    0.0408343114f,  0.0015544286f,  0.0149337342f,  0.00220017438f,
      0.000321285188f, 0.0190403145f,  0.311709404f,   0.0452594459f,  0.0536731556f,
      0.010284951f};
  const DtwPath path = attention_to_path(weights, 2, 8, 16, 2, 4);
  EXPECT_EQ(path.text_indices,
            (std::vector<int32_t>{0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 3, 3, 3, 3, 4, 4, 4}));
  EXPECT_EQ(path.time_indices,
            (std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 8, 9, 10, 11, 12, 13, 14, 15}));
}

TEST(Alignment, DegenerateInputs) {
  const DtwPath path{{0, 1}, {0, 1}};
  EXPECT_TRUE(find_alignment(path, {}, {"<|endoftext|>"}, {{kEot}}).empty());
  EXPECT_THROW(find_alignment(path, {}, {" a", " b", "<eot>"}, {{1}, {2}, {kEot}}), Error);
  EXPECT_TRUE(attention_to_path({}, 1, 4, 0, 1, 1).text_indices.empty());  // no frames
  EXPECT_THROW(attention_to_path(std::vector<float>(8), 1, 4, 2, 2, 2), Error);
  std::vector<SegmentTokens> none;
  EXPECT_EQ(add_word_timestamps(none, {}, 0.0, kEot, 3.5).last_speech_timestamp, 3.5);
  std::vector<SegmentTokens> empty_text = {seg(1.0, 2.0, {kTs, kTs + 50})};
  const auto r = add_word_timestamps(empty_text, {}, 0.0, kEot, 0.5);
  EXPECT_TRUE(r.words[0].empty());
  EXPECT_EQ(empty_text[0].start, 1.0);
  EXPECT_EQ(r.last_speech_timestamp, 0.5);
}

}  // namespace
}  // namespace voiceman::decoding
