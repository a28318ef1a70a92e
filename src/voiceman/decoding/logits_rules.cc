#include "voiceman/decoding/logits_rules.h"

#include <algorithm>
#include <cmath>

#include "voiceman/decoding/fast_math.h"

namespace voiceman::decoding {

namespace {

// Ids outside the row are ignored rather than written out of bounds.
inline void disable(std::span<float> logits, int64_t id) {
  if (id >= 0 && id < static_cast<int64_t>(logits.size())) logits[id] = kDisabledLogit;
}

inline void disable_range(std::span<float> logits, int64_t begin, int64_t end) {
  begin = std::max<int64_t>(begin, 0);
  end = std::min<int64_t>(end, static_cast<int64_t>(logits.size()));
  for (int64_t i = begin; i < end; ++i) logits[i] = kDisabledLogit;
}

// True when log(sum(exp(timestamp logits))) beats the best single text logit. Comparing raw
// logits is the same test as CTranslate2's comparison of log-probabilities.
bool timestamp_mass_wins(std::span<const float> logits, const TimestampRules& r) {
  const size_t text_end = std::min<size_t>(r.timestamp_begin, logits.size());
  const size_t ts_end = std::min<size_t>(size_t(r.timestamp_end) + 1, logits.size());
  if (text_end >= ts_end) return false;
  const float max_text = max_value(logits.subspan(0, text_end));
  const float max_ts = max_value(logits.subspan(text_end, ts_end - text_end));
  double sum = 0;
  for (size_t i = text_end; i < ts_end; ++i) sum += std::exp(double(logits[i]) - max_ts);
  const double logsumexp = double(max_ts) + std::log(sum);
  return logsumexp > double(max_text);
}

}  // namespace

void suppress_tokens(std::span<float> logits, std::span<const int32_t> ids) {
  for (int32_t id : ids) disable(logits, id);
}

void suppress_blank(std::span<float> logits, std::span<const int32_t> blank_ids,
                    std::span<const int32_t> generated, size_t sample_begin) {
  if (generated.size() == sample_begin) suppress_tokens(logits, blank_ids);
}

void apply_repetition_penalty(std::span<float> logits, std::span<const int32_t> generated,
                              float penalty) {
  if (penalty == 1.0f || generated.empty()) return;
  // Read every previous score before writing, so repeated ids are penalized once.
  const auto in_row = [&](int32_t id) { return id >= 0 && size_t(id) < logits.size(); };
  std::vector<float> previous(generated.size());
  for (size_t i = 0; i < generated.size(); ++i) {
    if (in_row(generated[i])) previous[i] = logits[generated[i]];
  }
  for (size_t i = 0; i < generated.size(); ++i) {
    if (!in_row(generated[i])) continue;
    const float score = previous[i];
    logits[generated[i]] = score < 0 ? score * penalty : score / penalty;
  }
}

void apply_no_repeat_ngram(std::span<float> logits, std::span<const int32_t> generated,
                           int ngram_size) {
  if (ngram_size <= 0) return;
  const size_t n = static_cast<size_t>(ngram_size);
  if (generated.size() < n) return;
  // The last n-1 tokens are the pattern; every earlier occurrence bans the token after it.
  const auto end = generated.end();
  const auto pattern = end - static_cast<std::ptrdiff_t>(n - 1);
  auto it = generated.begin();
  while (true) {
    it = std::search(it, end, pattern, end);
    if (end - it < static_cast<std::ptrdiff_t>(n)) break;
    disable(logits, it[n - 1]);
    ++it;
  }
}

TimestampRules TimestampRules::make(const SpecialTokens& specials, int vocab_size,
                                    int max_initial_timestamp_index) {
  TimestampRules r;
  r.eot = specials.eot;
  r.no_timestamps = specials.no_timestamps;
  r.timestamp_begin = specials.timestamp_begin;
  r.timestamp_end = vocab_size - 1;
  r.max_initial_timestamp = specials.timestamp_begin + max_initial_timestamp_index;
  return r;
}

void apply_timestamp_rules(std::span<float> logits, std::span<const int32_t> generated,
                           size_t sample_begin, const TimestampRules& r) {
  const size_t step = generated.size();
  const int64_t ts_stop = int64_t(r.timestamp_end) + 1;
  disable(logits, r.no_timestamps);

  bool check_mass = false;
  if (step == sample_begin && step == 0) {
    // The first token is a timestamp, no later than the initial cap.
    disable_range(logits, 0, r.timestamp_begin);
    disable_range(logits, int64_t(r.max_initial_timestamp) + 1, ts_stop);
  } else if (step > sample_begin) {
    const int32_t last = generated[step - 1];
    if (last >= r.timestamp_begin) {
      // A lone timestamp right after the sample start counts as the second of a pair.
      const int32_t penultimate = step - 1 > sample_begin ? generated[step - 2] : last;
      if (penultimate >= r.timestamp_begin) {
        disable_range(logits, r.timestamp_begin, ts_stop);  // a pair closed: text next
      } else {
        // Open pair: close it with a timestamp (not earlier) or end the text.
        disable_range(logits, 0, r.eot);
        disable_range(logits, r.timestamp_begin, last);
        check_mass = true;
      }
    } else {
      check_mass = true;
      // Timestamps never decrease: nothing up to and including the last one.
      for (size_t t = step; t-- > sample_begin;) {
        if (generated[t] >= r.timestamp_begin) {
          disable_range(logits, r.timestamp_begin, int64_t(generated[t]) + 1);
          break;
        }
      }
    }
  }

  if (check_mass && timestamp_mass_wins(logits, r)) {
    disable_range(logits, 0, r.timestamp_begin);
  }
}

void apply_rules(const LogitsRules& rules, std::span<float> logits,
                 std::span<const int32_t> generated, size_t sample_begin) {
  apply_repetition_penalty(logits, generated, rules.repetition_penalty);
  apply_no_repeat_ngram(logits, generated, rules.no_repeat_ngram_size);
  suppress_tokens(logits, rules.suppress_ids);
  if (!rules.suppress_begin_ids.empty()) {
    suppress_blank(logits, rules.suppress_begin_ids, generated, sample_begin);
  }
  if (rules.timestamps) {
    apply_timestamp_rules(logits, generated, sample_begin, rules.timestamp_rules);
  }
}

void log_softmax(std::span<const float> logits, std::span<float> out) {
  if (logits.empty()) return;
  const float max = max_value(logits);
  const float log_sum = static_cast<float>(std::log(sum_exp(logits, max)));
  for (size_t i = 0; i < logits.size(); ++i) out[i] = (logits[i] - max) - log_sum;
}

}  // namespace voiceman::decoding
