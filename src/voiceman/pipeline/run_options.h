#pragma once
// Everything `voiceman run` can be told, in one plain struct validated in one place.
// Every field is honoured by the pipeline and recorded in the manifest.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "voiceman/asr/options.h"
#include "voiceman/diarize/options.h"
#include "voiceman/distribute/job_board.h"
#include "voiceman/pipeline/fault_injection.h"
#include "voiceman/scheduler/batch_size.h"
#include "voiceman/scheduler/governor.h"
#include "voiceman/vad/options.h"
#include "voiceman/writers/formats.h"

namespace voiceman::pipeline {

// batched: speech (Silero VAD) of many recordings cut into chunks of up to 30 s and
// packed into full engine batches, each chunk decoded on its own (faster-whisper's
// BatchedInferencePipeline per chunk). sequential: faster-whisper's transcribe() seek
// loop over whole recordings (conditioning on previous text possible), several
// recordings per engine call.
enum class RunMode { batched, sequential };

struct RunOptions {
  RunMode mode = RunMode::batched;
  std::string vad_model = "models/silero_vad_v6.onnx";  // batched mode
  // How VAD regions become chunks of at most 30 s: spans of the recording with their
  // pauses (WhisperX's merge; the default), or the regions' audio concatenated without
  // the pauses (faster-whisper's BatchedInferencePipeline).
  bool concatenate_speech = false;
  // When a chunk's decoding stops early with at least a second of audio left (Whisper
  // leaves what it takes for an unfinished last sentence to the next window), decode the
  // rest as a chunk of its own, as the seek loop would. Off trades completeness for speed.
  bool continue_chunks = true;
  // BatchedInferencePipeline's VAD settings: chunks of at most 30 s, 160 ms pauses split.
  vad::VadOptions vad = [] {
    vad::VadOptions v;
    v.max_speech_duration_s = 30;
    v.min_silence_duration_ms = 160;
    return v;
  }();
  // Windows per batch (batched mode). 0 = automatic (effective_batch_options): initial
  // 20 on a GPU, 8 on the CPU; max 32 on a GPU, while the CPU holds its initial size.
  scheduler::BatchSizeOptions batch = [] {
    scheduler::BatchSizeOptions b;
    b.initial = 0;
    b.max = 0;
    return b;
  }();
  scheduler::GovernorOptions governor;
  uint64_t engine_memory_cap_mb = 0;  // 0: none on the CPU, the GPU pool's default
  // Speaker diarization (who spoke when): turns, speaker fields on words and segments,
  // RTTM output and a per-speaker summary in the manifest.
  bool diarize = false;
  diarize::DiarizeOptions diarization;
  std::string segmentation_model = "models/diarization/segmentation-whisperx.bin";
  std::string speaker_model = "models/diarization/resemblyzer.pt";
  std::vector<std::string> inputs;           // files or folders, searched recursively
  std::string out_dir;                       // OUT: transcripts/, manifest.json, journal
  std::string model_dir = "models/tiny.en";  // CTranslate2 Whisper folder
  std::string compute_type = "auto";  // select_compute_type(): GPU float16, CPU int8(_bfloat16)
  // auto, cpu, cuda (= cuda:0), cuda:N, or cuda:all (one engine per GPU, batches going
  // to whichever is free; batched mode). Without a GPU the CUDA requests fall back to the CPU.
  std::string device = "auto";
  // Engines per device, each on its own thread (and CUDA stream), sharing the device's
  // weights: with 2, one batch's encoder runs while another batch decodes. On the CPU
  // they split --threads. Batched mode. 0 = automatic (effective_engines_per_device).
  int engines_per_device = 0;
  // Decoder steps replayed as CUDA graphs (batched mode, on a GPU; ignored on the CPU,
  // and the manifest's cuda_graphs_effective says so). Off until a GPU run has measured
  // it (bench/GPU.md).
  bool cuda_graphs = false;
  // The decoder's cross-attention keys and values held as int8 (models::DecoderOptions):
  // about half the bytes a float16 GPU step reads for them, and half their memory.
  // Results change slightly, so it is off by default and recorded with the transcripts.
  bool int8_cross_kv = false;
  int threads = 0;   // CPU threads for the engine (all engines together); 0 = all cores
  int workers = 2;   // threads hashing, decoding, VAD (and diarizing) ahead of the engine
  int channel = -1;  // -1 downmixes; N keeps channel N
  std::vector<writers::Format> formats = {writers::Format::json, writers::Format::srt,
                                          writers::Format::vtt, writers::Format::txt};
  int max_retries = 3;                                // retries of a transiently failing input
  std::vector<double> retry_backoff_s = {5, 15, 30};  // delays before retries 1, 2, 3...
  bool resume = true;               // skip inputs already done with unchanged sha256
  bool follow_symlinks = false;     // follow symlinks that leave the input roots
  double max_batch_audio_s = 1800;  // decoded audio held per batch (bounds memory)
  // Scale-out: workers sharing one corpus through a Redis server (distribute/job_board.h).
  // Each worker runs the same command with its own OUT; empty redis_url: no job.
  distribute::JobOptions job;
  std::optional<FaultSpec> fault;  // test hook: injected failures (see fault_injection.h)
  // Decoding options; sequential mode: files per batch = transcribe.batch_windows. Word
  // timestamps are on by default because the JSON output carries words; conditioning on
  // previous text is off because batched chunks are independent (sequential mode may turn
  // it on).
  asr::TranscribeOptions transcribe = [] {
    asr::TranscribeOptions o;
    o.word_timestamps = true;
    o.condition_on_previous_text = false;
    return o;
  }();
};

// The largest engine_memory_cap_mb (1 PiB): far above any device, and in bytes far from
// overflowing uint64_t.
inline constexpr uint64_t kMaxEngineMemoryCapMb = uint64_t{1} << 30;

// Throws ConfigError naming the first bad option.
void validate(const RunOptions& options);

RunMode parse_run_mode(const std::string& name);  // ConfigError
// auto, cpu, cuda, cuda:all and cuda:N (N a device index) are device requests.
bool is_device_request(const std::string& name);
std::string run_mode_name(RunMode mode);
// The batch size options with `initial` resolved for the device (0 = automatic).
scheduler::BatchSizeOptions effective_batch_options(const RunOptions& options, bool gpu);

// engines_per_device with 0 resolved: on the CPU 2 when the engine has at least 2 threads
// (the decoder's small GEMMs scale poorly over threads: 110-file corpus, 2 cores, 60 s with
// one engine, 40 s with two, the same transcripts), else 1. On a GPU 2 where
// `gpu_room_for_two` (gpu_room_for_two_engines), else 1: one engine's encoder and host
// scoring fill the other's gaps (H200, tiny.en float16, 57 clips: 1.27 s against 1.96 s,
// the same words). Sequential mode: 1.
int effective_engines_per_device(const RunOptions& options, bool gpu, int threads,
                                 bool gpu_room_for_two = false);

// Whether `free_bytes` of a device hold the weights and two engines' working sets (run
// setup estimates them at the initial batch and rows_per_window) within 80%.
bool gpu_room_for_two_engines(uint64_t weight_bytes, uint64_t engine_bytes, uint64_t free_bytes);
// The decoder rows one window may hold: beams at temperature 0, samples at a fallback.
int rows_per_window(const RunOptions& options);

// Every option in effect, for the manifest.
nlohmann::ordered_json to_json(const RunOptions& options);
// The options that change what a transcript says; a resumed run must match them.
nlohmann::ordered_json transcript_settings(const RunOptions& options);
nlohmann::ordered_json to_json(const asr::TranscribeOptions& options);
nlohmann::ordered_json to_json(const diarize::DiarizeOptions& options);

}  // namespace voiceman::pipeline
