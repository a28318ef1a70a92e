// Log-mel features on the GPU, the same arithmetic as MelExtractor::compute: the float
// window product, the spectrum and the mel sums in double, log10 in float, then the
// floor at peak - 8, per chunk (window_features) or per recording (RecordingFeatures). A direct
// 400-point DFT in double stands in for the CPU's FFT; it is a few microseconds per 30 s window on
// a datacenter GPU. SpectrumPrecision::float32 takes the spectrum and the sums in float instead,
// for half-precision encoders on GPUs with few FP64 units.
#include <algorithm>
#include <limits>
#include <vector>

#include "voiceman/core/errors.h"
#include "voiceman/engine/cuda/cuda_internal.h"
#include "voiceman/engine/primitives/cuda_primitives.cuh"
#include "voiceman/features/recording_features.h"
#include "voiceman/features/window_features.h"

namespace voiceman::features::cuda {
namespace {

namespace prim = primitives::cuda;

constexpr int kNfft = MelExtractor::kNfft;
constexpr int kBins = MelExtractor::kBins;
constexpr int kHop = MelExtractor::kHop;
constexpr int kWindowFrames = MelExtractor::kChunkFrames;
constexpr int kThreads = 256;

// np.pad(mode="reflect") over the zero-padded waveform, as mel.cc resolves it.
__device__ int64_t reflect(int64_t i, int64_t size) {
  if (i >= 0 && i < size) return i;
  if (size == 1) return 0;
  const int64_t period = 2 * (size - 1);
  i = (i < 0 ? -i : i) % period;
  return i < size ? i : period - i;
}

// Float max through integer atomics: non-negative floats order as ints, negative ones in
// reverse as unsigned ints.
__device__ void atomic_max_float(float* address, float value) {
  if (value >= 0.f)
    atomicMax(reinterpret_cast<int*>(address), __float_as_int(value));
  else
    atomicMin(reinterpret_cast<unsigned*>(address), __float_as_uint(value));
}

// Frames of a chunk of `samples` that are kept: a window's content frames, or all of a
// whole recording's, the last one included.
__device__ int64_t kept_frames(int64_t samples, bool whole) {
  return whole ? (samples + kChunkPadding) / kHop : content_frames(samples);
}

// cos and sin of 2 pi j / kNfft in the spectrum's precision.
__device__ void twiddle(int j, double* s, double* c) { sincospi(2.0 * j / kNfft, s, c); }
__device__ void twiddle(int j, float* s, float* c) { sincospif(2.f * j / kNfft, s, c); }

// One block per (frame, chunk): the frame's power spectrum, its mel bands in log10 (kept
// for the first kept_frames, rows `stride` frames apart) and the chunk's running peak over
// all of its frames. Acc: the spectrum's and the mel sums' type (double or float).
template <typename Acc>
__global__ void log_mel_kernel(const float* pcm, const int* offsets, const int* lengths,
                               const float* window, const float* filters, int n_mels,
                               int64_t stride, bool whole, float* out, float* peaks) {
  __shared__ Acc frame[kNfft];
  __shared__ Acc cos_t[kNfft];
  __shared__ Acc sin_t[kNfft];
  __shared__ Acc power[kBins];
  __shared__ float scratch[32];
  const int chunk = static_cast<int>(blockIdx.y);
  const int64_t samples = lengths[chunk];
  const int64_t size = samples + kChunkPadding;
  const int64_t t = blockIdx.x;
  if (t >= size / kHop) return;  // the whole block: this chunk has fewer frames
  const float* wave = pcm + offsets[chunk];
  const int64_t start = t * kHop - kNfft / 2;
  for (int j = static_cast<int>(threadIdx.x); j < kNfft; j += blockDim.x) {
    const int64_t i = reflect(start + j, size);
    const float x = i < samples ? wave[i] : 0.f;
    frame[j] = static_cast<Acc>(__fmul_rn(x, window[j]));  // float product, as numpy's
    twiddle(j, &sin_t[j], &cos_t[j]);
  }
  __syncthreads();
  for (int k = static_cast<int>(threadIdx.x); k < kBins; k += blockDim.x) {
    Acc re = 0, im = 0;
    int phase = 0;  // j * k mod kNfft
    for (int j = 0; j < kNfft; ++j) {
      re += frame[j] * cos_t[phase];
      im -= frame[j] * sin_t[phase];
      phase += k;
      if (phase >= kNfft) phase -= kNfft;
    }
    power[k] = re * re + im * im;
  }
  __syncthreads();
  const int64_t kept = kept_frames(samples, whole);
  float local_peak = -INFINITY;
  for (int m = static_cast<int>(threadIdx.x); m < n_mels; m += blockDim.x) {
    const float* row = filters + static_cast<int64_t>(m) * kBins;
    Acc sum = 0;  // zero weights outside the band add nothing
    for (int k = 0; k < kBins; ++k) sum += static_cast<Acc>(row[k]) * power[k];
    const float value = log10f(fmaxf(static_cast<float>(sum), 1e-10f));
    if (t < kept) out[(static_cast<int64_t>(chunk) * n_mels + m) * stride + t] = value;
    local_peak = fmaxf(local_peak, value);
  }
  const float block_peak = prim::block_max(local_peak, scratch);
  if (threadIdx.x == 0) atomic_max_float(peaks + chunk, block_peak);
}

// (max(v, peak - 8) + 4) / 4 over the kept frames, zeros after them (pad_or_trim).
__global__ void normalise_kernel(float* out, const int* lengths, const float* peaks, int n_mels,
                                 int64_t stride, bool whole, int64_t total) {
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t t = idx % stride;
    const auto chunk = static_cast<int>(idx / (static_cast<int64_t>(n_mels) * stride));
    const float floor = peaks[chunk] - 8.0f;
    out[idx] =
        t < kept_frames(lengths[chunk], whole) ? (fmaxf(out[idx], floor) + 4.0f) / 4.0f : 0.f;
  }
}

// features[:, seek : seek + size] zero-padded to the 30 s window, into dst [n_mels, 3000].
__global__ void window_kernel(const float* features, int64_t frames, int seek, int size,
                              int64_t total, float* dst) {
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t m = idx / kWindowFrames, t = idx % kWindowFrames;
    dst[idx] = t < size ? features[m * frames + seek + t] : 0.f;
  }
}

