// voiceman-dev: exposes engine internals (mel features, encoder output) on .npy files so
// the parity suite can compare them with the Python reference implementations.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "flags.h"
#include "model_commands.h"
#include "npy.h"
#include "voiceman/audio/decode.h"
#include "voiceman/core/errors.h"
#include "voiceman/engine/cuda/device_probe.h"
#include "voiceman/engine/models/whisper_model.h"
#include "voiceman/features/mel.h"
#include "voiceman/vad/vad.h"

namespace {

using voiceman::dev::flag_or;
using voiceman::dev::need;
using voiceman::dev::read_npy;
using voiceman::dev::write_npy;

int cmd_mel(const std::map<std::string, std::string>& flags) {
  const auto audio = read_npy(need(flags, "audio"));
  const int n_mels = flags.count("n-mels") ? std::stoi(flags.at("n-mels")) : 80;
  const int padding = flags.count("padding") ? std::stoi(flags.at("padding")) : 160;
  voiceman::features::MelExtractor mel(n_mels);
  int frames = 0;
  const auto out = mel.compute(audio.data, padding, &frames);
  write_npy(need(flags, "out"), {n_mels, frames}, out.data());
  return 0;
}

int cmd_encode(const std::map<std::string, std::string>& flags) {
  const auto type = voiceman::models::parse_compute_type(
      flags.count("compute-type") ? flags.at("compute-type") : "float32");
  const auto model = voiceman::models::WhisperModel::load(need(flags, "model"), type);
  auto features = read_npy(need(flags, "features"));
  if (features.shape.size() == 2) features.shape.insert(features.shape.begin(), 1);
  voiceman::ExecContext ctx;
  ctx.threads = flags.count("threads") ? std::stoi(flags.at("threads")) : 2;
  const auto input = voiceman::Tensor::from_vector(features.data, features.shape);
  const auto encoded = model->encode(ctx, input);
  write_npy(need(flags, "out"), encoded.shape(), encoded.data<float>());
  return 0;
}

// Speech regions and their chunks as JSON: {"regions": [[start, end]...], "chunks": [...]}.
nlohmann::json regions_json(const std::vector<float>& probs, int64_t n_samples,
                            const voiceman::vad::VadOptions& o, double chunk_max) {
  const auto regions = voiceman::vad::speech_timestamps(probs, n_samples, o);
  nlohmann::json out;
  out["regions"] = nlohmann::json::array();
  for (const auto& r : regions) out["regions"].push_back({r.start, r.end});
  out["chunks"] = nlohmann::json::array();
  for (const auto& c : voiceman::vad::collect_chunks(regions, 16000, chunk_max)) {
    nlohmann::json rs = nlohmann::json::array();
    for (const auto& r : c.regions) rs.push_back({r.start, r.end});
    out["chunks"].push_back({{"offset", c.offset_s}, {"duration", c.duration_s}, {"regions", rs}});
  }
  return out;
}

// Silero VAD on one recording: per-frame probabilities, speech regions and chunks as JSON.
int cmd_vad(const std::map<std::string, std::string>& flags) {
  const std::string input = need(flags, "audio");
  std::vector<float> audio;
  if (input.size() > 4 && input.substr(input.size() - 4) == ".npy")
    audio = read_npy(input).data;
  else
    audio = voiceman::audio::decode_file(input).samples;
  voiceman::ExecContext ctx;
  ctx.threads = std::stoi(flag_or(flags, "threads", "1"));
  const voiceman::vad::Vad vad(flag_or(flags, "model", "models/silero_vad_v6.onnx"), ctx);
  voiceman::vad::VadOptions o;
  o.threshold = std::stof(flag_or(flags, "threshold", "0.5"));
  if (flags.count("neg-threshold")) o.neg_threshold = std::stof(flags.at("neg-threshold"));
  o.min_speech_duration_ms = std::stoi(flag_or(flags, "min-speech-duration-ms", "0"));
  o.max_speech_duration_s = std::stod(flag_or(flags, "max-speech-duration-s", "inf"));
  o.min_silence_duration_ms = std::stoi(flag_or(flags, "min-silence-duration-ms", "2000"));
  o.speech_pad_ms = std::stoi(flag_or(flags, "speech-pad-ms", "400"));
  voiceman::vad::validate(o);
  const double chunk_max = std::stod(flag_or(flags, "chunk-max-duration-s", "30"));

  // --repeat N: run the model N times and report the last (warm) time.
  const int repeat = std::max(1, std::stoi(flag_or(flags, "repeat", "1")));
  std::vector<float> probs;
  auto t0 = std::chrono::steady_clock::now(), t1 = t0;
  for (int i = 0; i < repeat; ++i) {
    t0 = std::chrono::steady_clock::now();
    probs = vad.probabilities(audio);
    t1 = std::chrono::steady_clock::now();
  }
  nlohmann::json out = regions_json(probs, static_cast<int64_t>(audio.size()), o, chunk_max);
  out["n_samples"] = audio.size();
  out["model_seconds"] = std::chrono::duration<double>(t1 - t0).count();
  out["probs"] = probs;
  // --batched-too 1: also BatchedInferencePipeline's settings (30 s regions split at
  // 160 ms pauses, 30 s chunks) from the same probabilities, under "batched".
  if (flag_or(flags, "batched-too", "0") == "1") {
    voiceman::vad::VadOptions b = o;
    b.max_speech_duration_s = 30;
    b.min_silence_duration_ms = 160;
    out["batched"] = regions_json(probs, static_cast<int64_t>(audio.size()), b, 30);
  }
  std::cout << out.dump() << "\n";
  return 0;
}

// What --device cuda would get: the cards, driver, CUDA and cuBLAS, or why not.
int cmd_gpu() {
  const voiceman::cuda::GpuProbe probe = voiceman::cuda::probe_gpus();
  std::cout << probe.summary() << "\n";
  return probe.available ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help")) {
    std::cerr
        << "usage: voiceman-dev mel --audio IN.npy [--n-mels 80] [--padding 160] --out OUT.npy\n"
           "       voiceman-dev encode --model DIR --features IN.npy --out OUT.npy "
           "[--compute-type float32|int8] [--threads N]\n"
           "       voiceman-dev vad --audio IN.npy|MEDIA [--model models/silero_vad_v6.onnx] "
           "[--threads 1] [--threshold 0.5] [--neg-threshold X] [--min-speech-duration-ms 0] "
           "[--max-speech-duration-s inf] [--min-silence-duration-ms 2000] [--speech-pad-ms 400] "
           "[--chunk-max-duration-s 30] [--batched-too 1] [--repeat N]   (JSON on stdout)\n"
           "       voiceman-dev requantize --model DIR --out DIR   (int8 linear layers and "
           "embeddings)\n"
           "       voiceman-dev wav --audio MEDIA --out OUT.wav   (16 kHz mono 16-bit)\n"
           "       voiceman-dev transcribe --model DIR --audio WAV|DIR [--device cpu|cuda] "
           "[--compute-type int8] [--mode chunks|seek] [--engines 1 (chunks)] [--cuda-graphs 0|1 "
           "(chunks)] [--int8-cross-kv 0|1] [--threads 0] "
           "[--beam-size 5] "
           "[--batch-windows 16] [--temperature 0,0.2,...] [--word-timestamps 0|1 (seek)]   (JSON "
           "on "
           "stdout)\n"
           "       voiceman-dev gpu   (the GPUs, driver, CUDA and cuBLAS; exit 1 without a GPU)\n";
    return argc < 2 ? 2 : 0;
  }
  try {
    const auto flags = voiceman::dev::parse_flags(argc, argv, 2);
    const std::string cmd = argv[1];
    if (cmd == "mel") return cmd_mel(flags);
    if (cmd == "encode") return cmd_encode(flags);
    if (cmd == "vad") return cmd_vad(flags);
    if (cmd == "requantize") return voiceman::dev::cmd_requantize(flags);
    if (cmd == "wav") return voiceman::dev::cmd_wav(flags);
    if (cmd == "transcribe") return voiceman::dev::cmd_transcribe(flags);
    if (cmd == "gpu") return cmd_gpu();
    std::cerr << "voiceman-dev: unknown command " << cmd << "\n";
    return 2;
  } catch (const voiceman::ConfigError& e) {
    std::cerr << "voiceman-dev: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "voiceman-dev: " << e.what() << "\n";
    return 1;
  }
}
