#include "voiceman/asr/prompt.h"

#include <algorithm>
#include <set>

#include "voiceman/core/errors.h"
#include "voiceman/decoding/text_utils.h"

namespace voiceman::asr {

std::vector<int32_t> sot_sequence(const tokenizer::Tokenizer& tok, const std::string& language,
                                  const std::string& task) {
  const auto specials = tok.special_tokens();
  std::vector<int32_t> seq = {specials.sot};
  if (tok.multilingual()) {
    const auto lang = tok.language_token(language);
    if (!lang) throw ConfigError("unknown language code '" + language + "'");
    seq.push_back(*lang);
    seq.push_back(task == "translate" ? specials.translate : specials.transcribe);
  }
  return seq;
}

std::vector<int32_t> build_prompt(const tokenizer::Tokenizer& tok,
                                  const std::vector<int32_t>& sot_seq, const PromptInputs& in,
                                  int max_length) {
  const auto specials = tok.special_tokens();
  const size_t half = static_cast<size_t>(max_length / 2);
  auto encode_hint = [&](const std::string& text) {
    auto ids = tok.encode(" " + std::string(decoding::python_strip(text)));
    if (ids.size() >= half) ids.resize(half - 1);
    return ids;
  };
  // faster-whisper tests these strings for truth: an empty one is as if not given.
  const bool has_prefix = in.prefix && !in.prefix->empty();
  const bool use_hotwords = in.hotwords && !in.hotwords->empty() && !has_prefix;
  std::vector<int32_t> prompt;
  if (!in.previous_tokens.empty() || use_hotwords) {
    prompt.push_back(specials.sot_prev);
    if (use_hotwords) {
      const auto ids = encode_hint(*in.hotwords);
      prompt.insert(prompt.end(), ids.begin(), ids.end());
    }
    const size_t keep = std::min(in.previous_tokens.size(), half - 1);
    prompt.insert(prompt.end(), in.previous_tokens.end() - keep, in.previous_tokens.end());
  }
  prompt.insert(prompt.end(), sot_seq.begin(), sot_seq.end());
  if (in.without_timestamps) prompt.push_back(specials.no_timestamps);
  if (has_prefix) {
    const auto ids = encode_hint(*in.prefix);
    if (!in.without_timestamps) prompt.push_back(specials.timestamp_begin);
    prompt.insert(prompt.end(), ids.begin(), ids.end());
  }
  return prompt;
}

std::vector<int32_t> suppressed_tokens(const std::vector<int>& requested,
                                       const decoding::SpecialTokens& specials) {
  if (requested.empty()) return {};  // an explicit empty list suppresses nothing
  std::set<int32_t> ids;
  for (int id : requested) {
    if (id >= 0) {
      ids.insert(id);
    } else if (id == -1) {
      ids.insert(specials.suppress_ids.begin(), specials.suppress_ids.end());
    } else {
      throw ConfigError("suppress token ids must be >= 0 or -1");
    }
  }
  for (int32_t id : {specials.transcribe, specials.translate, specials.sot, specials.sot_prev,
                     specials.sot_lm, specials.no_speech})
    ids.insert(id);
  return {ids.begin(), ids.end()};
}

}  // namespace voiceman::asr