// Offsets and lengths go to the kernels as int.
void check_samples(int64_t total) {
  if (total >= std::numeric_limits<int>::max())
    throw Error("log-mel features: " + std::to_string(total) +
                " samples are more than one call takes (2^31 - 1, 37 hours)");
}

// Log-mel of each chunk into `out` ([n, n_mels, stride] on the device): stride 3000 and
// content frames for a batch of windows, or one whole recording (stride = its frames).
void log_mel(const ExecContext& ctx, const MelExtractor& mel,
             const std::vector<std::span<const float>>& chunks, int64_t stride, bool whole,
             SpectrumPrecision precision, Tensor& out) {
  const int n = static_cast<int>(chunks.size());
  const int n_mels = mel.n_mels();
  std::vector<int> offsets(chunks.size()), lengths(chunks.size());
  int64_t total = 0, max_frames = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    offsets[i] = static_cast<int>(total);
    lengths[i] = static_cast<int>(chunks[i].size());
    total += static_cast<int64_t>(chunks[i].size());
    max_frames = std::max(max_frames, (lengths[i] + int64_t{kChunkPadding}) / kHop);
  }
  check_samples(total);
  const std::vector<float> peaks_init(chunks.size(), -std::numeric_limits<float>::infinity());

  Tensor d_pcm({std::max<int64_t>(1, total)}, DType::f32, ctx.device);
  Tensor d_offsets({n}, DType::i32, ctx.device), d_lengths({n}, DType::i32, ctx.device);
  Tensor d_window({kNfft}, DType::f32, ctx.device);
  Tensor d_filters({n_mels, kBins}, DType::f32, ctx.device);
  Tensor d_peaks({n}, DType::f32, ctx.device);
  using voiceman::cuda::upload;
  for (size_t i = 0; i < chunks.size(); ++i)  // each chunk straight to its offset
    upload(ctx, d_pcm.data<float>() + offsets[i], chunks[i].data(), chunks[i].size_bytes());
  upload(ctx, d_offsets.data<int>(), offsets.data(), offsets.size() * sizeof(int));
  upload(ctx, d_lengths.data<int>(), lengths.data(), lengths.size() * sizeof(int));
  upload(ctx, d_window.data<float>(), mel.window().data(), kNfft * sizeof(float));
  upload(ctx, d_filters.data<float>(), mel.filters().data(), mel.filters().size() * sizeof(float));
  upload(ctx, d_peaks.data<float>(), peaks_init.data(), peaks_init.size() * sizeof(float));

  const cudaStream_t stream = voiceman::cuda::stream_of(ctx);
  const dim3 grid(static_cast<unsigned>(max_frames), static_cast<unsigned>(n));
  auto* kernel =
      precision == SpectrumPrecision::float32 ? log_mel_kernel<float> : log_mel_kernel<double>;
  kernel<<<grid, kThreads, 0, stream>>>(
      d_pcm.data<float>(), d_offsets.data<int>(), d_lengths.data<int>(), d_window.data<float>(),
      d_filters.data<float>(), n_mels, stride, whole, out.data<float>(), d_peaks.data<float>());
  voiceman::cuda::check_launch("log-mel features");
  const int64_t elements = static_cast<int64_t>(n) * n_mels * stride;
  normalise_kernel<<<prim::grid_for(elements, kThreads), kThreads, 0, stream>>>(
      out.data<float>(), d_lengths.data<int>(), d_peaks.data<float>(), n_mels, stride, whole,
      elements);
  voiceman::cuda::check_launch("log-mel normalisation");
}

}  // namespace

void window_features(const ExecContext& ctx, const MelExtractor& mel,
                     const std::vector<std::span<const float>>& chunks, SpectrumPrecision precision,
                     Tensor& out) {
  log_mel(ctx, mel, chunks, kWindowFrames, false, precision, out);
}

Tensor recording_features(const ExecContext& ctx, const MelExtractor& mel,
                          std::span<const float> audio, SpectrumPrecision precision) {
  const auto samples = static_cast<int64_t>(audio.size());
  check_samples(samples);  // before allocating for them
  const int64_t frames = (samples + kChunkPadding) / kHop;
  Tensor out({mel.n_mels(), frames}, DType::f32, ctx.device);
  log_mel(ctx, mel, {audio}, frames, true, precision, out);
  return out;
}

void copy_window(const ExecContext& ctx, const Tensor& features, int seek, int size, Tensor& batch,
                 int64_t index) {
  const int64_t n_mels = features.dim(0);
  const int64_t elements = n_mels * kWindowFrames;
  window_kernel<<<prim::grid_for(elements, kThreads), kThreads, 0,
                  voiceman::cuda::stream_of(ctx)>>>(features.data<float>(), features.dim(1), seek,
                                                    size, elements,
                                                    batch.data<float>() + index * elements);
  voiceman::cuda::check_launch("log-mel window");
}

}  // namespace voiceman::features::cuda
