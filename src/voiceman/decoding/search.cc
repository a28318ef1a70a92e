#include "voiceman/decoding/search.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <memory>
#include <mutex>
#include <random>

#include "voiceman/core/errors.h"
#include "voiceman/core/log.h"
#include "voiceman/decoding/beam_search.h"
#include "voiceman/decoding/logits_rules.h"
#include "voiceman/decoding/sampling.h"

namespace voiceman::decoding {

namespace {

// One greedy or sampled row; a request has 1 (greedy) or num_hypotheses (sampling).
struct SampleRow {
  std::vector<int32_t> tokens;
  float cum_logprob = 0;
  std::mt19937_64 rng;
  int32_t row = 0;  // model row holding this row's state
  bool done = false;
  int32_t next_id = 0;  // this step's token and its log-prob (choose_tokens)
  float next_logprob = 0;
  int64_t scored = -1;  // this step's row in RequestState::scores, or -1 (forced)
};

struct RequestState {
  std::vector<int32_t> prefix;
  int max_steps = 0;
  const LogitsRules* rules = nullptr;
  std::unique_ptr<BeamRequest> beam;  // beam search only
  std::vector<int32_t> beam_rows;     // model row of each live beam
  std::vector<int32_t> origins;       // this step's beam origins (choose_tokens)
  std::vector<SampleRow> rows;        // greedy / sampling only
  std::vector<float> scores;          // this step's log-probs, one vocab row per scored row
  std::vector<Hypothesis> hypotheses;
  bool done = false;
};

// What the next model step needs: src rows for select_rows and the token fed to each.
struct NextStep {
  std::vector<int32_t> src;
  std::vector<int32_t> tokens;

