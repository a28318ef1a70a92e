// Loading, special tokens, language tokens, decoding and load errors.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/paths.h"
#include "tokenizer/tokenizer_fixture.h"
#include "voiceman/core/errors.h"
#include "voiceman/tokenizer/byte_level.h"

namespace voiceman::tokenizer {
namespace {

TEST(Tokenizer, TinyEnSpecialTokens) {
  TOKENIZER_OR_SKIP(tok, "tiny.en");
  EXPECT_FALSE(tok->multilingual());
  EXPECT_EQ(tok->vocab_size(), 50363);
  const decoding::SpecialTokens s = tok->special_tokens();
  EXPECT_EQ(s.eot, 50256);
  EXPECT_EQ(s.sot, 50257);
  EXPECT_EQ(s.translate, 50357);
  EXPECT_EQ(s.transcribe, 50358);
  EXPECT_EQ(s.sot_lm, 50359);
  EXPECT_EQ(s.sot_prev, 50360);
  EXPECT_EQ(s.no_speech, 50361);  // <|nocaptions|>
  EXPECT_EQ(s.no_timestamps, 50362);
  EXPECT_EQ(s.timestamp_begin, 50363);
  // tokenizer.json lists language tokens even for .en models; they are not offered.
  EXPECT_TRUE(s.lang_ids.empty());
  EXPECT_TRUE(tok->language_codes().empty());
  EXPECT_FALSE(tok->language_token("en").has_value());
  EXPECT_EQ(tok->token_to_id("<|ko|>"), 50263);
}

TEST(Tokenizer, BaseSpecialTokensShiftByOne) {
  TOKENIZER_OR_SKIP(tok, "base");
  EXPECT_TRUE(tok->multilingual());
  EXPECT_EQ(tok->vocab_size(), 50364);
  const decoding::SpecialTokens s = tok->special_tokens();
  EXPECT_EQ(s.eot, 50257);
  EXPECT_EQ(s.sot, 50258);
  EXPECT_EQ(s.translate, 50358);
  EXPECT_EQ(s.transcribe, 50359);
  EXPECT_EQ(s.sot_lm, 50360);
  EXPECT_EQ(s.sot_prev, 50361);
  EXPECT_EQ(s.no_speech, 50362);
  EXPECT_EQ(s.no_timestamps, 50363);
  EXPECT_EQ(s.timestamp_begin, 50364);
  ASSERT_EQ(s.lang_ids.size(), 99u);
  EXPECT_EQ(s.lang_ids.front(), 50259);
  EXPECT_EQ(s.lang_ids.back(), 50357);
}

TEST(Tokenizer, BaseLanguageTokens) {
  TOKENIZER_OR_SKIP(tok, "base");
  EXPECT_EQ(tok->language_token("ko"), 50264);
  EXPECT_EQ(tok->language_token("en"), 50259);
  EXPECT_EQ(tok->language_token("su"), 50357);
  EXPECT_EQ(tok->language_token("haw"), 50352);
  EXPECT_FALSE(tok->language_token("xx").has_value());
  EXPECT_FALSE(tok->language_token("").has_value());
  const std::vector<std::string> codes = tok->language_codes();
  ASSERT_EQ(codes.size(), 99u);
  EXPECT_EQ(codes[0], "en");
  EXPECT_EQ(codes[1], "zh");
  EXPECT_EQ(codes[5], "ko");
  EXPECT_EQ(codes[20], "he");
  EXPECT_EQ(codes.back(), "su");
  EXPECT_EQ(tok->token_to_id("<|ko|>"), 50264);
}

TEST(Tokenizer, TokenLookups) {
  TOKENIZER_OR_SKIP(tok, "base");
  EXPECT_EQ(tok->token_to_id("Ġhello"), 7751);
  EXPECT_EQ(tok->id_to_token(7751), "Ġhello");
  EXPECT_EQ(tok->id_to_token(50258), "<|startoftranscript|>");
  // Timestamps are not in tokenizer.json but are real model outputs.
  EXPECT_EQ(tok->id_to_token(50364), "<|0.00|>");
  EXPECT_EQ(tok->id_to_token(50364 + 1500), "<|30.00|>");
  EXPECT_EQ(tok->id_to_token(50364 + 1501), "");
  EXPECT_EQ(tok->id_to_token(-1), "");
  EXPECT_FALSE(tok->token_to_id("not a token").has_value());
}

TEST(Tokenizer, DecodeJoinsCharactersSpanningTokens) {
  TOKENIZER_OR_SKIP(tok, "base");
  // 憂 is split over two tokens; decoding them one by one gives U+FFFD each.
  const std::vector<int32_t> ids = {29713, 224};
  EXPECT_EQ(tok->decode(ids), "憂");
  EXPECT_EQ(tok->decode(std::vector<int32_t>{29713}), "\xEF\xBF\xBD");
  EXPECT_EQ(tok->decode(std::vector<int32_t>{224}), "\xEF\xBF\xBD");
  // Specials and timestamps between them are skipped, so the character still joins.
  EXPECT_EQ(tok->decode(std::vector<int32_t>{50258, 29713, 50257, 224, 50400}), "憂");
}

TEST(Tokenizer, DecodeWithSpecials) {
  TOKENIZER_OR_SKIP(tok, "base");
  const std::vector<int32_t> ids = {50258, 50264, 50359, 50364, 49200,
                                    12831, 15377, 11,    50414, 50257};
  EXPECT_EQ(tok->decode_with_specials(ids),
            "<|startoftranscript|><|ko|><|transcribe|><|0.00|>안녕하세요,<|1.00|><|endoftext|>");
  EXPECT_EQ(tok->decode(ids), "안녕하세요,");
  // As in faster-whisper, a special token ends a text segment.
  EXPECT_EQ(tok->decode_with_specials(std::vector<int32_t>{29713, 50257, 224}),
            "\xEF\xBF\xBD<|endoftext|>\xEF\xBF\xBD");
}

// Writes a tokenizer.json with the given text into a fresh folder.
std::filesystem::path folder_with(const std::string& name, const std::string& json) {
  const auto dir = voiceman::testing::scratch_dir("tokenizer_" + name);
  std::ofstream(dir / "tokenizer.json") << json;
  return dir;
}

// Expects ModelError whose message names the tokenizer file and contains `detail`.
void expect_model_error(const std::filesystem::path& dir, const std::string& detail) {
  try {
    Tokenizer::load(dir);
    ADD_FAILURE() << "no ModelError for " << dir;
  } catch (const ModelError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find((dir / "tokenizer.json").string()), std::string::npos) << what;
    EXPECT_NE(what.find(detail), std::string::npos) << what;
  }
}

TEST(Tokenizer, MissingFileThrowsModelError) {
  const auto dir = voiceman::testing::scratch_dir("tokenizer_missing");
  expect_model_error(dir, "not found");
}

TEST(Tokenizer, MalformedJsonThrowsModelError) {
  expect_model_error(folder_with("truncated", R"({"model": {"type": "BPE", "vocab": {"a": 0)"),
                     "invalid JSON");
  expect_model_error(folder_with("array", "[1, 2]"), "no BPE model");
  expect_model_error(folder_with("scalar", "42"), "no BPE model");
  expect_model_error(folder_with("wordpiece", R"({"pre_tokenizer": {"type": "ByteLevel"},
      "model": {"type": "WordPiece", "vocab": {}, "merges": []}})"),
                     "not BPE");
  expect_model_error(folder_with("bad_id", R"({"pre_tokenizer": {"type": "ByteLevel"},
      "model": {"type": "BPE", "vocab": {"a": -3}, "merges": []}})"),
                     "bad token id");
}

