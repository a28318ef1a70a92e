#include "voiceman/asr/chunk_transcriber.h"

#include <algorithm>
#include <cmath>
#include <ctime>

#include "voiceman/asr/prompt.h"
#include "voiceman/core/errors.h"
#include "voiceman/core/log.h"
#include "voiceman/decoding/text_utils.h"
#include "voiceman/features/mel.h"
#include "voiceman/features/window_features.h"

namespace voiceman::asr {
namespace {

constexpr int kWindowFrames = features::MelExtractor::kChunkFrames;  // 30 s
constexpr double kFramesPerSecond = 100.0;
constexpr double kMinRemainderS = 1.0;  // shorter leftovers are not decoded again

// CPU time of the whole process: how the debug log splits a batch between encoder and
// decoder without being fooled by other processes on the cores.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace

void validate_for_chunks(const TranscribeOptions& options) {
  validate(options);
  if (options.condition_on_previous_text)
    throw ConfigError(
        "condition_on_previous_text cannot apply to independently batched chunks; turn it "
        "off or use the sequential mode");
}

ChunkTranscriber::ChunkTranscriber(std::shared_ptr<const models::WhisperModel> model,
                                   tokenizer::Tokenizer tokenizer, ExecContext ctx)
    : model_(std::move(model)), tokenizer_(std::move(tokenizer)), ctx_(ctx) {
  if (tokenizer_.multilingual() != model_->config().multilingual())
    throw ModelError(model_->dir().string() +
                     ": tokenizer.json and model.bin disagree on languages");
}

int32_t ChunkTranscriber::eot() const { return tokenizer_.special_tokens().eot; }

std::vector<ChunkOutput> ChunkTranscriber::transcribe(const std::vector<ChunkInput>& chunks,
                                                      const TranscribeOptions& options) const {
  validate_for_chunks(options);
  std::vector<ChunkOutput> out(chunks.size());
  if (chunks.empty()) return out;
  const auto& cfg = model_->config();
  const int n_mels = cfg.n_mels;
  const features::MelExtractor mel(n_mels);
  WindowDecoder decoder(*model_, tokenizer_, ctx_, options);

  // Features of each chunk without the last frame, zero-padded to 30 s (pad_or_trim),
  // computed where the model runs, in the precision its encoder needs.
  std::vector<std::span<const float>> audios;
  audios.reserve(chunks.size());
  for (const ChunkInput& c : chunks) audios.emplace_back(c.audio);
  const Tensor batch = features::window_features(ctx_, mel, audios,
                                                 features::spectrum_precision_for(model_->dtype()))
                           .features;
  const double t_features = cpu_seconds();
  const Tensor encoded = model_->encode(ctx_, batch);
  const double t_encoded = cpu_seconds();

  // Languages: English-only models, the option, the recording's, or detected here.
  for (size_t i = 0; i < chunks.size(); ++i) {
    ChunkOutput& o = out[i];
    if (!cfg.multilingual()) {
      o.language = "en";
    } else if (options.language) {
      o.language = *options.language;
    } else if (chunks[i].language) {
      o.language = *chunks[i].language;
    }
  }
  std::vector<size_t> detect;
  for (size_t i = 0; i < chunks.size(); ++i)
    if (out[i].language.empty()) detect.push_back(i);
  for (size_t i : detect) {
    // faster-whisper's windows over the recording's first chunks. Where they are this
    // chunk's own window (a full 30 s chunk, one segment), its encoder states serve.
    std::vector<std::span<const float>> audio = chunks[i].language_audio;
    if (audio.empty()) audio.push_back(chunks[i].audio);
    const bool own_window =
        options.language_detection_segments == 1 &&
        features::content_frames(static_cast<int64_t>(audio[0].size())) == kWindowFrames;
    const Tensor windows =
        own_window
            ? encoded.slice_rows(static_cast<int64_t>(i), static_cast<int64_t>(i) + 1)
            : model_->encode(ctx_, features::language_windows(ctx_, mel, audio,
                                                              options.language_detection_segments));
    const auto [code, prob] =
        decoder.detect_language(windows, options.language_detection_threshold);
    out[i].language = code;
    out[i].language_probability = prob;
    out[i].language_detected = true;
  }

  std::vector<WindowRequest> requests(chunks.size());
  for (size_t i = 0; i < chunks.size(); ++i) {
    WindowRequest& r = requests[i];
    const double duration = static_cast<double>(chunks[i].audio.size()) / 16000.0;
    r.seek = static_cast<int>(chunks[i].offset * kFramesPerSecond);
    // faster-whisper: segment_size = ceil(duration) * frames_per_second.
    r.segment_size = std::min(kWindowFrames, static_cast<int>(std::ceil(duration)) * 100);
    r.time_offset = chunks[i].offset;
    r.segment_duration = duration;
    r.defer_word_timestamps = true;
    r.language = out[i].language;
    r.sot_seq = sot_sequence(tokenizer_, r.language, options.task);
    PromptInputs in;
    if (options.initial_prompt)
      in.previous_tokens =
          tokenizer_.encode(" " + std::string(decoding::python_strip(*options.initial_prompt)));
    in.without_timestamps = options.without_timestamps;
    if (chunks[i].first) in.prefix = options.prefix;
    in.hotwords = options.hotwords;
    r.prompt = build_prompt(tokenizer_, r.sot_seq, in, cfg.max_target_positions);
  }
  std::vector<WindowResult> results = decoder.decode(encoded, requests);
  log::debug("chunk batch of ", chunks.size(), ": process CPU seconds encode ",
             t_encoded - t_features, ", decode ", cpu_seconds() - t_encoded);
  for (size_t i = 0; i < chunks.size(); ++i) {
    out[i].segments = std::move(results[i].segments);
    out[i].pending_words = std::move(results[i].pending_words);
    // faster-whisper's seek loop would go on from the last timestamp; a chunk does the
    // same through a continuation chunk when at least kMinRemainder of audio is left.
    const double duration = static_cast<double>(chunks[i].audio.size()) / 16000.0;
    const double consumed = (results[i].next_seek - requests[i].seek) / kFramesPerSecond;
    if (consumed > 0 && duration - consumed >= kMinRemainderS) out[i].continue_from_s = consumed;
  }
  return out;
}

}  // namespace voiceman::asr
