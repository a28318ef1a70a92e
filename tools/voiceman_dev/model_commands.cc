#include "model_commands.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "voiceman/asr/engine_pool.h"
#include "voiceman/asr/transcriber.h"
#include "voiceman/audio/decode.h"
#include "voiceman/core/errors.h"
#include "voiceman/engine/models/requantize.h"
#include "voiceman/engine/models/whisper_model.h"
#include "voiceman/tokenizer/tokenizer.h"

namespace voiceman::dev {
namespace {

namespace fs = std::filesystem;

template <typename T>
void put(std::ofstream& out, T value) {
  out.write(reinterpret_cast<const char*>(&value), sizeof value);
}

// 16 kHz mono 16-bit PCM WAV, the simplest file our FFmpeg-free reader takes.
void write_wav16(const fs::path& path, const std::vector<float>& samples) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  const auto data_bytes = static_cast<uint32_t>(samples.size() * 2);
  out.write("RIFF", 4);
  put<uint32_t>(out, 36 + data_bytes);
  out.write("WAVEfmt ", 8);
  put<uint32_t>(out, 16);
  put<uint16_t>(out, 1);  // PCM
  put<uint16_t>(out, 1);  // mono
  put<uint32_t>(out, audio::kSampleRate);
  put<uint32_t>(out, audio::kSampleRate * 2);
  put<uint16_t>(out, 2);
  put<uint16_t>(out, 16);
  out.write("data", 4);
  put<uint32_t>(out, data_bytes);
  for (const float s : samples)
    put<int16_t>(out, static_cast<int16_t>(std::lrint(std::clamp(s, -1.f, 1.f) * 32767.f)));
  if (!out) throw ConfigError(path.string() + ": cannot write WAV");
}

// Sorted *.wav files of a folder, or the one file given.
std::vector<fs::path> audio_inputs(const fs::path& input) {
  if (!fs::is_directory(input)) return {input};
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(input))
    if (entry.is_regular_file() && entry.path().extension() == ".wav")
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  if (files.empty()) throw ConfigError(input.string() + ": no .wav files");
  return files;
}

Device parse_device(const std::string& name) {
  if (name == "cpu") return Device::cpu();
  if (name == "cuda" || name == "cuda:0") return Device::cuda(0);
  throw ConfigError("--device " + name + ": use cpu or cuda");
}

// Batched mode as `voiceman run` drives it, without VAD: each clip in 30 s pieces, all
// pieces in batches of options.batch_windows spread over the pool's engines, and a chunk
// that stops early goes on as a chunk of its own. Returns each clip's segments in time
// order.
std::vector<std::vector<Segment>> transcribe_chunks(
    asr::EnginePool& pool, const std::vector<std::span<const float>>& clips,
    const asr::TranscribeOptions& options) {
  constexpr size_t kPiece = size_t{30} * audio::kSampleRate;
  struct Piece {
    size_t clip;
    size_t begin;  // sample
    size_t end;
  };
  std::deque<Piece> todo;
  for (size_t c = 0; c < clips.size(); ++c)
    for (size_t b = 0; b < std::max<size_t>(1, clips[c].size()); b += kPiece)
      todo.push_back({c, b, std::min(clips[c].size(), b + kPiece)});
  std::vector<std::vector<std::pair<size_t, Segment>>> found(clips.size());
  const auto batch_size = static_cast<size_t>(options.batch_windows);
  std::map<uint64_t, std::vector<Piece>> running;
  uint64_t next_tag = 0;
  while (!todo.empty() || !running.empty()) {
    for (int e = 0; e < pool.size() && !todo.empty(); ++e) {
      if (pool.busy(e)) continue;
      std::vector<Piece> batch;
      std::vector<asr::OwnedChunk> chunks;
      while (!todo.empty() && batch.size() < batch_size) {
        const Piece p = todo.front();
        todo.pop_front();
        const auto audio = clips[p.clip].subspan(p.begin, p.end - p.begin);
        chunks.push_back({{audio.begin(), audio.end()},
                          static_cast<double>(p.begin) / audio::kSampleRate,
                          p.begin == 0,
                          std::nullopt,
                          {}});
        batch.push_back(p);
      }
      pool.submit(e, next_tag, std::move(chunks), options);
      running.emplace(next_tag++, std::move(batch));
    }
    asr::EngineResult r = pool.wait();
    if (r.error) std::rethrow_exception(r.error);
    const std::vector<Piece> batch = std::move(running.at(r.tag));
    running.erase(r.tag);
    for (size_t i = 0; i < batch.size(); ++i) {
      for (Segment& seg : r.outputs[i].segments)
        found[batch[i].clip].emplace_back(batch[i].begin, seg);
      if (r.outputs[i].continue_from_s) {
        const auto from = batch[i].begin +
                          static_cast<size_t>(*r.outputs[i].continue_from_s * audio::kSampleRate);
        if (from < batch[i].end) todo.push_back({batch[i].clip, from, batch[i].end});
      }
    }
  }
  std::vector<std::vector<Segment>> segments(clips.size());
  for (size_t c = 0; c < clips.size(); ++c) {
    std::stable_sort(found[c].begin(), found[c].end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [begin, seg] : found[c]) segments[c].push_back(std::move(seg));
  }
  return segments;
}

}  // namespace

int cmd_requantize(const Flags& flags) {
  const auto report = models::requantize_int8(need(flags, "model"), need(flags, "out"));
  nlohmann::json out = {{"quantized", report.quantized},
                        {"copied", report.copied},
                        {"bytes_in", report.bytes_in},
                        {"bytes_out", report.bytes_out}};
  std::cout << out.dump() << "\n";
  return 0;
}