TEST(Tokenizer, IncompleteVocabThrowsModelError) {
  // Valid JSON and a ByteLevel BPE, but only one byte symbol: cannot encode every byte.
  expect_model_error(folder_with("small", R"({"pre_tokenizer": {"type": "ByteLevel"},
      "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}})"),
                     "byte-level symbol");
}

// A byte alphabet (ids 0..255 in byte order) plus `extra` vocab entries, `merges` and the
// Whisper specials from id 1000 on (unless with_specials is false).
std::string synthetic_json(const nlohmann::json& extra, const nlohmann::json& merges,
                           bool with_specials = true) {
  nlohmann::json vocab = extra;
  const auto& symbols = byte_level::byte_to_symbol();
  for (int b = 0; b < 256; ++b) vocab[symbols[b]] = b;
  nlohmann::json added = nlohmann::json::array();
  if (with_specials) {
    int id = 1000;
    for (const char* name :
         {"<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|translate|>", "<|transcribe|>",
          "<|startoflm|>", "<|startofprev|>", "<|nocaptions|>", "<|notimestamps|>"})
      added.push_back({{"id", id++}, {"content", name}, {"special", true}});
  }
  nlohmann::json root = {{"version", "1.0"},
                         {"normalizer", nullptr},
                         {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}}},
                         {"added_tokens", added},
                         {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}}};
  return root.dump();
}

