#include "voiceman/diarize/pipeline.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "voiceman/core/errors.h"
#include "voiceman/core/log.h"
#include "voiceman/diarize/turns.h"

namespace voiceman::diarize {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void check_spec(const SegmenterSpec& spec) {
  if (spec.sample_rate <= 0 || spec.window_samples <= 0 || spec.frames_per_window <= 0 ||
      spec.local_speakers <= 0 || spec.timing.step_s <= 0)
    throw ModelError("diarization: the segmentation model reports an empty window geometry");
}

// Runs the segmentation model over every window, `batch` windows at a time.
Array3 segment_windows(std::span<const float> audio, const SlidingWindows& windows,
                       const SegmenterSpec& spec, const SegmentFn& segment, int batch) {
  Array3 scores(windows.count, spec.frames_per_window, spec.local_speakers);
  const size_t per_window = size_t(spec.frames_per_window) * spec.local_speakers;
  for (int first = 0; first < windows.count; first += batch) {
    const int n = std::min(batch, windows.count - first);
    const Array3 out = segment(audio.subspan(windows.start(first)), windows.step, n);
    if (out.a != n || out.b != spec.frames_per_window || out.c != spec.local_speakers)
      throw ModelError("diarization: the segmentation model returned an unexpected shape");
    std::copy(out.data.begin(), out.data.end(), scores.data.begin() + first * per_window);
  }
  return scores;
}

}  // namespace

std::vector<Excerpt> select_excerpts(std::span<const float> audio, int64_t window_start,
                                     const Array3& binary, int w, int valid_frames,
                                     const SegmenterSpec& spec, const DiarizeOptions& options) {
  const int frames = std::min(valid_frames, binary.b);
  const double step = spec.timing.step_s;
  std::vector<int> active_count(frames, 0);
  for (int f = 0; f < frames; ++f)
    for (int s = 0; s < binary.c; ++s) active_count[f] += binary.at(w, f, s) > 0;

  std::vector<Excerpt> out;
  std::vector<char> mask(frames);
  for (int s = 0; s < binary.c; ++s) {
    int active = 0, clean = 0;
    for (int f = 0; f < frames; ++f) {
      const bool on = binary.at(w, f, s) > 0;
      active += on;
      clean += on && active_count[f] == 1;
    }
    if (active * step < options.min_embedding_speech_s) continue;
    const bool use_clean = clean * step >= options.min_clean_speech_s;
    for (int f = 0; f < frames; ++f)
      mask[f] = binary.at(w, f, s) > 0 && (!use_clean || active_count[f] == 1);
    Excerpt e;
    e.window = w;
    e.speaker = s;
    e.confident = clean >= options.min_active_ratio * spec.frames_per_window && clean > 0;
    // Each frame stands for `step` seconds around its centre; runs of frames become
    // contiguous sample ranges, concatenated.
    for (int f = 0; f < frames;) {
      if (!mask[f]) {
        ++f;
        continue;
      }
      const int a = f;
      while (f < frames && mask[f]) ++f;
      const double t0 = spec.timing.center_s(a) - step / 2;
      const double t1 = spec.timing.center_s(f - 1) + step / 2;
      const int64_t s0 =
          std::clamp<int64_t>(window_start + std::llround(t0 * spec.sample_rate), 0, audio.size());
      const int64_t s1 =
          std::clamp<int64_t>(window_start + std::llround(t1 * spec.sample_rate), 0, audio.size());
      e.samples.insert(e.samples.end(), audio.begin() + s0, audio.begin() + s1);
    }
    if (!e.samples.empty()) out.push_back(std::move(e));
  }
  return out;
}

