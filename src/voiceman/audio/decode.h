#pragma once
// The only module that opens media files. Everything leaves here as 16 kHz mono float32
// PCM in [-1, 1], the form every later stage expects.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace voiceman::audio {

inline constexpr int kSampleRate = 16000;

struct DecodeOptions {
  int channel = -1;  // -1 downmixes all channels; N >= 0 keeps channel N only
};

struct Audio {
  std::vector<float> samples;  // 16 kHz mono
  int source_sample_rate = 0;
  int source_channels = 0;
  // What the decode could not take whole (it stopped at bad data, or the container
  // declares more audio than was there). The run keeps these in the manifest.
  std::vector<std::string> warnings;
  double duration_s() const { return static_cast<double>(samples.size()) / kSampleRate; }
};

// Decodes any supported media file (FFmpeg when built with it, WAV otherwise).
// Throws MediaError naming the file on anything it cannot decode.
Audio decode_file(const std::filesystem::path& path, const DecodeOptions& options = {});

// Reads a RIFF/WAVE file (PCM 8/16/24/32-bit or IEEE float) without FFmpeg, resampling
// to 16 kHz when needed. Used where FFmpeg is absent (the lent GPU machine). At 16 kHz it
// equals the FFmpeg path bit for bit (16-bit mono); resampled, it differs from swresample
// by < 1e-3 max / 3e-5 rms (different anti-alias filters). Channels downmix by mean.
Audio read_wav(const std::filesystem::path& path, const DecodeOptions& options = {});

// Whether this build can decode more than WAV.
bool have_ffmpeg();

namespace detail {
// For a RIFF/WAVE file whose header declares more data than the file holds, says so;
// FFmpeg reads such a file to its end without a word. nullopt for anything else.
std::optional<std::string> wav_cut_short(const std::filesystem::path& path);
}  // namespace detail

}  // namespace voiceman::audio
