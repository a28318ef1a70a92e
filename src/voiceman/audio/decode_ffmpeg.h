#pragma once
// FFmpeg-backed decoding (only compiled when FFmpeg is available). Internal to audio/.
#include <filesystem>

#include "voiceman/audio/decode.h"

namespace voiceman::audio::detail {

// Mirrors faster-whisper's decode_audio(): first audio stream, every frame through
// libswresample to s16 mono 16 kHz (default options), resampler flushed at the end,
// then / 32768. With options.channel >= 0 only that channel is resampled.
Audio decode_with_ffmpeg(const std::filesystem::path& path, const DecodeOptions& options);

}  // namespace voiceman::audio::detail