std::vector<SpeakerTurn> diarize(std::span<const float> audio, const SegmenterSpec& spec,
                                 const SegmentFn& segment, const EmbedFn& embed,
                                 const DiarizeOptions& options, DiarizeStats* stats) {
  validate(options);
  check_spec(spec);
  const auto t_start = std::chrono::steady_clock::now();
  DiarizeStats st;
  if (audio.empty()) {
    if (stats) *stats = st;
    return {};
  }
  const double duration = double(audio.size()) / spec.sample_rate;
  const int64_t step =
      std::max<int64_t>(1, std::llround(options.segmentation_step * double(spec.window_samples)));
  const SlidingWindows windows = SlidingWindows::make(audio.size(), spec.window_samples, step);
  st.windows = windows.count;

  // 1-2. Segmentation, binarisation, speakers per frame.
  auto t0 = std::chrono::steady_clock::now();
  const Array3 scores =
      segment_windows(audio, windows, spec, segment, options.segmentation_batch_size);
  const Array3 binary = binarize(scores, options.onset, options.offset);
  const int64_t num_frames = spec.timing.frames_in(duration);
  std::vector<int64_t> offsets(windows.count);
  for (int w = 0; w < windows.count; ++w)
    offsets[w] = spec.timing.offset_of(double(windows.start(w)) / spec.sample_rate);
  const int max_count = options.num_speakers > 0 ? options.num_speakers : options.max_speakers;
  const std::vector<int> count = speaker_count(binary, offsets, num_frames, max_count);
  st.segmentation_s = seconds_since(t0);

  // 3. Embeddings of the local speakers of every k-th window (and the last one).
  t0 = std::chrono::steady_clock::now();
  const int every = std::max(
      1, static_cast<int>(std::lround(options.embedding_step / options.segmentation_step)));
  std::vector<bool> embedded(windows.count, false);
  std::vector<Excerpt> excerpts;  // samples released once embedded: memory stays bounded
  std::vector<Embedding> embeddings;
  size_t pending = 0;  // excerpts[pending..] still await their embedding
  const auto embed_pending = [&] {
    std::vector<std::span<const float>> spans;
    for (size_t i = pending; i < excerpts.size(); ++i) {
      spans.emplace_back(excerpts[i].samples);
      st.embedded_audio_s += double(excerpts[i].samples.size()) / spec.sample_rate;
    }
    if (spans.empty()) return;
    std::vector<Embedding> out = embed(spans);
    if (out.size() != spans.size())
      throw ModelError("diarization: the speaker encoder returned too few embeddings");
    for (Embedding& e : out) embeddings.push_back(std::move(e));
    for (size_t i = pending; i < excerpts.size(); ++i)
      std::vector<float>().swap(excerpts[i].samples);
    pending = excerpts.size();
  };
  for (int w = 0; w < windows.count; ++w) {
    if (w % every != 0 && w + 1 != windows.count) continue;
    embedded[w] = true;
    ++st.embedded_windows;
    const int valid =
        static_cast<int>(std::clamp<int64_t>(num_frames - offsets[w], 0, spec.frames_per_window));
    for (Excerpt& e : select_excerpts(audio, windows.start(w), binary, w, valid, spec, options))
      excerpts.push_back(std::move(e));
    if (excerpts.size() - pending >= size_t(options.embedding_batch_size)) embed_pending();
  }
  embed_pending();
  st.embeddings = static_cast<int>(embeddings.size());
  st.embedding_s = seconds_since(t0);

  // 4. Cluster the confident embeddings (a uniform subsample of at most
  // max_clustered_embeddings), then map every window's local speakers to distinct clusters.
  t0 = std::chrono::steady_clock::now();
  std::vector<int> train;
  for (size_t i = 0; i < excerpts.size(); ++i)
    if (excerpts[i].confident) train.push_back(static_cast<int>(i));
  if (train.empty())  // only short or overlapped speech: cluster what there is
    for (size_t i = 0; i < excerpts.size(); ++i) train.push_back(static_cast<int>(i));
  if (train.size() > size_t(options.max_clustered_embeddings)) {
    std::vector<int> sub;
    const double stride = double(train.size()) / options.max_clustered_embeddings;
    for (int i = 0; i < options.max_clustered_embeddings; ++i)
      sub.push_back(train[static_cast<size_t>(i * stride)]);
    train = std::move(sub);
  }
  std::vector<Embedding> train_embeddings;
  for (int i : train) train_embeddings.push_back(embeddings[i]);
  ClusteringOptions copts;
  copts.threshold = options.clustering_threshold;
  copts.num_clusters = options.num_speakers;
  copts.min_clusters = options.min_speakers;
  copts.max_clusters = options.max_speakers;
  copts.min_cluster_size = options.min_cluster_size;
  const Clustering clusters = cluster_embeddings(train_embeddings, copts);
  st.clustered = static_cast<int>(train.size());
  const int k = static_cast<int>(clusters.centroids.size());

  // Per embedded window: local speaker -> cluster, two local speakers never in one cluster.
  // A cluster's score in a window is its local speaker's probability, not the binarised
  // activity: the reconstruction below then ranks clusters by confidence, not by index.
  Array3 clustered(windows.count, spec.frames_per_window, std::max(k, 1));
  if (k == 0) {  // speech, but every excerpt too short to embed: one speaker
    for (int w = 0; w < windows.count; ++w)
      for (int f = 0; f < spec.frames_per_window; ++f)
        for (int s = 0; s < spec.local_speakers; ++s)
          clustered.at(w, f, 0) = std::max(clustered.at(w, f, 0), binary.at(w, f, s));
  }
  for (size_t i = 0; i < excerpts.size();) {
    const int w = excerpts[i].window;
    size_t j = i;
    while (j < excerpts.size() && excerpts[j].window == w) ++j;
    std::vector<std::vector<double>> sim(j - i, std::vector<double>(k));
    for (size_t r = i; r < j; ++r)
      for (int c = 0; c < k; ++c)
        sim[r - i][c] = cosine_similarity(embeddings[r], clusters.centroids[c]);
    const std::vector<int> to = max_score_assignment(sim);
    for (size_t r = i; r < j; ++r) {
      if (to[r - i] < 0) continue;
      for (int f = 0; f < spec.frames_per_window; ++f)
        clustered.at(w, f, to[r - i]) =
            std::max(clustered.at(w, f, to[r - i]), scores.at(w, f, excerpts[r].speaker));
    }
    i = j;
  }
  st.clustering_s = seconds_since(t0);

  // 5. Reconstruction: the `count` clusters most often active across the embedded windows.
  const Array3 summed = aggregate(clustered, offsets, num_frames, false, embedded);
  const Array3 activity = top_speakers(summed, count);
  std::vector<SpeakerTurn> turns = activity_to_turns(
      activity, spec.timing, duration, options.min_duration_on, options.min_duration_off);
  std::vector<std::string> names;
  for (const SpeakerTurn& t : turns)
    if (std::find(names.begin(), names.end(), t.speaker) == names.end()) names.push_back(t.speaker);
  st.speakers = static_cast<int>(names.size());
  st.total_s = seconds_since(t_start);
  log::debug("diarize: ", st.windows, " windows, ", st.embeddings, " embeddings (", st.clustered,
             " clustered), ", st.speakers, " speakers in ", st.total_s, " s");
  if (stats) *stats = st;
  return turns;
}

}  // namespace voiceman::diarize
