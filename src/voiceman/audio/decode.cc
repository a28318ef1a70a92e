#include "voiceman/audio/decode.h"

#include <cstring>
#include <fstream>

#include "voiceman/audio/media_file.h"

#if VOICEMAN_HAVE_FFMPEG
#include "voiceman/audio/decode_ffmpeg.h"
#endif

namespace voiceman::audio {

bool have_ffmpeg() {
#if VOICEMAN_HAVE_FFMPEG
  return true;
#else
  return false;
#endif
}

Audio decode_file(const std::filesystem::path& path, const DecodeOptions& options) {
#if VOICEMAN_HAVE_FFMPEG
  return detail::decode_with_ffmpeg(path, options);
#else
  // Without FFmpeg only WAV can be read; decide by content, not by the file name.
  check_media_file(path);
  char magic[12] = {};
  std::ifstream in(path, std::ios::binary | std::ios::in);
  in.read(magic, sizeof magic);
  const bool riff = (std::memcmp(magic, "RIFF", 4) == 0 || std::memcmp(magic, "RF64", 4) == 0) &&
                    std::memcmp(magic + 8, "WAVE", 4) == 0;
  if (!riff) {
    throw_media_error(path, "not a WAV file, and this build has no FFmpeg to decode other formats");
  }
  return read_wav(path, options);
#endif
}

}  // namespace voiceman::audio