  int32_t add(int32_t from_row, int32_t token) {
    src.push_back(from_row);
    tokens.push_back(token);
    return static_cast<int32_t>(src.size()) - 1;
  }
};

std::span<const float> row_of(std::span<const float> logits, int32_t row, int vocab) {
  return logits.subspan(size_t(row) * size_t(vocab), size_t(vocab));
}

// Runs fn(i) for i in [0, n) on up to `threads` OpenMP threads. An exception cannot leave
// an OpenMP region: the first one is kept and rethrown after it.
template <class Fn>
void parallel_for(size_t n, int threads, const Fn& fn) {
  std::exception_ptr error;
  std::mutex error_mutex;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1 && n > 1)
  for (int64_t i = 0; i < static_cast<int64_t>(n); ++i) {
    try {
      fn(static_cast<size_t>(i));
    } catch (...) {
      const std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

// A row to score this step: its logits, the tokens its rules look at, where its log-probs go.
struct ScoreJob {
  const RequestState* st;
  int32_t model_row;
  const std::vector<int32_t>* generated;
  float* out;
};

// The rows that choose a token this step: every live beam, and every live sample row past
// the forced prefix. Sizes each request's scores buffer.
std::vector<ScoreJob> score_jobs(std::vector<RequestState>& states, int vocab, size_t step) {
  std::vector<ScoreJob> jobs;
  for (RequestState& st : states) {
    if (st.done) continue;
    if (st.beam) {
      const std::vector<Beam>& beams = st.beam->beams();
      st.scores.resize(beams.size() * size_t(vocab));
      for (size_t b = 0; b < beams.size(); ++b)
        jobs.push_back(
            {&st, st.beam_rows[b], &beams[b].tokens, st.scores.data() + b * size_t(vocab)});
      continue;
    }
    int64_t scored = 0;
    for (SampleRow& r : st.rows) r.scored = !r.done && step >= st.prefix.size() ? scored++ : -1;
    st.scores.resize(size_t(scored) * size_t(vocab));
    for (const SampleRow& r : st.rows)
      if (r.scored >= 0)
        jobs.push_back(
            {&st, r.row, &r.tokens, st.scores.data() + size_t(r.scored) * size_t(vocab)});
  }
  return jobs;
}

// Log-probs of one row after the logits rules, CTranslate2's order.
void score_row(const ScoreJob& job, std::span<const float> logits, int vocab) {
  const auto src = row_of(logits, job.model_row, vocab);
  const std::span<float> dst(job.out, size_t(vocab));
  std::copy(src.begin(), src.end(), dst.begin());
  apply_rules(*job.st->rules, dst, *job.generated, job.st->prefix.size());
  log_softmax(dst, dst);
}

// Each request's choice from its scored rows: the beams' next candidates, or each sample
// row's token. Touches only the request's own state.
void choose_tokens(RequestState& st, int vocab, size_t step, const SearchOptions& options) {
  if (st.beam) {
    st.origins = st.beam->advance(st.scores);
    return;
  }
  const bool sampling = options.temperature > 0;
  for (SampleRow& r : st.rows) {
    if (r.done) continue;
    if (r.scored < 0) {  // forced prefix tokens score 0, as in CTranslate2
      r.next_id = st.prefix[step];
      r.next_logprob = 0;
      continue;
    }
    const std::span<const float> work(st.scores.data() + size_t(r.scored) * size_t(vocab),
                                      size_t(vocab));
    r.next_id = sampling ? sample_token(work, options.temperature, r.rng) : argmax(work);
    r.next_logprob = work[size_t(r.next_id)];
  }
}

// The bookkeeping after choose_tokens, in request order: hypotheses, and the next step's rows.
void advance_rows(RequestState& st, size_t step, const SearchOptions& options,
                  const SpecialTokens& specials, NextStep& next) {
  for (SampleRow& r : st.rows) {
    if (r.done) continue;
    const int32_t id = r.next_id;
    r.cum_logprob += r.next_logprob;
    if (id != specials.eot) r.tokens.push_back(id);
    const bool ends = id == specials.eot && step >= st.prefix.size();
    if (ends || int(step) + 1 == st.max_steps) {
      Hypothesis h;
      h.tokens = std::move(r.tokens);
      h.cum_logprob = r.cum_logprob;
      h.score = normalized_score(h.cum_logprob, h.tokens.size(), options.length_penalty);
      st.hypotheses.push_back(std::move(h));
      r.done = true;
    } else {
      r.row = next.add(r.row, id);
    }
  }
  st.done = std::all_of(st.rows.begin(), st.rows.end(), [](const SampleRow& r) { return r.done; });
  if (st.done) sort_hypotheses(st.hypotheses);
}

void advance_beams(RequestState& st, NextStep& next) {
  if (st.beam->finished()) {
    st.hypotheses = st.beam->take_hypotheses();
    st.done = true;
    return;
  }
  const std::vector<int32_t> old_rows = st.beam_rows;
  st.beam_rows.resize(st.origins.size());
  for (size_t k = 0; k < st.origins.size(); ++k) {
    st.beam_rows[k] = next.add(old_rows[size_t(st.origins[k])], st.beam->beams()[k].tokens.back());
  }
}

bool is_identity(const std::vector<int32_t>& src, int rows) {
  if (int(src.size()) != rows) return false;
  for (size_t i = 0; i < src.size(); ++i) {
    if (src[i] != int32_t(i)) return false;
  }
  return true;
}

}  // namespace

size_t task_prompt_length(std::span<const int32_t> prompt, const SpecialTokens& specials) {
  const auto sot = std::find(prompt.begin(), prompt.end(), specials.sot);
  if (sot == prompt.end()) throw Error("decoding prompt has no <|startoftranscript|> token");
  size_t index = size_t(sot - prompt.begin());
  while (index < prompt.size() && prompt[index] >= specials.sot &&
         prompt[index] <= specials.no_timestamps) {
    ++index;
  }
  return index;
}

int max_decoding_steps(int max_length, size_t task_prompt_length) {
  return std::min(max_length / 2, max_length - int(task_prompt_length) + 1);
}

float token_probability(std::span<const float> logits, int32_t id) {
  if (id < 0 || size_t(id) >= logits.size()) return 0.0f;
  const float max = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float x : logits) sum += std::exp(double(x) - max);
  return static_cast<float>(std::exp(double(logits[size_t(id)]) - max) / sum);
}

std::vector<SearchResult> search(StepModel& model, const std::vector<SearchRequest>& requests,
                                 const SearchOptions& options, const SpecialTokens& specials) {
  validate(options);
  std::vector<SearchResult> results(requests.size());
  if (requests.empty()) return results;
  const int vocab = model.vocab_size();
  if (vocab < 2) throw Error("decoding needs a vocabulary of at least 2 tokens");

  LogitsRules plain;
  plain.repetition_penalty = options.repetition_penalty;
  plain.no_repeat_ngram_size = options.no_repeat_ngram_size;
  plain.suppress_ids = options.suppress_tokens;
  if (options.suppress_blank) plain.suppress_begin_ids = specials.suppress_ids_begin;
  LogitsRules timed = plain;
  timed.timestamps = true;
  timed.timestamp_rules =
      TimestampRules::make(specials, vocab, options.max_initial_timestamp_index);

  const size_t n = requests.size();
  const bool sampling = options.temperature > 0;
  std::vector<RequestState> states(n);
  std::vector<std::vector<int32_t>> prompts(n);
  std::vector<int32_t> sources(n);
  std::vector<int32_t> sot_indices(n);
  for (size_t i = 0; i < n; ++i) {
    const SearchRequest& req = requests[i];
    const size_t task_len = task_prompt_length(req.prompt, specials);
    RequestState& st = states[i];
    st.max_steps = max_decoding_steps(options.max_length, task_len);
    if (st.max_steps < 1) {
      throw Error(log::cat("decoding prompt of ", task_len, " tokens leaves no room within ",
                           "max_length ", options.max_length));
    }
    if (req.sot_index >= int32_t(task_len)) {
      throw Error("sot_index must point inside the task prompt");
    }
    st.prefix.assign(req.prompt.begin() + std::ptrdiff_t(task_len), req.prompt.end());
    // Timestamp rules apply unless the task prompt ends with <|notimestamps|> (CTranslate2).
    const bool timestamps =
        !options.without_timestamps && req.prompt[task_len - 1] != specials.no_timestamps;
    st.rules = timestamps ? &timed : &plain;
    prompts[i].assign(req.prompt.begin(), req.prompt.begin() + std::ptrdiff_t(task_len));
    sources[i] = req.source;
    sot_indices[i] = req.sot_index;

    const int32_t row = int32_t(i);  // start() gives one row per request
    if (sampling || options.beam_size == 1) {
      const int count = sampling ? options.num_hypotheses : 1;
      st.rows.resize(size_t(count));
      for (int k = 0; k < count; ++k) {
        st.rows[size_t(k)].row = row;
        st.rows[size_t(k)].rng.seed(mix_seed(options.seed, req.seed, uint64_t(k)));
      }
    } else {
      st.beam =
          std::make_unique<BeamRequest>(options.beam_size, options.patience, options.length_penalty,
                                        specials.eot, st.prefix, st.max_steps, vocab);
      st.beam_rows.assign(st.beam->beams().size(), row);
    }
  }

  std::vector<float> start_logits(n * size_t(vocab));
  std::vector<float> sot_logits(n * size_t(vocab));
  model.start(prompts, sources, sot_indices, start_logits, sot_logits);
  if (start_logits.size() < n * size_t(vocab) || sot_logits.size() < n * size_t(vocab)) {
    throw Error("StepModel::start returned fewer logits than prompts");
  }
  for (size_t i = 0; i < n; ++i) {
    if (sot_indices[i] >= 0) {
      results[i].no_speech_prob =
          token_probability(row_of(sot_logits, int32_t(i), vocab), specials.no_speech);
    }
  }

  std::span<const float> logits = start_logits;  // then the model's own, step by step
  int live_rows = int(n);
  std::vector<RequestState*> live;
  for (size_t step = 0;; ++step) {
    // Rows are scored, then requests choose, on several threads (a GPU waits meanwhile);
    // the bookkeeping stays in request order, so results do not depend on the threads.
    const std::vector<ScoreJob> jobs = score_jobs(states, vocab, step);
    parallel_for(jobs.size(), options.threads,
                 [&](size_t j) { score_row(jobs[j], logits, vocab); });
    live.clear();
    for (RequestState& st : states)
      if (!st.done) live.push_back(&st);
    parallel_for(live.size(), options.threads,
                 [&](size_t i) { choose_tokens(*live[i], vocab, step, options); });
    NextStep next;
    for (RequestState* st : live) {
      if (st->beam) {
        advance_beams(*st, next);
      } else {
        advance_rows(*st, step, options, specials, next);
      }
    }
    if (next.src.empty()) break;
    // Reorder beams, expand samples, drop finished rows; skip the no-op case.
    if (!is_identity(next.src, live_rows)) model.select_rows(next.src);
    live_rows = int(next.src.size());
    logits = model.step(next.tokens);
    if (logits.size() < size_t(live_rows) * size_t(vocab)) {
      throw Error("StepModel::step returned fewer logits than live rows");
    }
  }

  for (size_t i = 0; i < n; ++i) results[i].hypotheses = std::move(states[i].hypotheses);
  return results;
}

}  // namespace voiceman::decoding