TEST(Tokenizer, SyntheticVocabMergesByRank) {
  // "b c" outranks "a b", so "abc" becomes a + bc, never ab + c.
  const nlohmann::json extra = {{"ab", 300}, {"bc", 301}, {"abc", 302}, {"Ġa", 303}};
  const auto dir = folder_with("synthetic", synthetic_json(extra, {"b c", "a b", "a bc", "Ġ a"}));
  const Tokenizer tok = Tokenizer::load(dir);
  EXPECT_EQ(tok.encode("abc"), (std::vector<int32_t>{302}));
  EXPECT_EQ(tok.encode("ab"), (std::vector<int32_t>{300}));
  EXPECT_EQ(tok.encode("abab"), (std::vector<int32_t>{300, 300}));
  EXPECT_EQ(tok.encode(" abc"), (std::vector<int32_t>{' ', 302}));  // Ġa ranks last
  EXPECT_EQ(tok.encode(" a"), (std::vector<int32_t>{303}));
  EXPECT_EQ(tok.encode("x<|endoftext|>"), (std::vector<int32_t>{'x', 1000}));
  EXPECT_FALSE(tok.multilingual());
  EXPECT_EQ(tok.special_tokens().timestamp_begin, 1009);
  EXPECT_EQ(tok.decode(tok.encode("abc abd")), "abc abd");

  // The newer ["left", "right"] spelling of merges means the same.
  const auto pairs = folder_with(
      "synthetic_pairs",
      synthetic_json(extra,
                     nlohmann::json::array(
                         {nlohmann::json::array({"b", "c"}), nlohmann::json::array({"a", "b"}),
                          nlohmann::json::array({"a", "bc"}), nlohmann::json::array({"Ġ", "a"})})));
  EXPECT_EQ(Tokenizer::load(pairs).encode("abc a"), (std::vector<int32_t>{302, 303}));
}

TEST(Tokenizer, IgnoreMergesTakesWholeVocabPieces) {
  const nlohmann::json extra = {{"ab", 300}, {"abc", 302}};
  auto root = nlohmann::json::parse(synthetic_json(extra, {"a b"}));
  EXPECT_EQ(Tokenizer::load(folder_with("merging", root.dump())).encode("abc"),
            (std::vector<int32_t>{300, 'c'}));
  root["model"]["ignore_merges"] = true;
  EXPECT_EQ(Tokenizer::load(folder_with("ignoring", root.dump())).encode("abc"),
            (std::vector<int32_t>{302}));
}

TEST(Tokenizer, InconsistentTablesThrowModelError) {
  expect_model_error(folder_with("bad_merge", synthetic_json({{"ab", 300}}, {"a x"})),
                     "not in vocab");
  expect_model_error(folder_with("no_specials", synthetic_json({}, nlohmann::json::array(), false)),
                     "missing special token <|endoftext|>");
}

}  // namespace
}  // namespace voiceman::tokenizer
