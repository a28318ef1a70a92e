// SRT/VTT/TXT/JSON/RTTM rendering of hand-made transcripts, and RTTM round trips.
#include "voiceman/writers/formats.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/corpus.h"
#include "support/paths.h"
#include "voiceman/assign/assign.h"
#include "voiceman/core/errors.h"
#include "voiceman/writers/rttm_writer.h"

namespace voiceman::writers {
namespace {

Transcript sample() {
  Transcript t;
  t.language = "en";
  t.duration = 3725.5;
  Segment a;
  a.start = 0.0;
  a.end = 2.5;
  a.text = " Hello <there> & welcome.";
  a.words = {{" Hello", 0.0, 0.6, 0.9f, std::nullopt}, {" welcome.", 1.2, 2.5, 0.8f, std::nullopt}};
  Segment blank;
  blank.start = 2.5;
  blank.end = 3.0;
  blank.text = "  ";
  Segment b;
  b.start = 3723.25;
  b.end = 3725.5;
  b.text = " Second line";
  b.speaker = "SPEAKER_01";
  t.segments = {a, blank, b};
  return t;
}

TEST(Formats, Srt) {
  EXPECT_EQ(to_srt(sample()),
            "1\n00:00:00,000 --> 00:00:02,500\nHello <there> & welcome.\n\n"
            "2\n01:02:03,250 --> 01:02:05,500\n[SPEAKER_01]: Second line\n");
}

TEST(Formats, VttEscapesMarkup) {
  EXPECT_EQ(to_vtt(sample()),
            "WEBVTT\n\n00:00:00.000 --> 00:00:02.500\nHello &lt;there&gt; &amp; welcome.\n"
            "\n01:02:03.250 --> 01:02:05.500\n[SPEAKER_01]: Second line\n");
}

TEST(Formats, Txt) {
  EXPECT_EQ(to_txt(sample()), "Hello <there> & welcome.\n[SPEAKER_01]: Second line\n");
  EXPECT_EQ(to_txt(Transcript{}), "");
}

TEST(Formats, JsonDocumentCarriesWordsAndAudioBlock) {
  const SourceInfo src{"/evidence/통화 1.m4a", "통화_1.m4a", 3725.5, "ab12", "cd34"};
  const auto j = nlohmann::json::parse(render(Format::json, sample(), src));
  EXPECT_EQ(j["language"], "en");
  EXPECT_EQ(j["audio"]["path"], "/evidence/통화 1.m4a");
  EXPECT_EQ(j["audio"]["sha256"], "ab12");
  EXPECT_EQ(j["audio"]["md5"], "cd34");
  EXPECT_DOUBLE_EQ(j["audio"]["duration"].get<double>(), 3725.5);
  ASSERT_EQ(j["segments"].size(), 3u);
  EXPECT_EQ(j["segments"][0]["words"][1]["word"], " welcome.");
  EXPECT_FLOAT_EQ(j["segments"][0]["words"][1]["score"].get<float>(), 0.8f);
  EXPECT_EQ(j["segments"][2]["speaker"], "SPEAKER_01");
}

TEST(Formats, ParseFormats) {
  EXPECT_EQ(parse_formats("json,srt,json, txt"),
            (std::vector<Format>{Format::json, Format::srt, Format::txt}));
  EXPECT_THROW(parse_formats("json,docx"), ConfigError);
  EXPECT_THROW(parse_formats("json,,srt"), ConfigError);
  EXPECT_THROW(parse_formats(""), ConfigError);
  for (Format f : {Format::json, Format::srt, Format::vtt, Format::txt, Format::rttm})
    EXPECT_EQ(parse_format(format_name(f)), f);
}

TEST(Rttm, RoundTrip) {
  const std::vector<SpeakerTurn> turns = {{0.5, 2.25, "SPEAKER_00"}, {2.0, 7.125, "Diane K"}};
  const std::string text = to_rttm("call 01.m4a", turns);
  EXPECT_EQ(text,
            "SPEAKER call_01.m4a 1 0.500 1.750 <NA> <NA> SPEAKER_00 <NA> <NA>\n"
            "SPEAKER call_01.m4a 1 2.000 5.125 <NA> <NA> Diane_K <NA> <NA>\n");
  const std::vector<SpeakerTurn> back = parse_rttm(text);
  ASSERT_EQ(back.size(), 2u);
  for (size_t i = 0; i < back.size(); ++i) {
    EXPECT_NEAR(back[i].start, turns[i].start, 1e-9);
    EXPECT_NEAR(back[i].end, turns[i].end, 1e-9);
  }
  EXPECT_EQ(back[0].speaker, "SPEAKER_00");
  EXPECT_EQ(back[1].speaker, "Diane_K");
  EXPECT_THROW(parse_rttm("SPEAKER f 1 0.5\n"), Error);
  EXPECT_THROW(parse_rttm("SPEAKER f 1 x 1 <NA> <NA> s <NA> <NA>\n"), Error);
}

TEST(Rttm, ReadsTheReferenceAndWritesItBack) {
  const std::string ref =
      voiceman::testing::read_bytes(voiceman::testing::shared_data_dir() / "sample.rttm");
  ASSERT_FALSE(ref.empty());
  const std::vector<SpeakerTurn> turns = parse_rttm(ref);
  ASSERT_GT(turns.size(), 3u);
  const std::vector<SpeakerTurn> again = parse_rttm(to_rttm("sample", turns));
  ASSERT_EQ(again.size(), turns.size());
  for (size_t i = 0; i < turns.size(); ++i) {
    EXPECT_NEAR(again[i].start, turns[i].start, 1e-3);
    EXPECT_NEAR(again[i].end, turns[i].end, 2e-3);
    EXPECT_EQ(again[i].speaker, turns[i].speaker);
  }
}

// A transcript after diarization and assignment, in every format: speaker on segments and
// words in the JSON, "[SPEAKER_xx]: " cues in SRT/VTT/TXT, the turns in the RTTM.
TEST(Formats, DiarizedTranscriptInEveryFormat) {
  Transcript t;
  t.language = "en";
  t.duration = 6;
  Segment a;
  a.start = 0.0;
  a.end = 2.0;
  a.text = " Hello?";
  a.words = {{" Hello?", 0.2, 1.0, 0.9f, std::nullopt}};
  Segment b;
  b.start = 2.5;
  b.end = 5.0;
  b.text = " Oh, hello.";
  b.words = {{" Oh,", 2.6, 2.9, 0.8f, std::nullopt}, {" hello.", 3.0, 4.8, 0.7f, std::nullopt}};
  t.segments = {a, b};
  const std::vector<SpeakerTurn> turns = {
      {0.1, 2.2, "SPEAKER_00"}, {2.4, 2.95, "SPEAKER_00"}, {2.95, 5.1, "SPEAKER_01"}};
  assign::assign_speakers(t, turns);
  const SourceInfo src{"/in/call.wav", "call", 6, "", ""};

  const auto j = nlohmann::json::parse(render(Format::json, t, src));
  EXPECT_EQ(j["segments"][0]["speaker"], "SPEAKER_00");
  EXPECT_EQ(j["segments"][0]["words"][0]["speaker"], "SPEAKER_00");
  EXPECT_EQ(j["segments"][1]["speaker"], "SPEAKER_01");
  EXPECT_EQ(j["segments"][1]["words"][0]["speaker"], "SPEAKER_00");  // " Oh," 2.6-2.9
  EXPECT_EQ(j["segments"][1]["words"][1]["speaker"], "SPEAKER_01");
  EXPECT_EQ(render(Format::txt, t, src), "[SPEAKER_00]: Hello?\n[SPEAKER_01]: Oh, hello.\n");
  EXPECT_EQ(render(Format::srt, t, src),
            "1\n00:00:00,000 --> 00:00:02,000\n[SPEAKER_00]: Hello?\n\n"
            "2\n00:00:02,500 --> 00:00:05,000\n[SPEAKER_01]: Oh, hello.\n");
  EXPECT_NE(render(Format::vtt, t, src).find("\n[SPEAKER_01]: Oh, hello.\n"), std::string::npos);
  const std::string rttm = render(Format::rttm, t, src);
  EXPECT_EQ(rttm,
            "SPEAKER call 1 0.100 2.100 <NA> <NA> SPEAKER_00 <NA> <NA>\n"
            "SPEAKER call 1 2.400 0.550 <NA> <NA> SPEAKER_00 <NA> <NA>\n"
            "SPEAKER call 1 2.950 2.150 <NA> <NA> SPEAKER_01 <NA> <NA>\n");
  const auto back = parse_rttm(rttm);
  ASSERT_EQ(back.size(), turns.size());
  for (size_t i = 0; i < turns.size(); ++i) {
    EXPECT_NEAR(back[i].start, turns[i].start, 1e-9);
    EXPECT_NEAR(back[i].end, turns[i].end, 1e-9);
    EXPECT_EQ(back[i].speaker, turns[i].speaker);
  }
  // Not diarized: no speaker fields, no prefixes, an empty RTTM.
  const auto plain = nlohmann::json::parse(render(Format::json, sample(), src));
  EXPECT_FALSE(plain["segments"][0].contains("speaker"));
  EXPECT_FALSE(plain["segments"][0]["words"][0].contains("speaker"));
  EXPECT_EQ(render(Format::rttm, sample(), src), "");
}

}  // namespace
}  // namespace voiceman::writers
