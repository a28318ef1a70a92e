// search() against CTranslate2 itself: tests/decoding/ct2_oracle.py builds a tiny random
// Whisper model, records CTranslate2 4.x generate() results for many option sets, and the
// decoder logits of every history the searches visit. Here a table-driven StepModel replays
// those logits and search() must find the same best hypothesis and score.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "voiceman/decoding/search.h"

namespace voiceman::decoding {
namespace {

using json = nlohmann::json;

std::string key_of(int32_t source, std::span<const int32_t> sequence) {
  std::ostringstream out;
  out << source << ':';
  for (int32_t t : sequence) out << t << ',';
  return out.str();
}

struct MissingLogits {};

// Logits from the recorded table. A history that is not recorded is collected (for the
// oracle script) and stops the case.
class TableModel : public StepModel {
 public:
  TableModel(const std::map<std::string, std::vector<float>>& table, int vocab,
             std::set<std::string>& missing)
      : table_(table), vocab_(vocab), missing_(missing) {}

  int vocab_size() const override { return vocab_; }
  int rows() const override { return int(rows_.size()); }

  void start(const std::vector<std::vector<int32_t>>& prompts, std::span<const int32_t> source,
             std::span<const int32_t>, std::vector<float>& last_logits,
             std::vector<float>&) override {
    rows_.clear();
    for (size_t i = 0; i < prompts.size(); ++i) rows_.push_back({source[i], prompts[i]});
    fill(last_logits);
  }

  void select_rows(std::span<const int32_t> src) override {
    std::vector<Row> next;
    for (int32_t s : src) next.push_back(rows_.at(size_t(s)));
    rows_ = std::move(next);
  }

  std::span<const float> step(std::span<const int32_t> tokens) override {
    for (size_t i = 0; i < rows_.size(); ++i) rows_[i].history.push_back(tokens[i]);
    fill(logits_);
    return logits_;
  }

 private:
  struct Row {
    int32_t source;
    std::vector<int32_t> history;
  };
  std::vector<float> logits_;  // what step() returns

  void fill(std::vector<float>& logits) {
    logits.assign(rows_.size() * size_t(vocab_), 0.0f);
    bool complete = true;
    for (size_t i = 0; i < rows_.size(); ++i) {
      const std::string key = key_of(rows_[i].source, rows_[i].history);
      const auto it = table_.find(key);
      if (it == table_.end()) {
        missing_.insert(key);
        complete = false;
        continue;
      }
      std::copy(it->second.begin(), it->second.end(), logits.begin() + i * size_t(vocab_));
    }
    if (!complete) throw MissingLogits{};
  }

  const std::map<std::string, std::vector<float>>& table_;
  int vocab_;
  std::set<std::string>& missing_;
  std::vector<Row> rows_;
};

std::string fixture_path() {
  if (const char* env = std::getenv("VOICEMAN_CT2_ORACLE")) return env;
  return std::string(VOICEMAN_SOURCE_DIR) + "/tests/decoding/data/ct2_oracle.json";
}

SpecialTokens specials_of(const json& j) {
  SpecialTokens s;
  s.eot = j.at("eot");
  s.sot = j.at("sot");
  s.lang_ids = j.at("lang_ids").get<std::vector<int32_t>>();
  s.translate = j.at("translate");
  s.transcribe = j.at("transcribe");
  s.sot_lm = j.at("sot_lm");
  s.sot_prev = j.at("sot_prev");
  s.no_speech = j.at("no_speech");
  s.no_timestamps = j.at("no_timestamps");
  s.timestamp_begin = j.at("timestamp_begin");
  s.suppress_ids_begin = j.at("suppress_ids_begin").get<std::vector<int32_t>>();
  return s;
}

SearchOptions options_of(const json& j) {
  SearchOptions o;
  o.beam_size = j.at("beam_size");
  o.patience = j.at("patience");
  o.length_penalty = j.at("length_penalty");
  o.repetition_penalty = j.at("repetition_penalty");
  o.no_repeat_ngram_size = j.at("no_repeat_ngram_size");
  o.max_length = j.at("max_length");
  o.suppress_blank = j.at("suppress_blank");
  o.suppress_tokens = j.at("suppress_tokens").get<std::vector<int32_t>>();
  o.max_initial_timestamp_index = j.at("max_initial_timestamp_index");
  return o;
}

TEST(Ct2Oracle, SearchMatchesCTranslate2Generate) {
  std::ifstream in(fixture_path());
  ASSERT_TRUE(in) << "missing fixture " << fixture_path();
  const json fixture = json::parse(in);
  const int vocab = fixture.at("vocab_size");
  const SpecialTokens specials = specials_of(fixture.at("specials"));
  std::map<std::string, std::vector<float>> table;
  for (const json& row : fixture.at("table")) {
    table[key_of(row.at("source"), row.at("sequence").get<std::vector<int32_t>>())] =
        row.at("logits").get<std::vector<float>>();
  }

  const char* missing_out = std::getenv("VOICEMAN_CT2_ORACLE_MISSING");
  std::set<std::string> missing;
  int compared = 0;
  for (const json& c : fixture.at("cases")) {
    const std::string name = c.at("name");
    const SearchOptions options = options_of(c.at("options"));
    std::vector<SearchRequest> requests;
    for (const json& r : c.at("requests")) {
      requests.push_back(SearchRequest{r.at("prompt").get<std::vector<int32_t>>(), r.at("source")});
    }
    TableModel model(table, vocab, missing);
    std::vector<SearchResult> results;
    try {
      results = search(model, requests, options, specials);
    } catch (const MissingLogits&) {
      if (!missing_out) ADD_FAILURE() << name << ": logits missing from the fixture";
      continue;
    }
    const json& expected = c.at("expected");
    ASSERT_EQ(results.size(), expected.size()) << name;
    for (size_t i = 0; i < results.size(); ++i) {
      const Hypothesis& best = results[i].hypotheses.at(0);
      EXPECT_EQ(best.tokens, expected[i].at("tokens").get<std::vector<int32_t>>())
          << name << " request " << i;
      EXPECT_NEAR(best.score, expected[i].at("score").get<double>(), 2e-5)
          << name << " request " << i;
      ++compared;
    }
  }
  if (missing_out) {
    std::ofstream out(missing_out);
    for (const std::string& key : missing) out << key << '\n';
    GTEST_SKIP() << missing.size() << " histories to record";
  }
  EXPECT_GT(compared, 40);
}

}  // namespace
}  // namespace voiceman::decoding