int cmd_wav(const Flags& flags) {
  write_wav16(need(flags, "out"), audio::decode_file(need(flags, "audio")).samples);
  return 0;
}

// Transcribes every clip, batched across clips; prints JSON with each clip's text and
// segments, the device and the wall time.
int cmd_transcribe(const Flags& flags) {
  const fs::path model_dir = need(flags, "model");
  ExecContext ctx;
  ctx.device = parse_device(flag_or(flags, "device", "cpu"));
  const int threads = std::stoi(flag_or(flags, "threads", "0"));
  ctx.threads =
      threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const auto compute = models::parse_compute_type(flag_or(flags, "compute-type", "int8"));
  asr::TranscribeOptions options;
  options.beam_size = std::stoi(flag_or(flags, "beam-size", "5"));
  options.batch_windows = std::stoi(flag_or(flags, "batch-windows", "16"));
  options.word_timestamps = flag_or(flags, "word-timestamps", "0") == "1";
  // --temperature 0: no fallback. Sampling after a fallback follows a different path at
  // the smallest change in the logits, which hides how close two backends are.
  if (flags.count("temperature")) {
    options.temperatures.clear();
    std::stringstream list(flags.at("temperature"));
    for (std::string t; std::getline(list, t, ',');) options.temperatures.push_back(std::stof(t));
  }
  // chunks: `voiceman run`'s batched mode (no conditioning on earlier text; the features
  // are computed on the model's device); seek: faster-whisper's seek loop per clip.
  const std::string mode = flag_or(flags, "mode", "chunks");
  if (mode != "chunks" && mode != "seek") throw ConfigError("--mode must be chunks or seek");
  const int engines = std::stoi(flag_or(flags, "engines", "1"));
  if (engines < 1 || engines > 8) throw ConfigError("--engines must be between 1 and 8");
  if (engines > 1 && mode != "chunks") throw ConfigError("--engines needs --mode chunks");
  // Decoder steps as CUDA graphs: engines in the pool have owned streams, the seek loop not.
  const bool graphs = flag_or(flags, "cuda-graphs", "0") == "1";
  if (graphs && mode != "chunks") throw ConfigError("--cuda-graphs 1 needs --mode chunks");
  const std::string int8_cross = flag_or(flags, "int8-cross-kv", "0");
  if (int8_cross != "0" && int8_cross != "1") throw ConfigError("--int8-cross-kv must be 0 or 1");
  if (mode == "chunks") {
    options.condition_on_previous_text = false;
    if (options.word_timestamps) throw ConfigError("--word-timestamps 1 needs --mode seek");
    asr::validate_for_chunks(options);  // validate() and the chunk-only checks
  } else {
    asr::validate(options);
  }

  const auto files = audio_inputs(need(flags, "audio"));
  std::vector<audio::Audio> audios;
  double audio_s = 0;
  for (const fs::path& f : files) {
    audios.push_back(audio::decode_file(f));
    audio_s += audios.back().duration_s();
  }
  std::vector<std::span<const float>> spans;
  spans.reserve(audios.size());
  for (const auto& a : audios) spans.emplace_back(a.samples);

  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const auto model = models::WhisperModel::load(model_dir, compute, ctx.device,
                                                {.int8_cross_kv = int8_cross == "1"});
  auto tokenizer = tokenizer::Tokenizer::load(model_dir);
  const auto t1 = clock::now();
  std::vector<std::vector<Segment>> segments;
  if (mode == "chunks") {
    // Engines on one device, each with its own thread (and CUDA stream): as
    // `voiceman run --engines-per-device N`.
    asr::EnginePool pool;
    ExecContext engine_ctx = ctx;
    engine_ctx.threads = std::max(1, ctx.threads / engines);  // as run: engines share cores
    engine_ctx.cuda_graphs = graphs;
    for (int e = 0; e < engines; ++e) pool.add(model, tokenizer, engine_ctx);
    segments = transcribe_chunks(pool, spans, options);
  } else {
    for (Transcript& t :
         asr::Transcriber(model, std::move(tokenizer), ctx).transcribe(spans, options))
      segments.push_back(std::move(t.segments));
  }
  const auto t2 = clock::now();

  nlohmann::json out = {{"device", ctx.device.str()},
                        {"mode", mode},
                        {"engines", engines},
                        {"cuda_graphs", graphs},
                        {"int8_cross_kv", int8_cross == "1"},
                        {"compute_type", models::compute_type_name(compute)},
                        {"audio_seconds", audio_s},
                        {"load_seconds", std::chrono::duration<double>(t1 - t0).count()},
                        {"transcribe_seconds", std::chrono::duration<double>(t2 - t1).count()},
                        {"clips", nlohmann::json::array()}};
  for (size_t i = 0; i < files.size(); ++i) {
    std::string text;
    nlohmann::json words = nlohmann::json::array();
    for (const Segment& s : segments[i]) {
      text += s.text;
      for (const Word& w : s.words) words.push_back({w.word, w.start, w.end});
    }
    nlohmann::json clip = {
        {"file", files[i].filename().string()}, {"text", text}, {"segments", segments[i].size()}};
    if (options.word_timestamps) clip["words"] = words;
    out["clips"].push_back(clip);
  }
  std::cout << out.dump(1) << "\n";
  return 0;
}

}  // namespace voiceman::dev
