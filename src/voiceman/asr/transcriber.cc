#include "voiceman/asr/transcriber.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "voiceman/asr/prompt.h"
#include "voiceman/asr/window_decoder.h"
#include "voiceman/core/errors.h"
#include "voiceman/core/log.h"
#include "voiceman/decoding/text_utils.h"
#include "voiceman/features/mel.h"
#include "voiceman/features/recording_features.h"
#include "voiceman/features/window_features.h"

namespace voiceman::asr {
namespace {

constexpr int kWindowFrames = features::MelExtractor::kChunkFrames;  // 3000 mel frames = 30 s

// One recording's seek-loop state (faster-whisper's generate_segments locals).
struct Stream {
  std::optional<features::RecordingFeatures> mel;  // [n_mels, frames] on the engine's device
  int frames = 0;
  int content_frames = 0;
  int seek = 0;
  std::vector<int32_t> all_tokens;
  size_t prompt_reset_since = 0;
  double last_speech_timestamp = 0;
  std::vector<int32_t> sot_seq;
  std::string language;
  Transcript result;
  bool done() const { return seek >= content_frames; }
};

}  // namespace

Transcriber::Transcriber(std::shared_ptr<const models::WhisperModel> model,
                         tokenizer::Tokenizer tokenizer, ExecContext ctx)
    : model_(std::move(model)), tokenizer_(std::move(tokenizer)), ctx_(ctx) {
  if (tokenizer_.multilingual() != model_->config().multilingual())
    throw ModelError(model_->dir().string() +
                     ": tokenizer.json and model.bin disagree on languages");
}

std::vector<Transcript> Transcriber::transcribe(const std::vector<std::span<const float>>& audios,
                                                const TranscribeOptions& options) const {
  validate(options);
  const auto& cfg = model_->config();
  const int n_mels = cfg.n_mels;
  const features::MelExtractor mel(n_mels);
  WindowDecoder decoder(*model_, tokenizer_, ctx_, options);

  const features::SpectrumPrecision precision = features::spectrum_precision_for(model_->dtype());
  std::vector<Stream> streams(audios.size());
  for (size_t i = 0; i < audios.size(); ++i) {
    Stream& s = streams[i];
    s.mel.emplace(ctx_, mel, audios[i], precision);  // on a GPU, only the PCM goes up
    s.frames = s.mel->frames();
    s.content_frames = s.frames - 1;
    s.result.duration = static_cast<double>(audios[i].size()) / 16000.0;
    if (options.initial_prompt) {
      s.all_tokens =
          tokenizer_.encode(" " + std::string(decoding::python_strip(*options.initial_prompt)));
    }
  }

  // Language: given, English-only, or detected from the first windows of each recording.
  for (Stream& s : streams) {
    if (!cfg.multilingual()) {
      if (options.language && *options.language != "en")
        log::warn("the model is English-only; using 'en' instead of '", *options.language, "'");
      s.language = "en";
      s.result.language_probability = 1;
    } else if (options.language) {
      s.language = *options.language;
      s.result.language_probability = 1;
    } else {
      const int windows =
          std::max(1, std::min(options.language_detection_segments,
                               (s.content_frames + kWindowFrames - 1) / kWindowFrames));
      Tensor batch({windows, n_mels, kWindowFrames}, DType::f32, ctx_.device);
      for (int w = 0; w < windows; ++w) {
        const int start = w * kWindowFrames;
        const int size = std::max(0, std::min(kWindowFrames, s.frames - start));
        s.mel->copy_window(ctx_, start, size, batch, w);
      }
      const auto [code, prob] = decoder.detect_language(model_->encode(ctx_, batch),
                                                        options.language_detection_threshold);
      s.language = code;
      s.result.language_probability = prob;
      log::info("detected language '", code, "' with probability ", prob);
    }
    s.result.language = s.language;
    s.sot_seq = sot_sequence(tokenizer_, s.language, options.task);
  }

  // Rounds: the next window of up to batch_windows active recordings at a time.
  std::vector<size_t> active;
  for (size_t i = 0; i < streams.size(); ++i)
    if (!streams[i].done()) active.push_back(i);
  while (!active.empty()) {
    const size_t n = std::min<size_t>(active.size(), options.batch_windows);
    std::vector<size_t> round(active.begin(), active.begin() + static_cast<std::ptrdiff_t>(n));
    Tensor batch({static_cast<int64_t>(n), n_mels, kWindowFrames}, DType::f32, ctx_.device);
    std::vector<WindowRequest> requests(n);
    for (size_t j = 0; j < n; ++j) {
      Stream& s = streams[round[j]];
      WindowRequest& r = requests[j];
      r.seek = s.seek;
      r.segment_size = std::min(kWindowFrames, s.content_frames - s.seek);
      s.mel->copy_window(ctx_, s.seek, r.segment_size, batch, static_cast<int64_t>(j));
      PromptInputs in;
      in.previous_tokens.assign(
          s.all_tokens.begin() + static_cast<std::ptrdiff_t>(s.prompt_reset_since),
          s.all_tokens.end());
      in.without_timestamps = options.without_timestamps;
      if (s.seek == 0) in.prefix = options.prefix;
      in.hotwords = options.hotwords;
      r.sot_seq = s.sot_seq;
      r.language = s.language;
      r.prompt = build_prompt(tokenizer_, s.sot_seq, in, cfg.max_target_positions);
      r.last_speech_timestamp = s.last_speech_timestamp;
    }
    const Tensor encoded = model_->encode(ctx_, batch);
    const std::vector<WindowResult> results = decoder.decode(encoded, requests);

    for (size_t j = 0; j < n; ++j) {
      Stream& s = streams[round[j]];
      const WindowResult& r = results[j];
      s.seek = r.next_seek;
      s.last_speech_timestamp = r.last_speech_timestamp;
      for (const Segment& seg : r.segments) {
        if (seg.start == seg.end || decoding::python_strip(seg.text).empty()) continue;
        s.all_tokens.insert(s.all_tokens.end(), seg.tokens.begin(), seg.tokens.end());
        Segment out = seg;
        out.id = static_cast<int>(s.result.segments.size()) + 1;
        s.result.segments.push_back(std::move(out));
      }
      // A skipped window leaves the prompt as it was (generate_segments' `continue`).
      if (!r.skipped && (!options.condition_on_previous_text ||
                         r.temperature > options.prompt_reset_on_temperature))
        s.prompt_reset_since = s.all_tokens.size();
    }
    for (const size_t i : round)
      if (streams[i].done()) streams[i].mel.reset();  // its device memory, for the others
    active.erase(
        std::remove_if(active.begin(), active.end(), [&](size_t i) { return streams[i].done(); }),
        active.end());
  }

  std::vector<Transcript> out;
  out.reserve(streams.size());
  for (Stream& s : streams) out.push_back(std::move(s.result));
  return out;
}

}  // namespace voiceman::asr
