#pragma once
// Decodes a batch of 30 s windows (from any recordings) as faster-whisper's
// generate_segments does for one window: temperature fallback, no-speech skip, segment
// split at timestamps and word timestamps. Windows in need of fallback are re-decoded
// together at the next temperature.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "voiceman/asr/options.h"
#include "voiceman/core/transcript.h"
#include "voiceman/decoding/alignment.h"
#include "voiceman/decoding/segments.h"
#include "voiceman/decoding/special_tokens.h"
#include "voiceman/engine/models/whisper_decoder.h"
#include "voiceman/engine/models/whisper_model.h"
#include "voiceman/tokenizer/tokenizer.h"

namespace voiceman::asr {

struct WindowRequest {
  int seek = 0;          // mel frame where the window starts
  int segment_size = 0;  // content frames in the window (<= 3000)
  std::vector<int32_t> prompt;
  std::vector<int32_t> sot_seq;
  std::string language;
  double last_speech_timestamp = 0;
  // Batched VAD chunks differ from the seek loop's windows: times start at the chunk's
  // offset and run for the chunk's exact duration, and word times are finished later, in
  // chunk order, by finish_word_timestamps() (they depend on the previous chunk's last
  // word).
  std::optional<double> time_offset;       // default seek / 100
  std::optional<double> segment_duration;  // default segment_size / 100
  bool defer_word_timestamps = false;
};

// What finish_word_timestamps() needs from a window decoded with deferred word times.
struct PendingWordTimes {
  std::vector<decoding::SegmentTokens> segments;
  std::vector<decoding::WordTiming> alignment;
  double time_offset = 0;
};

struct WindowResult {
  std::vector<Segment> segments;  // before the empty-text filter
  int next_seek = 0;
  double last_speech_timestamp = 0;
  float temperature = 0;  // the last temperature tried (drives the prompt reset)
  bool skipped = false;   // no speech: passed over, and (as the reference) no prompt reset
  std::optional<PendingWordTimes> pending_words;  // with defer_word_timestamps
};

// Adds the word times of a window decoded with defer_word_timestamps to its segments
// (same order) and returns the new last speech time.
double finish_word_timestamps(std::vector<Segment>& segments, PendingWordTimes pending, int32_t eot,
                              double last_speech_timestamp, const TranscribeOptions& options);

class WindowDecoder {
 public:
  WindowDecoder(const models::WhisperModel& model, const tokenizer::Tokenizer& tok,
                const ExecContext& ctx, const TranscribeOptions& options);

  // Detected language code and probability over encoded windows [n, frames, d], as
  // faster-whisper's detect_language: the first window above the threshold wins, otherwise
  // the most frequent top language.
  std::pair<std::string, float> detect_language(const Tensor& encoded, float threshold) const;

  std::vector<WindowResult> decode(const Tensor& encoded,
                                   const std::vector<WindowRequest>& windows) const;

 private:
  // Word timings per segment of one window from its alignment, as faster-whisper's
  // add_word_timestamps (segment start/end are snapped to their words in place).
  std::vector<std::vector<decoding::WordTiming>> word_timings(
      std::vector<decoding::WordTiming> alignment, const WindowRequest& window, double time_offset,
      std::vector<decoding::SegmentTokens>& segments) const;
  // The sequence whose cross-attention aligns the window's text tokens: its SOT sequence,
  // <|notimestamps|>, the text tokens of every segment and <|endoftext|>.
  std::vector<int32_t> alignment_sequence(
      const WindowRequest& window, const std::vector<decoding::SegmentTokens>& segments) const;
  // find_alignment over the window's text tokens (before the word post-processing).
  std::vector<decoding::WordTiming> words_from_alignment(
      const models::AlignmentData& data, const WindowRequest& window,
      const std::vector<decoding::SegmentTokens>& segments) const;

  const models::WhisperModel& model_;
  const tokenizer::Tokenizer& tok_;
  ExecContext ctx_;
  const TranscribeOptions& options_;
  decoding::SpecialTokens specials_;
  std::vector<int32_t> suppress_;
};

}  // namespace voiceman::asr
