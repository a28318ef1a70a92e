#pragma once
// Transcribes speech chunks (VAD regions joined up to 30 s, from any recordings) as one
// batch, the way faster-whisper's BatchedInferencePipeline treats one chunk: a fresh
// prompt per chunk (no conditioning on other chunks), times on the recording's
// speech-only timeline starting at the chunk's offset. Because chunks are independent,
// a chunk's result does not depend on which other chunks share its batch.
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "voiceman/asr/options.h"
#include "voiceman/asr/window_decoder.h"
#include "voiceman/core/device.h"
#include "voiceman/core/transcript.h"
#include "voiceman/engine/models/whisper_model.h"
#include "voiceman/tokenizer/tokenizer.h"

namespace voiceman::asr {

struct ChunkInput {
  std::span<const float> audio;  // 16 kHz mono speech, at most 30 s
  double offset = 0;             // seconds: the chunk's start on the speech-only timeline
  bool first = false;            // the recording's first chunk (gets options.prefix)
  // The recording's language; unset on a multilingual model without options.language
  // means: detect it on this chunk.
  std::optional<std::string> language;
  // Detecting: the recording's chunks from its first on, as far as detection reads
  // (features::language_window_chunks); faster-whisper reads their features end to end.
  // Empty: this chunk alone.
  std::vector<std::span<const float>> language_audio;
};

struct ChunkOutput {
  std::vector<Segment> segments;                  // speech-only timeline; words pending
  std::optional<PendingWordTimes> pending_words;  // with options.word_timestamps
  std::string language;
  float language_probability = 1;
  bool language_detected = false;
  // Seconds into the chunk where decoding stopped with speech left (the last timestamp
  // came early, as the seek loop would notice): the rest is decoded as a chunk of its own.
  std::optional<double> continue_from_s;
};

class ChunkTranscriber {
 public:
  ChunkTranscriber(std::shared_ptr<const models::WhisperModel> model,
                   tokenizer::Tokenizer tokenizer, ExecContext ctx);

  // Throws ConfigError for options a chunk cannot honour (condition_on_previous_text).
  std::vector<ChunkOutput> transcribe(const std::vector<ChunkInput>& chunks,
                                      const TranscribeOptions& options) const;

  const models::WhisperModel& model() const { return *model_; }
  const tokenizer::Tokenizer& tokenizer() const { return tokenizer_; }
  const ExecContext& context() const { return ctx_; }
  int32_t eot() const;

 private:
  std::shared_ptr<const models::WhisperModel> model_;
  tokenizer::Tokenizer tokenizer_;
  ExecContext ctx_;
};

// Checks the options for chunked transcription (on top of validate()).
void validate_for_chunks(const TranscribeOptions& options);

}  // namespace voiceman::asr
