#include "voiceman/pipeline/run_options.h"

#include <algorithm>
#include <cmath>

#include "voiceman/core/errors.h"
#include "voiceman/engine/models/whisper_model.h"

namespace voiceman::pipeline {
namespace {

template <typename T>
nlohmann::ordered_json optional_json(const std::optional<T>& value) {
  return value ? nlohmann::ordered_json(*value) : nlohmann::ordered_json(nullptr);
}

// Floats as the user wrote them (0.2, not 0.20000000298023224).
double tidy(float value) { return std::round(static_cast<double>(value) * 1e6) / 1e6; }

nlohmann::ordered_json tidy(const std::optional<float>& value) {
  return value ? nlohmann::ordered_json(tidy(*value)) : nlohmann::ordered_json(nullptr);
}

}  // namespace

bool is_device_request(const std::string& name) {
  if (name == "auto" || name == "cpu" || name == "cuda" || name == "cuda:all") return true;
  if (!name.starts_with("cuda:") || name.size() == 5 || name.size() > 8) return false;
  return std::all_of(name.begin() + 5, name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void validate(const RunOptions& o) {
  auto fail = [](const std::string& what) { throw ConfigError("invalid option: " + what); };
  if (o.inputs.empty()) fail("at least one INPUT file or folder is needed");
  if (o.out_dir.empty()) fail("-o OUT is required");
  if (o.model_dir.empty()) fail("--model is empty");
  if (o.compute_type != "auto") models::parse_compute_type(o.compute_type);
  if (!is_device_request(o.device)) fail("--device must be auto, cpu, cuda, cuda:N or cuda:all");
  distribute::validate(o.job);
  if (o.engines_per_device < 0 || o.engines_per_device > 8)
    fail("--engines-per-device must be between 0 (automatic) and 8");
  if (o.mode == RunMode::sequential && (o.device == "cuda:all" || o.engines_per_device > 1))
    fail(
        "--mode sequential runs one engine; --device cuda:all and --engines-per-device need "
        "the batched mode");
  if (o.mode == RunMode::sequential && o.cuda_graphs)
    fail("--cuda-graphs needs the batched mode (its engines have their own CUDA streams)");
  if (o.threads < 0) fail("--threads cannot be negative");
  if (o.workers < 1) fail("--workers must be at least 1");
  if (o.channel < -1) fail("--channel must be -1 (downmix) or a channel index");
  if (o.formats.empty()) fail("--formats needs at least one format");
  for (writers::Format f : o.formats)
    if (f == writers::Format::rttm && !o.diarize) fail("--formats rttm needs --diarize");
  if (o.diarize) {
    if (o.segmentation_model.empty() || o.speaker_model.empty())
      fail("--diarize needs the segmentation and speaker models");
    diarize::validate(o.diarization);
  }
  if (o.max_retries < 0) fail("--max-retries cannot be negative");
  if (o.retry_backoff_s.empty()) fail("--retry-backoff needs at least one delay");
  for (double d : o.retry_backoff_s)
    if (!(d >= 0) || !std::isfinite(d)) fail("--retry-backoff delays must be finite and >= 0");
  if (!(o.max_batch_audio_s > 0)) fail("the batch audio limit must be positive");
  if (o.mode == RunMode::batched) {
    if (o.vad_model.empty()) fail("--vad-model is empty");
    vad::validate(o.vad);
    if (o.vad.max_speech_duration_s > 30)
      fail("chunks are at most 30 s: the VAD's max speech duration cannot exceed 30");
    if (o.transcribe.condition_on_previous_text)
      fail(
          "--condition-on-previous-text needs --mode sequential (batched chunks are "
          "decoded independently)");
  }
  // The run shifts MiB into bytes: a larger cap would overflow uint64_t.
  if (o.engine_memory_cap_mb > kMaxEngineMemoryCapMb)
    fail("--engine-memory-cap-mb must be at most " + std::to_string(kMaxEngineMemoryCapMb) +
         " (1 PiB)");
  if (o.batch.initial < 0) fail("--batch-size cannot be negative");
  if (o.batch.max < 0) fail("--max-batch-size cannot be negative");
  scheduler::validate(effective_batch_options(o, false));
  scheduler::validate(o.governor);
  asr::validate(o.transcribe);
}

RunMode parse_run_mode(const std::string& name) {
  if (name == "batched") return RunMode::batched;
  if (name == "sequential") return RunMode::sequential;
  throw ConfigError("invalid option: --mode must be batched or sequential, not '" + name + "'");
}

std::string run_mode_name(RunMode mode) {
  return mode == RunMode::batched ? "batched" : "sequential";
}

int effective_engines_per_device(const RunOptions& o, bool gpu, int threads,
                                 bool gpu_room_for_two) {
  if (o.engines_per_device > 0) return o.engines_per_device;
  if (o.mode == RunMode::sequential) return 1;
  if (gpu) return gpu_room_for_two ? 2 : 1;
  return threads >= 2 ? 2 : 1;
}

bool gpu_room_for_two_engines(uint64_t weight_bytes, uint64_t engine_bytes, uint64_t free_bytes) {
  return static_cast<double>(weight_bytes + 2 * engine_bytes) <=
         0.8 * static_cast<double>(free_bytes);
}

int rows_per_window(const RunOptions& o) {
  return std::max({1, o.transcribe.beam_size, o.transcribe.best_of});
}

scheduler::BatchSizeOptions effective_batch_options(const RunOptions& o, bool gpu) {
  scheduler::BatchSizeOptions b = o.batch;
  // CPU: 8 windows keep the decoder's GEMMs efficient without holding much memory.
  const int automatic = gpu ? 20 : 8;
  if (b.max > 0) {
    if (b.initial == 0) b.initial = std::min(b.max, automatic);
    return b;
  }
  if (b.initial == 0) b.initial = automatic;
  // A GPU fills with larger batches. A CPU does not get faster: on 2 cores, growing from
  // 8 windows to 18 cost 1 GB of RAM and no time (README, Batch size), so it holds.
  b.max = gpu ? std::max(32, b.initial) : b.initial;
  return b;
}

nlohmann::ordered_json to_json(const asr::TranscribeOptions& o) {
  std::vector<double> temperatures;
  for (float t : o.temperatures) temperatures.push_back(tidy(t));
  return {{"language", optional_json(o.language)},
          {"task", o.task},
          {"beam_size", o.beam_size},
          {"best_of", o.best_of},
          {"patience", tidy(o.patience)},
          {"length_penalty", tidy(o.length_penalty)},
          {"repetition_penalty", tidy(o.repetition_penalty)},
          {"no_repeat_ngram_size", o.no_repeat_ngram_size},
          {"temperatures", temperatures},
          {"compression_ratio_threshold", tidy(o.compression_ratio_threshold)},
          {"log_prob_threshold", tidy(o.log_prob_threshold)},
          {"no_speech_threshold", tidy(o.no_speech_threshold)},
          {"condition_on_previous_text", o.condition_on_previous_text},
          {"prompt_reset_on_temperature", tidy(o.prompt_reset_on_temperature)},
          {"initial_prompt", optional_json(o.initial_prompt)},
          {"prefix", optional_json(o.prefix)},
          {"hotwords", optional_json(o.hotwords)},
          {"suppress_blank", o.suppress_blank},
          {"suppress_tokens", o.suppress_tokens},
          {"without_timestamps", o.without_timestamps},
          {"max_initial_timestamp", tidy(o.max_initial_timestamp)},
          {"word_timestamps", o.word_timestamps},
          {"prepend_punctuations", o.prepend_punctuations},
          {"append_punctuations", o.append_punctuations},
          {"max_new_tokens", optional_json(o.max_new_tokens)},
          {"language_detection_threshold", tidy(o.language_detection_threshold)},
          {"language_detection_segments", o.language_detection_segments},
          {"batch_windows", o.batch_windows},
          {"seed", o.seed}};
}

nlohmann::ordered_json to_json(const diarize::DiarizeOptions& o) {
  return {{"num_speakers", o.num_speakers},
          {"min_speakers", o.min_speakers},
          {"max_speakers", o.max_speakers},
          {"segmentation_step", o.segmentation_step},
          {"embedding_step", o.embedding_step},
          {"onset", o.onset},
          {"offset", o.offset},
          {"min_clean_speech_s", o.min_clean_speech_s},
          {"min_embedding_speech_s", o.min_embedding_speech_s},
          {"min_active_ratio", o.min_active_ratio},
          {"clustering_threshold", o.clustering_threshold},
          {"min_cluster_size", o.min_cluster_size},
          {"max_clustered_embeddings", o.max_clustered_embeddings},
          {"min_duration_on", o.min_duration_on},
          {"min_duration_off", o.min_duration_off}};
}

nlohmann::ordered_json transcript_settings(const RunOptions& o) {
  nlohmann::ordered_json j = {{"mode", run_mode_name(o.mode)},
                              {"compute_type", o.compute_type},
                              {"channel", o.channel},
                              {"transcribe", to_json(o.transcribe)}};
  if (o.mode == RunMode::batched) {
    j["vad"] = vad::to_json(o.vad);
    j["chunks"] = o.concatenate_speech ? "concatenated speech" : "spans";
    j["continue_chunks"] = o.continue_chunks;
  }
  if (o.diarize) j["diarization"] = to_json(o.diarization);
  // Only when on, so that the settings of runs made before the option existed still match.
  if (o.int8_cross_kv) j["cross_keys_values"] = "int8";
  return j;
}

nlohmann::ordered_json to_json(const RunOptions& o) {
  nlohmann::ordered_json formats = nlohmann::ordered_json::array();
  for (writers::Format f : o.formats) formats.push_back(writers::format_name(f));
  nlohmann::ordered_json j = transcript_settings(o);
  j.update({{"inputs", o.inputs},
            {"out_dir", o.out_dir},
            {"model_dir", o.model_dir},
            {"device", o.device},
            {"engines_per_device", o.engines_per_device},
            {"cuda_graphs", o.cuda_graphs},
            {"threads", o.threads},
            {"workers", o.workers},
            {"formats", formats},
            {"max_retries", o.max_retries},
            {"retry_backoff_s", o.retry_backoff_s},
            {"resume", o.resume},
            {"follow_symlinks", o.follow_symlinks},
            {"max_batch_audio_s", o.max_batch_audio_s},
            {"vad_model", o.vad_model},
            {"batch_size",
             {{"initial", o.batch.initial},
              {"max", o.batch.max},
              {"adjust_every", o.batch.adjust_every},
              {"shrink_above", o.batch.shrink_above},
              {"grow_below", o.batch.grow_below},
              {"critical_above", o.batch.critical_above},
              {"cpu_fallback_after", o.batch.cpu_fallback_after}}},
            {"governor",
             {{"gpu_warn_above", o.governor.gpu_warn_above},
              {"gpu_shrink_above", o.governor.gpu_shrink_above},
              {"gpu_busy_above", o.governor.gpu_busy_above},
              {"gpu_recheck_s", o.governor.gpu_recheck_s},
              {"ram_release_above", o.governor.ram_release_above},
              {"ram_cap_fraction", o.governor.ram_cap_fraction}}},
            {"engine_memory_cap_mb", o.engine_memory_cap_mb},
            {"job",
             o.job.redis_url.empty()
                 ? nlohmann::ordered_json(nullptr)
                 : nlohmann::ordered_json{{"redis", distribute::redact_redis_url(o.job.redis_url)},
                                          {"name", o.job.name},
                                          {"lease_s", o.job.lease_s}}},
            {"diarize", o.diarize},
            {"segmentation_model", o.segmentation_model},
            {"speaker_model", o.speaker_model},
            {"fault_injection", o.fault ? nlohmann::ordered_json{{"transient", o.fault->transient},
                                                                 {"glob", o.fault->glob},
                                                                 {"count", o.fault->count},
                                                                 {"stage", o.fault->stage}}
                                        : nlohmann::ordered_json(nullptr)}});
  return j;
}

}  // namespace voiceman::pipeline
