// voiceman-dev: exposes engine internals (mel features, encoder output) on .npy files so
// the parity suite can compare them with the Python reference implementations.
#include <cstring>
#include <iostream>
#include <map>
#include <string>

#include "npy.h"
#include "voiceman/core/errors.h"
#include "voiceman/engine/models/whisper_model.h"
#include "voiceman/features/mel.h"

namespace {

using voiceman::dev::read_npy;
using voiceman::dev::write_npy;

std::map<std::string, std::string> parse_flags(int argc, char** argv, int first) {
  std::map<std::string, std::string> flags;
  for (int i = first; i < argc; ++i) {
    std::string key = argv[i];
    if (key.rfind("--", 0) != 0 || i + 1 >= argc)
      throw voiceman::ConfigError("bad argument " + key);
    flags[key.substr(2)] = argv[++i];
  }
  return flags;
}

std::string need(const std::map<std::string, std::string>& flags, const std::string& key) {
  auto it = flags.find(key);
  if (it == flags.end()) throw voiceman::ConfigError("missing --" + key);
  return it->second;
}

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

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help")) {
    std::cerr
        << "usage: voiceman-dev mel --audio IN.npy [--n-mels 80] [--padding 160] --out OUT.npy\n"
           "       voiceman-dev encode --model DIR --features IN.npy --out OUT.npy "
           "[--compute-type float32|int8] [--threads N]\n";
    return argc < 2 ? 2 : 0;
  }
  try {
    const auto flags = parse_flags(argc, argv, 2);
    const std::string cmd = argv[1];
    if (cmd == "mel") return cmd_mel(flags);
    if (cmd == "encode") return cmd_encode(flags);
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
