// RIFF/WAVE reader with no dependencies, for builds and machines without FFmpeg.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>

#include "voiceman/audio/decode.h"
#include "voiceman/audio/media_file.h"
#include "voiceman/audio/resample.h"
#include "voiceman/core/log.h"

namespace voiceman::audio {
namespace {

constexpr uint16_t kFormatPcm = 1;
constexpr uint16_t kFormatFloat = 3;
constexpr uint16_t kFormatExtensible = 0xFFFE;
constexpr size_t kFramesPerRead = 1 << 15;

uint16_t le16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t le64(const unsigned char* p) {
  return static_cast<uint64_t>(le32(p)) | (static_cast<uint64_t>(le32(p + 4)) << 32);
}

struct WavFormat {
  bool is_float = false;
  int channels = 0;
  int sample_rate = 0;
  int bits = 0;
  int block_align = 0;
};

// A float sample the resampler and the features can take, before a filter spreads a
// NaN or an infinity over its neighbours: a NaN (a damaged float file) is silence, and
// anything far past full scale (an infinity, a float64 past float's range) is held at
// 1e6. Values beyond full scale are clipped after resampling, as FFmpeg's are.
float finite_sample(double v) {
  if (std::isnan(v)) return 0.0f;
  return static_cast<float>(std::clamp(v, -1e6, 1e6));
}

// One sample at p in [-1, 1), scaled the way FFmpeg scales integer PCM to float.
float sample_at(const unsigned char* p, const WavFormat& f) {
  if (f.is_float) {
    if (f.bits == 32) {
      float v;
      std::memcpy(&v, p, 4);
      return finite_sample(v);
    }
    double v;
    std::memcpy(&v, p, 8);
    return finite_sample(v);
  }
  switch (f.bits) {
    case 8:  // 8-bit WAV is unsigned
      return (static_cast<int>(p[0]) - 128) / 128.0f;
    case 16:
      return static_cast<float>(static_cast<int16_t>(le16(p))) / 32768.0f;
    case 24: {
      const uint32_t u = static_cast<uint32_t>(p[0]) << 8 | static_cast<uint32_t>(p[1]) << 16 |
                         static_cast<uint32_t>(p[2]) << 24;
      const int32_t v = static_cast<int32_t>(u) >> 8;  // arithmetic shift sign-extends
      return static_cast<float>(static_cast<double>(v) / 8388608.0);
    }
    default:
      return static_cast<float>(static_cast<double>(static_cast<int32_t>(le32(p))) / 2147483648.0);
  }
}

WavFormat parse_fmt(const std::filesystem::path& path, const unsigned char* p, uint32_t size) {
  if (size < 16) throw_media_error(path, "corrupt or truncated media (short WAV fmt chunk)");
  WavFormat f;
  uint16_t tag = le16(p);
  f.channels = le16(p + 2);
  f.sample_rate = static_cast<int>(le32(p + 4));
  f.block_align = le16(p + 12);
  f.bits = le16(p + 14);
  if (tag == kFormatExtensible) {
    if (size < 40) throw_media_error(path, "corrupt or truncated media (short WAV fmt chunk)");
    tag = le16(p + 24);  // first two bytes of the sub-format GUID carry the format tag
  }
  if (tag != kFormatPcm && tag != kFormatFloat) {
    throw_media_error(path, "unsupported WAV encoding (format tag " + std::to_string(tag) +
                                "); only PCM and IEEE float can be read without FFmpeg");
  }
  f.is_float = tag == kFormatFloat;
  const bool bits_ok = f.is_float ? (f.bits == 32 || f.bits == 64)
                                  : (f.bits == 8 || f.bits == 16 || f.bits == 24 || f.bits == 32);
  if (!bits_ok) {
    throw_media_error(path, "unsupported WAV sample size (" + std::to_string(f.bits) + " bits)");
  }
  if (f.channels <= 0 || f.sample_rate <= 0 || f.block_align != f.channels * (f.bits / 8)) {
    throw_media_error(path, "corrupt or truncated media (inconsistent WAV fmt chunk)");
  }
  return f;
}

// Where a RIFF/WAVE file keeps its samples, and how they are stored.
struct WavLayout {
  WavFormat format;
  uint64_t data_offset = 0;
  uint64_t data_size = 0;  // what is there to read
  std::string cut_short;   // set when the header declares more data than the file holds
};

WavLayout scan_wav(const std::filesystem::path& path, std::ifstream& in, uint64_t file_size) {
  std::array<unsigned char, 12> riff{};
  if (!in.read(reinterpret_cast<char*>(riff.data()), riff.size()) ||
      (std::memcmp(riff.data(), "RIFF", 4) != 0 && std::memcmp(riff.data(), "RF64", 4) != 0) ||
      std::memcmp(riff.data() + 8, "WAVE", 4) != 0) {
    throw_media_error(path, "not audio (not a RIFF/WAVE file)");
  }
  const bool rf64 = std::memcmp(riff.data(), "RF64", 4) == 0;

  // Walk the chunks until both fmt and data are known; data may come before fmt.
  WavLayout w;
  bool have_fmt = false, have_data = false;
  uint64_t rf64_data_size = 0;
  uint64_t pos = 12;
  while (!(have_fmt && have_data) && pos + 8 <= file_size) {
    unsigned char header[8];
    in.seekg(static_cast<std::streamoff>(pos));
    if (!in.read(reinterpret_cast<char*>(header), 8)) break;
    const uint32_t size = le32(header + 4);
    const uint64_t body = pos + 8;
    if (std::memcmp(header, "fmt ", 4) == 0 || std::memcmp(header, "ds64", 4) == 0) {
      std::vector<unsigned char> chunk(std::min<uint32_t>(size, 256));
      if (!in.read(reinterpret_cast<char*>(chunk.data()),
                   static_cast<std::streamsize>(chunk.size())))
        throw_media_error(path, "corrupt or truncated media (WAV header cut short)");
      if (header[0] == 'f') {
        w.format = parse_fmt(path, chunk.data(), static_cast<uint32_t>(chunk.size()));
        have_fmt = true;
      } else if (chunk.size() >= 16) {
        rf64_data_size = le64(chunk.data() + 8);  // RF64 keeps the real data size here
      }
    } else if (std::memcmp(header, "data", 4) == 0) {
      have_data = true;
      w.data_offset = body;
      w.data_size = (rf64 && size == 0xFFFFFFFFu) ? rf64_data_size : size;
      // 0 and 0xFFFFFFFF: a recorder that streamed, or stopped before it could write the
      // size. FFmpeg reads such data to the end of the file, and so do we.
      if (w.data_size == 0 || w.data_size == 0xFFFFFFFFu || w.data_size > file_size - body) {
        if (w.data_size != 0xFFFFFFFFu && w.data_size != 0)
          w.cut_short = "the WAV data chunk is cut short: " + std::to_string(file_size - body) +
                        " of " + std::to_string(w.data_size) +
                        " bytes present (the file may be truncated)";
        w.data_size = file_size - body;  // streamed or truncated: read what is there
      }
    }
    pos = body + size + (size & 1u);  // chunks are padded to an even length
  }
  if (!have_fmt || !have_data) {
    throw_media_error(path, std::string("corrupt or truncated media (no WAV ") +
                                (have_fmt ? "data" : "fmt") + " chunk)");
  }
  return w;
}

}  // namespace

namespace detail {

std::optional<std::string> wav_cut_short(const std::filesystem::path& path) {
  try {
    const uint64_t file_size = check_media_file(path);
    std::ifstream in(path, std::ios::binary | std::ios::in);
    if (!in) return std::nullopt;
    WavLayout w = scan_wav(path, in, file_size);
    if (w.cut_short.empty()) return std::nullopt;
    return std::move(w.cut_short);
  } catch (const std::exception&) {
    return std::nullopt;  // not a WAV file, or one FFmpeg reads better than we do
  }
}

}  // namespace detail

Audio read_wav(const std::filesystem::path& path, const DecodeOptions& options) {
  const uint64_t file_size = check_media_file(path);
  std::ifstream in(path, std::ios::binary | std::ios::in);
  if (!in) throw_media_error(path, "unreadable");
  const WavLayout layout = scan_wav(path, in, file_size);
  const WavFormat& format = layout.format;
  const uint64_t data_offset = layout.data_offset;
  const uint64_t data_size = layout.data_size;
  if (!layout.cut_short.empty()) log::warn("'", path.string(), "': ", layout.cut_short);
  if (options.channel >= format.channels) {
    throw_media_error(path, "channel " + std::to_string(options.channel) +
                                " requested but the file has " + std::to_string(format.channels) +
                                " channel(s)");
  }

  Audio audio;
  audio.source_sample_rate = format.sample_rate;
  audio.source_channels = format.channels;
  if (!layout.cut_short.empty()) audio.warnings.push_back(layout.cut_short);
  const uint64_t frames = data_size / static_cast<uint64_t>(format.block_align);
  const bool direct = format.sample_rate == kSampleRate;
  Resampler resampler(format.sample_rate, kSampleRate);
  if (direct) audio.samples.reserve(frames);

  const int bytes = format.bits / 8;
  std::vector<unsigned char> raw(kFramesPerRead * static_cast<size_t>(format.block_align));
  std::vector<float> mono;
  in.seekg(static_cast<std::streamoff>(data_offset));
  for (uint64_t done = 0; done < frames;) {
    const auto count = static_cast<size_t>(std::min<uint64_t>(kFramesPerRead, frames - done));
    if (!in.read(reinterpret_cast<char*>(raw.data()),
                 static_cast<std::streamsize>(count * format.block_align))) {
      throw_media_error(path, "unreadable (read failed)");
    }
    mono.resize(count);
    for (size_t i = 0; i < count; ++i) {
      const unsigned char* frame = raw.data() + i * format.block_align;
      if (options.channel >= 0) {
        mono[i] = sample_at(frame + options.channel * bytes, format);
      } else {
        double sum = 0.0;  // downmix = plain mean, as swresample does for stereo to mono
        for (int c = 0; c < format.channels; ++c) sum += sample_at(frame + c * bytes, format);
        mono[i] = static_cast<float>(sum / format.channels);
      }
    }
    if (direct) {
      audio.samples.insert(audio.samples.end(), mono.begin(), mono.end());
    } else {
      resampler.push(mono, audio.samples);
    }
    done += count;
  }
  if (!direct) resampler.finish(audio.samples);
  // Float data and resampler overshoot can exceed full scale; FFmpeg's s16 path clips,
  // and everything downstream expects [-1, 1].
  for (float& v : audio.samples) v = std::clamp(v, -1.0f, 1.0f);
  return audio;
}

}  // namespace voiceman::audio
