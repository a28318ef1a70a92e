// voiceman-diarize: developer tool for the diarization bench. Decodes one media file,
// diarizes it and prints RTTM on stdout; --json FILE adds the turns and timings.
//   voiceman-diarize AUDIO [--segmentation CKPT] [--encoder CKPT] [--threads N]
//       [--num-speakers N] [--min-speakers N] [--max-speakers N] [--step F]
//       [--embedding-step F] [--threshold D] [--onset P] [--offset P]
//       [--min-cluster-size N] [--min-duration-on S] [--min-duration-off S]
//       [--file-id ID] [--json FILE] [--lstm-products auto|float32|bfloat16]
// --lstm-products auto (the default, as `voiceman run`): bfloat16 where the CPU has it.
// A comma-separated --threshold list sweeps the clustering threshold on one set of model
// outputs (segmentation and embeddings are computed once): the RTTM of each threshold
// follows a "# threshold=X" line.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "voiceman/audio/decode.h"
#include "voiceman/core/errors.h"
#include "voiceman/diarize/diarizer.h"
#include "voiceman/engine/ops/ops.h"
#include "voiceman/writers/rttm_writer.h"

namespace {

using namespace voiceman;
namespace fs = std::filesystem;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "voiceman-diarize: " << why << "\n"
            << "usage: voiceman-diarize AUDIO [--segmentation CKPT] [--encoder CKPT] "
               "[--threads N] [--num-speakers N] [--min-speakers N] [--max-speakers N] "
               "[--step F] [--embedding-step F] [--threshold D] [--onset P] [--offset P] "
               "[--min-cluster-size N] [--min-duration-on S] [--min-duration-off S] "
               "[--file-id ID] [--json FILE] [--lstm-products auto|float32|bfloat16]\n";
  std::exit(2);
}

double number(const std::string& flag, const std::string& value) {
  try {
    size_t used = 0;
    const double v = std::stod(value, &used);
    if (used == value.size()) return v;
  } catch (const std::exception&) {
  }
  usage("bad value '" + value + "' for " + flag);
}

