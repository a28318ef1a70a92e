#include "voiceman/decoding/search.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "decoding/fake_step_model.h"
#include "voiceman/core/errors.h"

namespace voiceman::decoding {
namespace {

using testing::FakeStepModel;
using testing::kTinyVocab;
using testing::set_probs;
using testing::tiny_specials;
using Tokens = std::vector<int32_t>;

const Tokens kNoTimestampsPrompt = {11, 12, 14, 18};  // sot en transcribe notimestamps
const Tokens kTimestampsPrompt = {11, 12, 14};        // sot en transcribe

// Next-token distributions keyed by the tokens generated after a 4-token prompt.
using Table = std::map<Tokens, std::vector<std::pair<int32_t, double>>>;

FakeStepModel::LogitsFn table_model(Table table, size_t prompt_length = 4) {
  return [table = std::move(table), prompt_length](int32_t, std::span<const int32_t> history,
                                                   std::span<float> out) {
    const Tokens generated(history.begin() + std::ptrdiff_t(prompt_length), history.end());
    const auto it = table.find(generated);
    if (it == table.end()) {
      set_probs(out, {{10, 1.0}});  // anything unknown ends
      return;
    }
    for (float& x : out) x = -40.0f;
    for (const auto& [id, p] : it->second) out[size_t(id)] = float(std::log(p));
  };
}

SearchOptions base_options(int beam_size) {
  SearchOptions o;
  o.beam_size = beam_size;
  o.suppress_blank = false;
  return o;
}

Hypothesis best(FakeStepModel& model, const Tokens& prompt, const SearchOptions& options) {
  const auto results = search(model, {SearchRequest{prompt}}, options, tiny_specials());
  EXPECT_EQ(results.size(), 1u);
  EXPECT_FALSE(results[0].hypotheses.empty());
  return results[0].hypotheses.front();
}

// Greedy commits to the likelier first token; beam search finds the better whole sequence.
Table beam_beats_greedy() {
  return {
      {{}, {{1, 0.52}, {2, 0.40}, {3, 0.08}}},
      {{1}, {{4, 0.20}, {5, 0.16}, {6, 0.16}, {7, 0.16}, {8, 0.16}, {9, 0.16}}},
      {{2}, {{10, 0.95}, {5, 0.05}}},
      {{3}, {{10, 1.0}}},
  };
}

TEST(Search, GreedyTakesTheArgmaxEachStep) {
  FakeStepModel model(kTinyVocab, table_model(beam_beats_greedy()));
  const Hypothesis h = best(model, kNoTimestampsPrompt, base_options(1));
  EXPECT_EQ(h.tokens, (Tokens{1, 4}));
  const double cum = std::log(0.52) + std::log(0.20) + std::log(1.0);  // eot's log-prob counts
  EXPECT_NEAR(h.cum_logprob, cum, 1e-5);
  EXPECT_NEAR(h.score, cum / 2, 1e-5);
  EXPECT_EQ(model.started_prompts, (std::vector<Tokens>{kNoTimestampsPrompt}));
}

TEST(Search, BeamFindsTheBetterSequence) {
  FakeStepModel model(kTinyVocab, table_model(beam_beats_greedy()));
  const auto results =
      search(model, {SearchRequest{kNoTimestampsPrompt}}, base_options(5), tiny_specials());
  const auto& hyps = results[0].hypotheses;
  ASSERT_GE(hyps.size(), 5u);  // patience 1: stops once beam_size hypotheses finished
  EXPECT_EQ(hyps[0].tokens, (Tokens{2}));
  EXPECT_NEAR(hyps[0].cum_logprob, std::log(0.40) + std::log(0.95), 1e-5);
  EXPECT_NEAR(hyps[0].score, hyps[0].cum_logprob, 1e-6);  // length 1
  for (size_t i = 1; i < hyps.size(); ++i) EXPECT_GE(hyps[i - 1].score, hyps[i].score);
  // faster-whisper's recovery of the sum: score * len^penalty.
  EXPECT_NEAR(hyps[1].score * std::pow(float(hyps[1].tokens.size()), 1.0f), hyps[1].cum_logprob,
              1e-5);
}

// Beam 2: short hypotheses finish early; a longer one with a better average comes later.
Table patience_table() {
  return {
      {{}, {{1, 0.6}, {2, 0.4}}},
      {{1}, {{3, 0.51}, {10, 0.49}}},
      {{2}, {{4, 0.51}, {10, 0.49}}},
      {{1, 3}, {{5, 0.51}, {10, 0.49}}},
      {{2, 4}, {{6, 0.51}, {10, 0.49}}},
      {{1, 3, 5}, {{7, 0.999}, {10, 0.001}}},
      {{2, 4, 6}, {{8, 0.51}, {10, 0.49}}},
      {{1, 3, 5, 7}, {{10, 0.999}, {9, 0.001}}},
      {{2, 4, 6, 8}, {{10, 0.999}, {9, 0.001}}},
  };
}

TEST(Search, PatienceOneStopsAfterBeamSizeHypotheses) {
  FakeStepModel model(kTinyVocab, table_model(patience_table()));
  const auto r =
      search(model, {SearchRequest{kNoTimestampsPrompt}}, base_options(2), tiny_specials())[0];
  ASSERT_EQ(r.hypotheses.size(), 2u);
  EXPECT_EQ(r.hypotheses[0].tokens, (Tokens{1, 3}));
  EXPECT_NEAR(r.hypotheses[0].score, (std::log(0.6) + std::log(0.51) + std::log(0.49)) / 2, 1e-5);
  EXPECT_EQ(r.hypotheses[1].tokens, (Tokens{1}));
}

TEST(Search, PatienceTwoKeepsSearchingAndFindsTheLongerHypothesis) {
  FakeStepModel model(kTinyVocab, table_model(patience_table()));
  SearchOptions o = base_options(2);
  o.patience = 2;
  const auto r = search(model, {SearchRequest{kNoTimestampsPrompt}}, o, tiny_specials())[0];
  ASSERT_EQ(r.hypotheses.size(), 4u);
  EXPECT_EQ(r.hypotheses[0].tokens, (Tokens{1, 3, 5, 7}));
  const double cum =
      std::log(0.6) + std::log(0.51) + std::log(0.51) + std::log(0.999) + std::log(0.999);
  EXPECT_NEAR(r.hypotheses[0].score, cum / 4, 1e-5);
}

TEST(Search, ZeroLengthPenaltyExitsWhenTheTopBeamFinishes) {
  FakeStepModel model(kTinyVocab, table_model(patience_table()));
  SearchOptions o = base_options(2);
  o.length_penalty = 0;
  const auto r = search(model, {SearchRequest{kNoTimestampsPrompt}}, o, tiny_specials())[0];
  ASSERT_EQ(r.hypotheses.size(), 4u);              // ran until the top beam ended at step 4
  EXPECT_EQ(r.hypotheses[0].tokens, (Tokens{1}));  // unnormalized: the shortest wins
  EXPECT_NEAR(r.hypotheses[0].score, std::log(0.6) + std::log(0.49), 1e-5);
}

TEST(Search, GreedyOnThePatienceTable) {
  FakeStepModel model(kTinyVocab, table_model(patience_table()));
  EXPECT_EQ(best(model, kNoTimestampsPrompt, base_options(1)).tokens, (Tokens{1, 3, 5, 7}));
}

// Pseudo-random logits from (source, history); <|endoftext|> grows likelier with length.
void hashed_logits(int32_t source, std::span<const int32_t> history, std::span<float> out) {
  uint64_t h = 1469598103934665603ULL ^ uint64_t(source) * 0x9e3779b97f4a7c15ULL;
  for (int32_t t : history) h = (h ^ uint64_t(t)) * 1099511628211ULL;
  for (size_t v = 0; v < out.size(); ++v) {
    uint64_t x = (h ^ (v * 0xbf58476d1ce4e5b9ULL)) * 0x94d049bb133111ebULL;
    x ^= x >> 29;
    out[v] = float(x % 6000) / 1000.0f - 3.0f;
  }
  out[10] += 0.6f * float(history.size()) - 2.0f + 0.5f * float(source);
}

void expect_same(const SearchResult& a, const SearchResult& b) {
  ASSERT_EQ(a.hypotheses.size(), b.hypotheses.size());
  for (size_t i = 0; i < a.hypotheses.size(); ++i) {
    EXPECT_EQ(a.hypotheses[i].tokens, b.hypotheses[i].tokens);
    EXPECT_EQ(a.hypotheses[i].score, b.hypotheses[i].score);
    EXPECT_EQ(a.hypotheses[i].cum_logprob, b.hypotheses[i].cum_logprob);
  }
  EXPECT_EQ(a.no_speech_prob, b.no_speech_prob);
}

void check_batch_equals_alone(SearchOptions o, const Tokens& prompt) {
  std::vector<SearchRequest> requests;
  for (int32_t s = 0; s < 3; ++s) {
    requests.push_back(SearchRequest{prompt, s, 0, uint64_t(100 + s)});
  }
  FakeStepModel batched(kTinyVocab, hashed_logits);
  const auto together = search(batched, requests, o, tiny_specials());
  ASSERT_EQ(together.size(), 3u);
  std::vector<size_t> lengths;
  for (size_t i = 0; i < 3; ++i) {
    FakeStepModel alone(kTinyVocab, hashed_logits);
    const auto single = search(alone, {requests[i]}, o, tiny_specials());
    expect_same(together[i], single[0]);
    lengths.push_back(alone.step_rows.size());
  }
  // The requests finish at different steps, and finished rows leave the batch.
  EXPECT_TRUE(lengths[0] != lengths[1] || lengths[1] != lengths[2]);
  EXPECT_EQ(batched.step_rows.size(), *std::max_element(lengths.begin(), lengths.end()));
  for (size_t i = 1; i < batched.step_rows.size(); ++i) {
    EXPECT_LE(batched.step_rows[i], batched.step_rows[i - 1]);
  }
  EXPECT_LT(batched.step_rows.back(), batched.step_rows.front());
}

TEST(Search, BatchedGreedyMatchesEachRequestAlone) {
  check_batch_equals_alone(base_options(1), kNoTimestampsPrompt);
}

TEST(Search, BatchedBeamMatchesEachRequestAlone) {
  check_batch_equals_alone(base_options(3), kNoTimestampsPrompt);
}

TEST(Search, BatchedBeamWithTimestampRulesMatchesEachRequestAlone) {
  SearchOptions o = base_options(4);
  o.suppress_blank = true;
  check_batch_equals_alone(o, kTimestampsPrompt);
}

TEST(Search, BatchedSamplingMatchesEachRequestAlone) {
  SearchOptions o = base_options(5);
  o.temperature = 0.8f;
  o.num_hypotheses = 3;
  o.seed = 7;
  check_batch_equals_alone(o, kNoTimestampsPrompt);
}

// Rows are scored and requests choose on several threads; the results must be those of
// one thread, request for request, whatever the mode (forced prefixes included).
TEST(Search, ThreadsDoNotChangeTheResults) {
  std::vector<SearchOptions> modes = {base_options(1), base_options(4), base_options(1)};
  modes[1].suppress_blank = true;
  modes[2].temperature = 0.7f;
  modes[2].num_hypotheses = 4;
  modes[2].seed = 3;
  for (size_t m = 0; m < modes.size(); ++m) {
    std::vector<SearchRequest> requests;
    for (int32_t s = 0; s < 9; ++s) {
      Tokens prompt = m == 1 ? kTimestampsPrompt : kNoTimestampsPrompt;
      if (s % 3 == 1) prompt.insert(prompt.end(), {5, 6});  // a forced prefix
      requests.push_back(SearchRequest{prompt, s % 4, 0, uint64_t(40 + s)});
    }
    SearchOptions one = modes[m], many = modes[m];
    many.threads = 4;
    FakeStepModel a(kTinyVocab, hashed_logits), b(kTinyVocab, hashed_logits);
    const auto single = search(a, requests, one, tiny_specials());
    const auto threaded = search(b, requests, many, tiny_specials());
    ASSERT_EQ(single.size(), threaded.size());
    for (size_t i = 0; i < single.size(); ++i) {
      SCOPED_TRACE("mode " + std::to_string(m) + " request " + std::to_string(i));
      expect_same(single[i], threaded[i]);
    }
    EXPECT_EQ(a.step_rows, b.step_rows);
    EXPECT_EQ(a.select_calls, b.select_calls);
  }
}

TEST(Search, SamplingIsDeterministicPerSeed) {
  SearchOptions o = base_options(1);
  o.temperature = 1.0f;
  o.num_hypotheses = 4;
  o.seed = 42;
  const SearchRequest req{kNoTimestampsPrompt, 1};
  FakeStepModel m1(kTinyVocab, hashed_logits), m2(kTinyVocab, hashed_logits);
  const auto a = search(m1, {req}, o, tiny_specials())[0];
  const auto b = search(m2, {req}, o, tiny_specials())[0];
  expect_same(a, b);
  ASSERT_EQ(a.hypotheses.size(), 4u);
  EXPECT_EQ(m1.step_rows.front(), 4);  // one row per sample
  for (size_t i = 1; i < a.hypotheses.size(); ++i) {
    EXPECT_GE(a.hypotheses[i - 1].score, a.hypotheses[i].score);
  }
  // Another seed draws other samples.
  o.seed = 43;
  FakeStepModel m3(kTinyVocab, hashed_logits);
  const auto c = search(m3, {req}, o, tiny_specials())[0];
  bool differs = false;
  for (size_t i = 0; i < 4; ++i) differs |= c.hypotheses[i].tokens != a.hypotheses[i].tokens;
  EXPECT_TRUE(differs);
}

TEST(Search, SamplingScoresAreUntemperedLogProbs) {
  // A single possible continuation: the score is its log-prob whatever the temperature.
  FakeStepModel model(
      kTinyVocab,
      table_model({{{}, {{3, 0.7}, {4, 0.3}}}, {{3}, {{10, 1.0}}}, {{4}, {{10, 1.0}}}}));
  SearchOptions o = base_options(1);
  o.temperature = 0.5f;
  o.num_hypotheses = 8;
  const auto r = search(model, {SearchRequest{kNoTimestampsPrompt}}, o, tiny_specials())[0];
  ASSERT_EQ(r.hypotheses.size(), 8u);
  for (const Hypothesis& h : r.hypotheses) {
    ASSERT_EQ(h.tokens.size(), 1u);
    EXPECT_NEAR(h.cum_logprob, std::log(h.tokens[0] == 3 ? 0.7 : 0.3), 1e-5);
  }
}

TEST(Search, NoSpeechProbabilityComesFromTheSotPosition) {
  auto fn = [](int32_t, std::span<const int32_t> history, std::span<float> out) {
    if (history.back() == 11) {
      set_probs(out, {{17, 0.3}, {12, 0.7}});
    } else {
      set_probs(out, {{10, 1.0}});
    }
  };
  FakeStepModel model(kTinyVocab, fn);
  const Tokens prompt = {16, 5, 6, 11, 12, 14, 18};  // previous text, then the task
  const auto r = search(model, {SearchRequest{prompt, 0, 3}, SearchRequest{prompt, 0, -1}},
                        base_options(1), tiny_specials());
  EXPECT_NEAR(r[0].no_speech_prob, 0.3, 1e-6);
  EXPECT_EQ(r[1].no_speech_prob, 0.0f);
  EXPECT_TRUE(r[0].hypotheses[0].tokens.empty());
}

TEST(Search, PrefixTokensAreForcedReturnedAndScoreZero) {
  const Tokens prompt = {11, 12, 14, 18, 5, 6};
  FakeStepModel model(kTinyVocab, table_model({
                                      {{}, {{1, 0.9}, {5, 0.1}}},  // the prefix is forced anyway
                                      {{5}, {{1, 0.9}, {6, 0.1}}},
                                      {{5, 6}, {{7, 0.8}, {10, 0.2}}},  // first free step
                                      {{5, 6, 7}, {{10, 1.0}}},
                                  }));
  for (int beam : {1, 3}) {
    const auto r = search(model, {SearchRequest{prompt}}, base_options(beam), tiny_specials());
    const Hypothesis& h = r[0].hypotheses.front();
    EXPECT_EQ(h.tokens, (Tokens{5, 6, 7})) << "beam " << beam;
    EXPECT_NEAR(h.cum_logprob, std::log(0.8), 1e-5) << "beam " << beam;
    EXPECT_NEAR(h.score, std::log(0.8) / 3, 1e-5) << "beam " << beam;
  }
  EXPECT_EQ(model.started_prompts.back(), kNoTimestampsPrompt);  // the prefix is stepped
}

TEST(Search, MaxLengthCapsTheDecodedTokens) {
  auto never_ends = [](int32_t, std::span<const int32_t>, std::span<float> out) {
    set_probs(out, {{3, 0.6}, {4, 0.4}});
  };
  SearchOptions o = base_options(1);
  o.max_length = 10;  // min(10 / 2, 10 - 4 + 1) = 5 steps
  EXPECT_EQ(max_decoding_steps(10, 4), 5);
  FakeStepModel greedy(kTinyVocab, never_ends);
  EXPECT_EQ(best(greedy, kNoTimestampsPrompt, o).tokens, (Tokens{3, 3, 3, 3, 3}));
  o.beam_size = 2;
  FakeStepModel beam(kTinyVocab, never_ends);
  const auto r = search(beam, {SearchRequest{kNoTimestampsPrompt}}, o, tiny_specials())[0];
  ASSERT_EQ(r.hypotheses.size(), 2u);  // every beam becomes a hypothesis at the last step
  for (const Hypothesis& h : r.hypotheses) EXPECT_EQ(h.tokens.size(), 5u);
  EXPECT_EQ(max_decoding_steps(448, 4), 224);
  EXPECT_EQ(max_decoding_steps(448, 300), 149);
}

TEST(Search, SuppressBlankOnlyAtTheFirstStep) {
  auto blank_first = [](int32_t, std::span<const int32_t> history, std::span<float> out) {
    if (history.size() < 6) {
      set_probs(out, {{0, 0.5}, {10, 0.3}, {2, 0.2}});
    } else {
      set_probs(out, {{10, 1.0}});
    }
  };
  SearchOptions o = base_options(1);
  o.suppress_blank = true;
  FakeStepModel model(kTinyVocab, blank_first);
  EXPECT_EQ(best(model, kNoTimestampsPrompt, o).tokens, (Tokens{2, 0}));
}

TEST(Search, TimestampRulesShapeTheOutput) {
  // Text token 1 beats every single timestamp; the rules still force the structure.
  auto fn = [](int32_t, std::span<const int32_t> history, std::span<float> out) {
    for (float& x : out) x = -5.0f;
    out[1] = 2.0f;
    for (int t = 22; t <= 29; ++t) out[size_t(t)] = 1.0f;
    out[25] = 1.5f;
    out[20] = 0.5f;
    out[10] = history.size() - 3 >= 4 ? 4.0f : -5.0f;  // <|endoftext|> after 4 tokens
  };
  SearchOptions o = base_options(1);
  o.max_initial_timestamp_index = 2;  // <|0.04|> (id 21) at most
  FakeStepModel model(kTinyVocab, fn);
  // Step 0: a timestamp <= 21, so 20. Step 1: a lone first timestamp counts as a pair: text 1.
  // Step 2: timestamps <= 20 are gone and the mass of 22..29 (log-sum 3.16) beats the best
  // text (2.0): 25. Step 3: the open pair must close with a timestamp >= 25: 25 again.
  // Step 4: the pair is closed, no timestamp: <|endoftext|>.
  EXPECT_EQ(best(model, kTimestampsPrompt, o).tokens, (Tokens{20, 1, 25, 25}));
}

TEST(Search, RejectsBadInput) {
  FakeStepModel model(kTinyVocab, hashed_logits);
  EXPECT_THROW(search(model, {SearchRequest{{12, 14}}}, base_options(1), tiny_specials()), Error);
  SearchOptions o = base_options(1);
  o.max_length = 2;  // min(1, 2 - 4 + 1) < 1
  EXPECT_THROW(search(model, {SearchRequest{kNoTimestampsPrompt}}, o, tiny_specials()), Error);
  o = base_options(0);
  EXPECT_THROW(search(model, {SearchRequest{kNoTimestampsPrompt}}, o, tiny_specials()),
               ConfigError);
  EXPECT_TRUE(search(model, {}, base_options(1), tiny_specials()).empty());
}

TEST(SearchOptions, ValidateNamesBadFields) {
  EXPECT_NO_THROW(validate(SearchOptions{}));
  const auto bad = [](auto mutate) {
    SearchOptions o;
    mutate(o);
    EXPECT_THROW(validate(o), ConfigError);
  };
  bad([](SearchOptions& o) { o.beam_size = 0; });
  bad([](SearchOptions& o) { o.patience = 0; });
  bad([](SearchOptions& o) { o.patience = 0.05f; });  // round(5 * 0.05) = 0 hypotheses
  bad([](SearchOptions& o) { o.repetition_penalty = 0; });
  bad([](SearchOptions& o) { o.no_repeat_ngram_size = -1; });
  bad([](SearchOptions& o) { o.max_length = 0; });
  bad([](SearchOptions& o) { o.temperature = -0.1f; });
  bad([](SearchOptions& o) { o.temperature = NAN; });
  bad([](SearchOptions& o) { o.num_hypotheses = 0; });
  bad([](SearchOptions& o) { o.max_initial_timestamp_index = -1; });
  bad([](SearchOptions& o) { o.suppress_tokens = {5, -1}; });
  bad([](SearchOptions& o) { o.length_penalty = INFINITY; });
  bad([](SearchOptions& o) { o.threads = 0; });
  SearchOptions sampling;
  sampling.temperature = 0.5f;
  sampling.patience = 0.05f;  // irrelevant when sampling
  EXPECT_NO_THROW(validate(sampling));
}

TEST(Search, TaskPromptLength) {
  const SpecialTokens s = tiny_specials();
  EXPECT_EQ(task_prompt_length(Tokens{11, 12, 14, 18, 19, 3}, s), 4u);
  EXPECT_EQ(task_prompt_length(Tokens{16, 3, 4, 11, 12, 14}, s), 6u);
  EXPECT_EQ(task_prompt_length(Tokens{11}, s), 1u);
  EXPECT_THROW(task_prompt_length(Tokens{12, 14}, s), Error);
}

}  // namespace
}  // namespace voiceman::decoding
