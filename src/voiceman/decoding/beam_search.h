#pragma once
// One request's beam search, step by step on log-probabilities, with CTranslate2's
// BeamSearch semantics: 2 * beam_size candidates per step; a candidate ending in
// <|endoftext|> among the first beam_size is registered as a hypothesis and replaced by the
// next non-ending candidate; the search stops after round(beam_size * patience) hypotheses
// (or, with length_penalty == 0, once the top beam finished); at the last step every beam
// becomes a hypothesis. Forced prefix tokens score 0 on the first beam.
#include <cstdint>
#include <span>
#include <vector>

#include "voiceman/decoding/search.h"

namespace voiceman::decoding {

struct Beam {
  std::vector<int32_t> tokens;  // generated so far (prefix included), <|endoftext|> possible
  float cum_logprob = 0;
};

struct BeamCandidate {
  int32_t beam = 0;  // index into the beams the step was computed from
  int32_t token = 0;
  float score = 0;  // cumulative log-prob with this token
};

// The k best of cum[b] + log_probs[b * vocab + v], best first; ties go to the lower b, then v.
std::vector<BeamCandidate> top_candidates(std::span<const float> log_probs,
                                          std::span<const float> cum, int vocab, int k);

class BeamRequest {
 public:
  BeamRequest(int beam_size, float patience, float length_penalty, int32_t eot,
              std::vector<int32_t> prefix, int max_steps, int vocab);

  // Live beams: one before the first step (all of them share the prompt's row), then
  // beam_size. When 2 * beam_size > vocab, beam_size from the start (CTranslate2 expands
  // early then), all but the first with the lowest score.
  const std::vector<Beam>& beams() const { return beams_; }

  // log_probs holds one processed log-softmax row per live beam. Returns, for each new beam,
  // the index of the beam it continues.
  std::vector<int32_t> advance(std::span<const float> log_probs);

  bool finished() const { return finished_; }
  int step() const { return step_; }

  // Finished hypotheses, length-normalized, best first.
  std::vector<Hypothesis> take_hypotheses();

 private:
  int beam_size_;
  float length_penalty_;
  int32_t eot_;
  std::vector<int32_t> prefix_;
  int max_steps_;
  int vocab_;
  size_t max_candidates_;
  int step_ = 0;
  bool top_beam_finished_ = false;
  bool finished_ = false;
  std::vector<Beam> beams_;
  std::vector<Hypothesis> hypotheses_;
};

// CTranslate2's final score: cum_logprob / length^length_penalty (float math).
float normalized_score(float cum_logprob, size_t length, float length_penalty);

// Stable sort by score, best first.
void sort_hypotheses(std::vector<Hypothesis>& hypotheses);

}  // namespace voiceman::decoding
