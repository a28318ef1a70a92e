#include "voiceman/decoding/beam_search.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "voiceman/core/errors.h"
#include "voiceman/decoding/fast_math.h"

namespace voiceman::decoding {

namespace {

// Score CTranslate2 gives to beams and candidates that must never win.
constexpr float kPrefixLoser = -1e10f;

}  // namespace

std::vector<BeamCandidate> top_candidates(std::span<const float> log_probs,
                                          std::span<const float> cum, int vocab, int k) {
  std::vector<BeamCandidate> best;
  best.reserve(size_t(k) + 1);
  if (k <= 0) return best;
  // Once k are kept, a block whose best score cannot beat the last one is skipped whole:
  // float addition is monotonic, so cum + max(block) is the block's best score exactly.
  constexpr int kBlock = 256;
  for (size_t b = 0; b < cum.size(); ++b) {
    const float* row = log_probs.data() + b * size_t(vocab);
    for (int begin = 0; begin < vocab; begin += kBlock) {
      const int end = std::min(vocab, begin + kBlock);
      if (int(best.size()) == k &&
          !(cum[b] + max_value({row + begin, size_t(end - begin)}) > best.back().score))
        continue;
      for (int v = begin; v < end; ++v) {
        const float score = cum[b] + row[v];
        // Scanning in flat order, an equal score never beats one already kept.
        if (int(best.size()) == k && !(score > best.back().score)) continue;
        auto pos = std::find_if(best.begin(), best.end(),
                                [score](const BeamCandidate& c) { return score > c.score; });
        best.insert(pos, BeamCandidate{int32_t(b), int32_t(v), score});
        if (int(best.size()) > k) best.pop_back();
      }
    }
  }
  return best;
}

float normalized_score(float cum_logprob, size_t length, float length_penalty) {
  return cum_logprob / std::pow(static_cast<float>(length), length_penalty);
}

void sort_hypotheses(std::vector<Hypothesis>& hypotheses) {
  std::stable_sort(hypotheses.begin(), hypotheses.end(),
                   [](const Hypothesis& a, const Hypothesis& b) { return a.score > b.score; });
}

BeamRequest::BeamRequest(int beam_size, float patience, float length_penalty, int32_t eot,
                         std::vector<int32_t> prefix, int max_steps, int vocab)
    : beam_size_(beam_size),
      length_penalty_(length_penalty),
      eot_(eot),
      prefix_(std::move(prefix)),
      max_steps_(max_steps),
      vocab_(vocab),
      max_candidates_(static_cast<size_t>(std::round(float(beam_size) * patience))) {
  if (beam_size < 1 || max_steps < 1 || vocab < 2) {
    throw Error("beam search needs beam_size >= 1, max_steps >= 1 and a vocabulary of 2+");
  }
  if (2 * beam_size <= vocab) {
    beams_.resize(1);  // the first step only looks at the prompt's row
  } else {
    beams_.resize(size_t(beam_size));
    for (size_t b = 1; b < beams_.size(); ++b) {
      beams_[b].cum_logprob = std::numeric_limits<float>::lowest();
    }
  }
}

std::vector<int32_t> BeamRequest::advance(std::span<const float> log_probs) {
  if (finished_) throw Error("BeamRequest::advance after the search finished");
  if (log_probs.size() != beams_.size() * size_t(vocab_)) {
    throw Error("BeamRequest::advance: one log-prob row per live beam expected");
  }
  const size_t step = size_t(step_);
  const int num_candidates = 2 * beam_size_;
  std::vector<float> cum(beams_.size());
  for (size_t b = 0; b < beams_.size(); ++b) cum[b] = beams_[b].cum_logprob;
  std::vector<BeamCandidate> cands = top_candidates(log_probs, cum, vocab_, num_candidates);

  if (step < prefix_.size()) {
    // Forced prefix: every candidate is the prefix token on the first beam, which scores 0.
    for (size_t k = 0; k < cands.size(); ++k) {
      cands[k] = BeamCandidate{0, prefix_[step], k == 0 ? 0.0f : kPrefixLoser};
    }
  } else if (step == prefix_.size() && !prefix_.empty()) {
    // First free step after a prefix: secondary beams may not end right away.
    for (size_t k = 1; k < cands.size(); ++k) {
      if (cands[k].token == eot_) cands[k] = BeamCandidate{0, 0, kPrefixLoser};
    }
  }

  const bool last_step = step_ + 1 == max_steps_;
  std::vector<Beam> next(static_cast<size_t>(beam_size_));
  std::vector<int32_t> origins(static_cast<size_t>(beam_size_));
  size_t secondary = size_t(beam_size_);
  for (size_t k = 0; k < size_t(beam_size_) && k < cands.size(); ++k) {
    size_t chosen = k;
    const BeamCandidate& c = cands[k];
    const bool ends = c.token == eot_ && step >= prefix_.size();
    if (ends || last_step) {
      if (k == 0) top_beam_finished_ = true;
      Hypothesis h;
      h.tokens = beams_[size_t(c.beam)].tokens;
      if (c.token != eot_) h.tokens.push_back(c.token);
      h.cum_logprob = c.score;
      hypotheses_.push_back(std::move(h));
      // Replace the finished beam by the best remaining candidate that does not end.
      for (size_t j = secondary; j < cands.size(); ++j) {
        if (cands[j].token != eot_) {
          chosen = j;
          secondary = j + 1;
          break;
        }
      }
    }
    const BeamCandidate& keep = cands[chosen];
    next[k].tokens = beams_[size_t(keep.beam)].tokens;
    next[k].tokens.push_back(keep.token);
    next[k].cum_logprob = keep.score;
    origins[k] = keep.beam;
  }

  if (last_step) {
    finished_ = true;
  } else if (length_penalty_ == 0) {
    // faster-whisper asks for a single hypothesis; without normalization the top beam wins.
    finished_ = top_beam_finished_ && !hypotheses_.empty();
  } else {
    finished_ = hypotheses_.size() >= max_candidates_;
  }
  ++step_;
  beams_ = std::move(next);
  if (finished_) {
    for (Hypothesis& h : hypotheses_) {
      h.score = normalized_score(h.cum_logprob, h.tokens.size(), length_penalty_);
    }
    sort_hypotheses(hypotheses_);
  }
  return origins;
}

std::vector<Hypothesis> BeamRequest::take_hypotheses() { return std::move(hypotheses_); }

}  // namespace voiceman::decoding
