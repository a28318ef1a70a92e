#include "voiceman/asr/window_decoder.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>

#include "voiceman/asr/prompt.h"
#include "voiceman/core/errors.h"
#include "voiceman/decoding/alignment.h"
#include "voiceman/decoding/fallback.h"
#include "voiceman/decoding/search.h"
#include "voiceman/decoding/segments.h"
#include "voiceman/decoding/text_utils.h"
#include "voiceman/decoding/word_timing.h"
#include "voiceman/engine/models/whisper_decoder.h"

namespace voiceman::asr {
namespace {

constexpr double kTimePerFrame = 0.01;  // one mel frame
constexpr double kFramesPerSecond = 100.0;

decoding::FallbackPolicy fallback_policy(const TranscribeOptions& o) {
  decoding::FallbackPolicy p;
  p.temperatures = o.temperatures;
  p.compression_ratio_threshold = o.compression_ratio_threshold;
  p.log_prob_threshold = o.log_prob_threshold;
  p.no_speech_threshold = o.no_speech_threshold;
  return p;
}

// The window's text tokens, every segment's in order (timestamps and specials dropped).
std::vector<int32_t> text_tokens_of(const std::vector<decoding::SegmentTokens>& segments,
                                    int32_t eot) {
  std::vector<int32_t> text;
  for (const auto& s : segments)
    for (int32_t t : s.tokens)
      if (t < eot) text.push_back(t);
  return text;
}

bool has_text_tokens(const std::vector<decoding::SegmentTokens>& segments, int32_t eot) {
  for (const auto& s : segments)
    for (int32_t t : s.tokens)
      if (t < eot) return true;
  return false;
}

// One window's decoding attempt that was kept.
struct Decoded {
  std::vector<int32_t> tokens;
  double avg_logprob = 0;
  double compression_ratio = 0;
  float no_speech_prob = 0;
};

}  // namespace

WindowDecoder::WindowDecoder(const models::WhisperModel& model, const tokenizer::Tokenizer& tok,
                             const ExecContext& ctx, const TranscribeOptions& options)
    : model_(model), tok_(tok), ctx_(ctx), options_(options), specials_(tok.special_tokens()) {
  specials_.suppress_ids = model.config().suppress_ids;
  specials_.suppress_ids_begin = model.config().suppress_ids_begin;
  suppress_ = suppressed_tokens(options.suppress_tokens, specials_);
}

std::pair<std::string, float> WindowDecoder::detect_language(const Tensor& encoded,
                                                             float threshold) const {
  const auto session = model_.start_decoder(ctx_, encoded);
  const std::vector<std::string> codes = tok_.language_codes();
  const auto probs = session->language_probs(specials_.sot, specials_.lang_ids);
  if (codes.size() != specials_.lang_ids.size() || codes.empty())
    throw ModelError("the tokenizer's language tokens do not match the model");
  std::map<std::string, std::vector<float>> votes;
  std::vector<std::string> order;
  for (const auto& window : probs) {
    const size_t best =
        static_cast<size_t>(std::max_element(window.begin(), window.end()) - window.begin());
    if (window[best] > threshold) return {codes[best], window[best]};
    if (!votes.contains(codes[best])) order.push_back(codes[best]);
    votes[codes[best]].push_back(window[best]);
  }
  // Majority vote; the first language seen wins ties (Python's max keeps the first).
  std::string best = order.front();
  for (const auto& code : order)
    if (votes[code].size() > votes[best].size()) best = code;
  return {best, *std::max_element(votes[best].begin(), votes[best].end())};
}

std::vector<WindowResult> WindowDecoder::decode(const Tensor& encoded,
                                                const std::vector<WindowRequest>& windows) const {
  const size_t n = windows.size();
  const auto session = model_.start_decoder(ctx_, encoded);
  const auto decode_text = [this](std::span<const int32_t> ids) { return tok_.decode(ids); };
  const int max_positions = model_.config().max_target_positions;

  std::vector<decoding::FallbackSelector> selectors(
      n, decoding::FallbackSelector(fallback_policy(options_)));
  std::vector<std::vector<Decoded>> attempts(n);
  std::vector<size_t> pending(n);
  for (size_t i = 0; i < n; ++i) pending[i] = i;

  for (float temperature : options_.temperatures) {
    if (pending.empty()) break;
    decoding::SearchOptions so;
    if (temperature > 0) {
      so.beam_size = 1;
      so.num_hypotheses = options_.best_of;
      so.temperature = temperature;
    } else {
      so.beam_size = options_.beam_size;
      so.patience = options_.patience;
    }
    so.length_penalty = options_.length_penalty;
    so.repetition_penalty = options_.repetition_penalty;
    so.no_repeat_ngram_size = options_.no_repeat_ngram_size;
    so.suppress_blank = options_.suppress_blank;
    so.suppress_tokens = suppress_;
    so.without_timestamps = options_.without_timestamps;
    so.max_initial_timestamp_index =
        static_cast<int>(std::lround(options_.max_initial_timestamp / decoding::kTimePrecision));
    so.seed = options_.seed;
    so.threads = std::max(1, ctx_.threads);  // the engine's threads score the rows
    // max_length depends on the prompt when max_new_tokens is set: group by it.
    std::map<int, std::vector<size_t>> groups;
    for (size_t i : pending) {
      const int max_length = options_.max_new_tokens ? static_cast<int>(windows[i].prompt.size()) +
                                                           *options_.max_new_tokens
                                                     : max_positions;
      if (max_length > max_positions)
        throw ConfigError("prompt plus max_new_tokens exceeds the model's " +
                          std::to_string(max_positions) + " positions");
      groups[max_length].push_back(i);
    }
    std::vector<size_t> still_pending;
    for (const auto& [max_length, members] : groups) {
      so.max_length = max_length;
      std::vector<decoding::SearchRequest> requests;
      for (size_t i : members) {
        decoding::SearchRequest r;
        r.prompt = windows[i].prompt;
        r.source = static_cast<int32_t>(i);
        const auto sot = std::find(r.prompt.begin(), r.prompt.end(), specials_.sot);
        r.sot_index = static_cast<int32_t>(sot - r.prompt.begin());
        r.seed = static_cast<uint64_t>(windows[i].seek);  // independent of the batch's makeup
        requests.push_back(std::move(r));
      }
      const auto results = decoding::search(*session, requests, so, specials_);
      for (size_t k = 0; k < members.size(); ++k) {
        const size_t i = members[k];
        const auto& best = results[k].hypotheses.front();
        Decoded d;
        d.tokens = best.tokens;
        d.avg_logprob =
            decoding::average_logprob(best.score, best.tokens.size(), options_.length_penalty);
        d.compression_ratio =
            decoding::compression_ratio(decoding::python_strip(tok_.decode(d.tokens)));
        d.no_speech_prob = results[k].no_speech_prob;
        attempts[i].push_back(d);
        const bool accepted =
            selectors[i].add({d.avg_logprob, d.compression_ratio, d.no_speech_prob, temperature});
        if (!accepted) still_pending.push_back(i);
      }
    }
    std::sort(still_pending.begin(), still_pending.end());
    pending = std::move(still_pending);
  }

  const auto policy = fallback_policy(options_);
  std::vector<WindowResult> out(n);
  // The kept windows' splits first; their word alignments then go to the model together.
  std::vector<std::optional<decoding::SplitResult>> splits(n);
  std::vector<models::AlignRequest> requests;
  std::vector<size_t> request_of(n, SIZE_MAX);
  for (size_t i = 0; i < n; ++i) {
    const WindowRequest& w = windows[i];
    WindowResult& r = out[i];
    const Decoded& d = attempts[i][selectors[i].chosen()];
    r.temperature = selectors[i].final_temperature();
    r.last_speech_timestamp = w.last_speech_timestamp;
    if (decoding::should_skip_window(d.no_speech_prob, d.avg_logprob, policy)) {
      r.next_seek = w.seek + w.segment_size;  // silence: fast-forward over the window
      r.skipped = true;
      continue;
    }
    const double time_offset = w.time_offset.value_or(w.seek * kTimePerFrame);
    splits[i] = decoding::split_segments_by_timestamps(
        d.tokens, specials_.timestamp_begin, specials_.eot, time_offset, w.segment_size,
        w.segment_duration.value_or(w.segment_size * kTimePerFrame), w.seek, decode_text);
    r.next_seek = splits[i]->seek;
    if (options_.word_timestamps && has_text_tokens(splits[i]->segments, specials_.eot)) {
      request_of[i] = requests.size();
      requests.push_back({static_cast<int32_t>(i), alignment_sequence(w, splits[i]->segments)});
    }
  }
  // A GPU aligns runs of windows in one padded pass (WhisperDecoder::pad_runs). Word
  // probabilities are over the text tokens, those before <|endoftext|>.
  const auto alignments = session->align(requests, specials_.eot);

  for (size_t i = 0; i < n; ++i) {
    if (!splits[i]) continue;
    const WindowRequest& w = windows[i];
    WindowResult& r = out[i];
    const Decoded& d = attempts[i][selectors[i].chosen()];
    auto& split = *splits[i];
    const double time_offset = w.time_offset.value_or(w.seek * kTimePerFrame);
    std::vector<decoding::WordTiming> alignment;
    if (request_of[i] != SIZE_MAX)
      alignment = words_from_alignment(alignments[request_of[i]], w, split.segments);
    std::vector<std::vector<decoding::WordTiming>> words(split.segments.size());
    if (options_.word_timestamps && w.defer_word_timestamps) {
      PendingWordTimes pending;
      pending.time_offset = w.seek * kTimePerFrame;
      pending.alignment = std::move(alignment);
      pending.segments = split.segments;
      r.pending_words = std::move(pending);
    } else if (options_.word_timestamps && !split.segments.empty()) {
      words = word_timings(std::move(alignment), w, time_offset, split.segments);
      // faster-whisper moves seek to the last word's end unless a single timestamp ended
      // the window, and carries that end as the last speech time.
      std::optional<double> last_end;
      for (size_t s = split.segments.size(); s-- > 0 && !last_end;)
        if (!words[s].empty()) last_end = words[s].back().end;
      if (!last_end) last_end = split.segments.back().end;
      if (!split.single_timestamp_ending && *last_end > time_offset)
        r.next_seek = static_cast<int>(std::lround(*last_end * kFramesPerSecond));
      r.last_speech_timestamp = *last_end;
    }
    for (size_t s = 0; s < split.segments.size(); ++s) {
      const auto& st = split.segments[s];
      Segment seg;
      seg.seek = w.seek;
      seg.start = st.start;
      seg.end = st.end;
      seg.text = st.text;
      seg.tokens = st.tokens;
      seg.avg_logprob = static_cast<float>(d.avg_logprob);
      seg.compression_ratio = static_cast<float>(d.compression_ratio);
      seg.no_speech_prob = d.no_speech_prob;
      seg.temperature = r.temperature;
      for (const auto& wt : words[s])
        if (!wt.word.empty())
          seg.words.push_back({wt.word, wt.start, wt.end, wt.probability, std::nullopt});
      r.segments.push_back(std::move(seg));
    }
  }
  return out;
}

std::vector<std::vector<decoding::WordTiming>> WindowDecoder::word_timings(
    std::vector<decoding::WordTiming> alignment, const WindowRequest& w, double time_offset,
    std::vector<decoding::SegmentTokens>& segments) const {
  if (!has_text_tokens(segments, specials_.eot))
    return std::vector<std::vector<decoding::WordTiming>>(segments.size());
  auto timed = decoding::add_word_timestamps(
      segments, std::move(alignment), time_offset, specials_.eot, w.last_speech_timestamp,
      options_.prepend_punctuations, options_.append_punctuations);
  return std::move(timed.words);
}

double finish_word_timestamps(std::vector<Segment>& segments, PendingWordTimes pending, int32_t eot,
                              double last_speech_timestamp, const TranscribeOptions& options) {
  if (!has_text_tokens(pending.segments, eot)) return last_speech_timestamp;
  auto timed = decoding::add_word_timestamps(
      pending.segments, std::move(pending.alignment), pending.time_offset, eot,
      last_speech_timestamp, options.prepend_punctuations, options.append_punctuations);
  for (size_t s = 0; s < segments.size() && s < pending.segments.size(); ++s) {
    segments[s].start = pending.segments[s].start;
    segments[s].end = pending.segments[s].end;
    for (const auto& wt : timed.words[s])
      if (!wt.word.empty())
        segments[s].words.push_back({wt.word, wt.start, wt.end, wt.probability, std::nullopt});
  }
  return timed.last_speech_timestamp;
}

std::vector<int32_t> WindowDecoder::alignment_sequence(
    const WindowRequest& w, const std::vector<decoding::SegmentTokens>& segments) const {
  // Text tokens of the whole window, aligned at once.
  std::vector<int32_t> sequence = w.sot_seq;
  sequence.push_back(specials_.no_timestamps);
  const auto text = text_tokens_of(segments, specials_.eot);
  sequence.insert(sequence.end(), text.begin(), text.end());
  sequence.push_back(specials_.eot);
  return sequence;
}

std::vector<decoding::WordTiming> WindowDecoder::words_from_alignment(
    const models::AlignmentData& data, const WindowRequest& w,
    const std::vector<decoding::SegmentTokens>& segments) const {
  const std::vector<int32_t> text_tokens = text_tokens_of(segments, specials_.eot);
  const int frames = w.segment_size / 2;
  const int heads = static_cast<int>(data.weights.dim(0));
  const int tokens = static_cast<int>(data.weights.dim(1));
  const int total = static_cast<int>(data.weights.dim(2));
  // Attention restricted to the window's content frames, renormalised: the softmax
  // over the sliced scores, as the reference computes it.
  std::vector<float> sliced(static_cast<size_t>(heads) * tokens * frames);
  for (int h = 0; h < heads; ++h)
    for (int t = 0; t < tokens; ++t) {
      const float* src = data.weights.data<float>() + (static_cast<size_t>(h) * tokens + t) * total;
      float* dst = sliced.data() + (static_cast<size_t>(h) * tokens + t) * frames;
      double sum = 0;
      for (int f = 0; f < frames; ++f) sum += src[f];
      for (int f = 0; f < frames; ++f) dst[f] = sum > 0 ? static_cast<float>(src[f] / sum) : 0.f;
    }
  const auto path =
      decoding::attention_to_path(sliced, heads, tokens, frames, static_cast<int>(w.sot_seq.size()),
                                  static_cast<int>(text_tokens.size()));
  const size_t first_text = w.sot_seq.size() + 1;
  std::vector<float> probs(
      data.token_probs.begin() + static_cast<std::ptrdiff_t>(first_text),
      data.token_probs.begin() + static_cast<std::ptrdiff_t>(first_text + text_tokens.size()));
  std::vector<int32_t> with_eot = text_tokens;
  with_eot.push_back(specials_.eot);
  const auto split_words = tok_.split_to_word_tokens(with_eot, w.language);
  return decoding::find_alignment(path, probs, split_words.words, split_words.tokens);
}

}  // namespace voiceman::asr
