// voiceman-diar-dev: exposes the diarization models on .npy files so the parity suite can
// compare them with pyannote.audio and resemblyzer, and times them.
//   info    --model CKPT                                  model facts as JSON
//   segment --model CKPT --audio IN.npy --out OUT.npy [--raw 1] [--threads N]
//           IN [B, samples] (or [samples]) -> [B, frames, speakers] (--raw: classifier output)
//           --step S --count N: IN is one recording [samples]; its N windows every S samples
//           through forward_sliding, the diarizer's path (not with --raw)
//   embed   --model CKPT --out OUT.npy [--threads N] IN.npy...   one clip per file -> [N, dim]
//   speaker-mel --audio IN.npy --out OUT.npy               resemblyzer's mel [frames, 40]
// Each command prints "seconds=<wall time of the model call>" on stderr.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "../voiceman_dev/flags.h"
#include "../voiceman_dev/npy.h"
#include "voiceman/core/errors.h"
#include "voiceman/engine/models/pyannote_segmentation.h"
#include "voiceman/engine/models/speaker_encoder.h"
#include "voiceman/features/speaker_mel.h"

namespace {

using voiceman::dev::Flags;
using voiceman::dev::need;
using voiceman::dev::read_npy;
using voiceman::dev::write_npy;
using Clock = std::chrono::steady_clock;

Flags parse_flags(int argc, char** argv, std::vector<std::string>& positional) {
  Flags flags;
  for (int i = 2; i < argc; ++i) {
    const std::string key = argv[i];
    if (key.rfind("--", 0) != 0) {
      positional.push_back(key);
      continue;
    }
    if (i + 1 >= argc) throw voiceman::ConfigError("missing value for " + key);
    flags[key.substr(2)] = argv[++i];
  }
  return flags;
}

voiceman::ExecContext context(const Flags& flags) {
  voiceman::ExecContext ctx;
  ctx.threads = flags.count("threads") ? std::stoi(flags.at("threads")) : 1;
  return ctx;
}

void report_seconds(Clock::time_point start) {
  std::cerr << "seconds=" << std::chrono::duration<double>(Clock::now() - start).count() << "\n";
}

int cmd_info(const Flags& flags) {
  const auto m = voiceman::models::PyannoteSegmentation::load(need(flags, "model"));
  std::printf(
      "{\"sample_rate\": %d, \"window_s\": %.9g, \"num_speakers\": %d, \"powerset\": %s, "
      "\"num_classes\": %d, \"frame_start_s\": %.12g, \"frame_duration_s\": %.12g, "
      "\"frame_step_s\": %.12g, \"num_frames_window\": %d}\n",
      m->sample_rate(), m->window_s(), m->num_speakers(), m->powerset() ? "true" : "false",
      m->num_classes(), m->frame_start_s(0), m->frame_duration_s(), m->frame_step_s(),
      m->num_frames(static_cast<int64_t>(m->window_s() * m->sample_rate())));
  return 0;
}

int cmd_segment(const Flags& flags) {
  const auto m = voiceman::models::PyannoteSegmentation::load(need(flags, "model"));
  auto audio = read_npy(need(flags, "audio"));
  if (audio.shape.size() == 1) audio.shape.insert(audio.shape.begin(), 1);
  const auto input = voiceman::Tensor::from_vector(audio.data, audio.shape);
  const auto ctx = context(flags);
  const auto start = Clock::now();
  const bool raw = flags.count("raw") && flags.at("raw") != "0";
  voiceman::Tensor out;
  if (flags.count("step")) {
    if (raw) throw std::invalid_argument("segment: --step gives speaker activity, not --raw");
    out = m->forward_sliding(ctx, audio.data, std::stoll(flags.at("step")),
                             std::stoi(need(flags, "count")));
  } else {
    out = raw ? m->forward_raw(ctx, input) : m->forward(ctx, input);
  }
  report_seconds(start);
  write_npy(need(flags, "out"), out.shape(), out.data<float>());
  return 0;
}

int cmd_embed(const Flags& flags, const std::vector<std::string>& inputs) {
  const auto enc = voiceman::models::SpeakerEncoder::load(need(flags, "model"));
  std::vector<std::vector<float>> clips;
  for (const auto& path : inputs) clips.push_back(read_npy(path).data);
  std::vector<std::span<const float>> spans(clips.begin(), clips.end());
  const auto ctx = context(flags);
  const auto start = Clock::now();
  const auto embeddings = enc->embed_batch(ctx, spans);
  report_seconds(start);
  std::vector<float> flat;
  for (const auto& e : embeddings) flat.insert(flat.end(), e.begin(), e.end());
  write_npy(need(flags, "out"), {static_cast<int64_t>(embeddings.size()), enc->dim()}, flat.data());
  return 0;
}

int cmd_speaker_mel(const Flags& flags) {
  const auto audio = read_npy(need(flags, "audio"));
  const voiceman::features::SpeakerMel mel;
  const auto out = mel.compute(audio.data);
  write_npy(need(flags, "out"),
            {voiceman::features::SpeakerMel::num_frames(audio.data.size()),
             voiceman::features::SpeakerMel::kMels},
            out.data());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: voiceman-diar-dev info|segment|embed|speaker-mel [--flag value]...\n";
    return 2;
  }
  try {
    const std::string cmd = argv[1];
    std::vector<std::string> positional;
    const Flags flags = parse_flags(argc, argv, positional);
    if (cmd == "info") return cmd_info(flags);
    if (cmd == "segment") return cmd_segment(flags);
    if (cmd == "embed") return cmd_embed(flags, positional);
    if (cmd == "speaker-mel") return cmd_speaker_mel(flags);
    std::cerr << "unknown command " << cmd << "\n";
    return 2;
  } catch (const voiceman::ConfigError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