int run(int argc, char** argv) {
  fs::path audio_path, json_path;
  fs::path seg = "models/diarization/segmentation-whisperx.bin";
  fs::path enc = "models/diarization/resemblyzer.pt";
  std::string file_id;
  std::vector<double> thresholds;
  int threads = 0;
  std::string products = "auto";
  diarize::DiarizeOptions o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--", 0) != 0) {
      if (!audio_path.empty()) usage("more than one input");
      audio_path = a;
      continue;
    }
    if (i + 1 >= argc) usage(a + " needs a value");
    const std::string v = argv[++i];
    if (a == "--segmentation")
      seg = v;
    else if (a == "--encoder")
      enc = v;
    else if (a == "--json")
      json_path = v;
    else if (a == "--file-id")
      file_id = v;
    else if (a == "--lstm-products") {
      if (v != "auto" && v != "float32" && v != "bfloat16") usage("bad value '" + v + "' for " + a);
      products = v;
    } else if (a == "--threads")
      threads = static_cast<int>(number(a, v));
    else if (a == "--num-speakers")
      o.num_speakers = static_cast<int>(number(a, v));
    else if (a == "--min-speakers")
      o.min_speakers = static_cast<int>(number(a, v));
    else if (a == "--max-speakers")
      o.max_speakers = static_cast<int>(number(a, v));
    else if (a == "--step")
      o.segmentation_step = number(a, v);
    else if (a == "--embedding-step")
      o.embedding_step = number(a, v);
    else if (a == "--threshold") {
      for (size_t p = 0; p <= v.size();) {
        const size_t c = std::min(v.find(',', p), v.size());
        thresholds.push_back(number(a, v.substr(p, c - p)));
        p = c + 1;
      }
      o.clustering_threshold = thresholds.front();
    } else if (a == "--onset")
      o.onset = number(a, v);
    else if (a == "--offset")
      o.offset = number(a, v);
    else if (a == "--min-cluster-size")
      o.min_cluster_size = static_cast<int>(number(a, v));
    else if (a == "--min-duration-on")
      o.min_duration_on = number(a, v);
    else if (a == "--min-duration-off")
      o.min_duration_off = number(a, v);
    else
      usage("unknown option " + a);
  }
  if (audio_path.empty()) usage("no input");
  diarize::validate(o);
  ExecContext ctx;
  ctx.threads = threads > 0 ? threads : std::max(1u, std::thread::hardware_concurrency());

  double t0 = now_s();
  const audio::Audio audio = audio::decode_file(audio_path);
  const double decode_s = now_s() - t0;
  t0 = now_s();
  const bool bf16 = products == "bfloat16" || (products == "auto" && ops::bf16_supported());
  const diarize::Diarizer diarizer = diarize::Diarizer::load(seg, enc, ctx, bf16);
  const double load_s = now_s() - t0;
  if (file_id.empty()) file_id = audio_path.stem().string();
  diarize::DiarizeStats stats;
  std::vector<SpeakerTurn> turns;
  if (thresholds.size() <= 1) {
    turns = diarizer.run(audio.samples, o, &stats);
    std::cout << writers::to_rttm(file_id, turns);
  } else {
    // Memoised models: the same windows and excerpts come back for every threshold.
    std::vector<diarize::Array3> seg_cache;
    size_t seg_calls = 0;
    std::map<std::vector<float>, diarize::Embedding> emb_cache;
    const diarize::SegmentFn seg_fn = diarizer.segment_fn();
    const diarize::EmbedFn emb_fn = diarizer.embed_fn();
    const diarize::SegmentFn cached_seg = [&](std::span<const float> a, int64_t step, int n) {
      if (seg_calls == seg_cache.size()) seg_cache.push_back(seg_fn(a, step, n));
      return seg_cache[seg_calls++];
    };
    const diarize::EmbedFn cached_emb = [&](const std::vector<std::span<const float>>& x) {
      std::vector<std::span<const float>> missing;
      for (const auto& e : x)
        if (!emb_cache.count(std::vector<float>(e.begin(), e.end()))) missing.push_back(e);
      if (!missing.empty()) {
        const auto out = emb_fn(missing);
        for (size_t i = 0; i < missing.size(); ++i)
          emb_cache[std::vector<float>(missing[i].begin(), missing[i].end())] = out[i];
      }
      std::vector<diarize::Embedding> result;
      for (const auto& e : x)
        result.push_back(emb_cache.at(std::vector<float>(e.begin(), e.end())));
      return result;
    };
    for (double th : thresholds) {
      o.clustering_threshold = th;
      seg_calls = 0;
      diarize::DiarizeStats st;
      turns = diarize::diarize(audio.samples, diarizer.segmenter_spec(), cached_seg, cached_emb, o,
                               &st);
      if (th == thresholds.front()) stats = st;  // the first run did the model work
      std::cout << "# threshold=" << th << "\n" << writers::to_rttm(file_id, turns);
    }
  }
  if (!json_path.empty()) {
    nlohmann::json j;
    j["audio"] = audio_path.string();
    j["duration"] = audio.duration_s();
    j["turns"] = nlohmann::json::array();
    for (const SpeakerTurn& t : turns)
      j["turns"].push_back({{"start", t.start}, {"end", t.end}, {"speaker", t.speaker}});
    j["speakers"] = stats.speakers;
    j["timings"] = {{"decode_s", decode_s},
                    {"load_s", load_s},
                    {"segmentation_s", stats.segmentation_s},
                    {"embedding_s", stats.embedding_s},
                    {"clustering_s", stats.clustering_s},
                    {"diarize_s", stats.total_s},
                    {"rtf", audio.duration_s() > 0 ? stats.total_s / audio.duration_s() : 0.0}};
    j["counts"] = {{"windows", stats.windows},
                   {"embedded_windows", stats.embedded_windows},
                   {"embeddings", stats.embeddings},
                   {"clustered", stats.clustered},
                   {"embedded_audio_s", stats.embedded_audio_s}};
    j["threads"] = ctx.threads;
    std::ofstream out(json_path);
    out << j.dump(2) << "\n";
    if (!out) throw IoError("cannot write " + json_path.string());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const ConfigError& e) {
    std::cerr << "voiceman-diarize: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "voiceman-diarize: " << e.what() << "\n";
    return 1;
  }
}
