#include "voiceman/decoding/options.h"

#include <cmath>

#include "voiceman/core/errors.h"
#include "voiceman/core/log.h"

namespace voiceman::decoding {

namespace {

void require(bool ok, const char* what) {
  if (!ok) throw ConfigError(log::cat("invalid decoding option: ", what));
}

}  // namespace

void validate(const SearchOptions& o) {
  require(o.beam_size >= 1, "beam_size must be >= 1");
  require(std::isfinite(o.patience) && o.patience > 0, "patience must be > 0");
  // CTranslate2 refuses to return more hypotheses than beam_size * patience.
  require(o.temperature > 0 || std::round(float(o.beam_size) * o.patience) >= 1,
          "beam_size * patience must round to at least 1");
  require(std::isfinite(o.length_penalty), "length_penalty must be finite");
  require(std::isfinite(o.repetition_penalty) && o.repetition_penalty > 0,
          "repetition_penalty must be > 0");
  require(o.no_repeat_ngram_size >= 0, "no_repeat_ngram_size must be >= 0");
  require(o.max_length >= 1, "max_length must be >= 1");
  require(std::isfinite(o.temperature) && o.temperature >= 0, "temperature must be >= 0");
  require(o.num_hypotheses >= 1, "num_hypotheses (best_of) must be >= 1");
  require(o.max_initial_timestamp_index >= 0, "max_initial_timestamp_index must be >= 0");
  require(o.threads >= 1, "threads must be >= 1");
  for (int32_t id : o.suppress_tokens) {
    require(id >= 0, "suppress_tokens must be resolved token ids (no -1)");
  }
}

}  // namespace voiceman::decoding
