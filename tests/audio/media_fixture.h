#pragma once
// Shared helpers for the audio tests: media files generated on demand with the ffmpeg
// command-line tool (so no binary fixtures are checked in), and a minimal WAV writer.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/paths.h"
#include "voiceman/audio/decode.h"

namespace voiceman::audio::test {

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

inline bool have_ffmpeg_cli() {
  static const bool present = std::system("ffmpeg -version > /dev/null 2>&1") == 0;
  return present;
}

// Runs `ffmpeg -v error -y <args> <output>`; true on success.
inline bool ffmpeg_make(const std::string& args, const std::filesystem::path& output) {
  const std::string cmd =
      "ffmpeg -nostdin -v error -y " + args + " " + shell_quote(output.string()) + " 2>/dev/null";
  return std::system(cmd.c_str()) == 0 && std::filesystem::exists(output);
}

inline std::filesystem::path jfk() { return voiceman::testing::shared_data_dir() / "jfk.flac"; }

inline double rms(const std::vector<float>& x) {
  double sum = 0.0;
  for (float v : x) sum += static_cast<double>(v) * v;
  return x.empty() ? 0.0 : std::sqrt(sum / x.size());
}

// Little-endian RIFF/WAVE writer for arbitrary PCM/float payloads.
struct WavSpec {
  uint16_t format_tag = 1;  // 1 PCM, 3 float, 0xFFFE extensible
  uint16_t channels = 1;
  uint32_t sample_rate = 16000;
  uint16_t bits = 16;
  uint16_t sub_format = 1;  // for extensible
};

inline void put16(std::string& s, uint16_t v) {
  s += static_cast<char>(v & 0xFF);
  s += static_cast<char>(v >> 8);
}
inline void put32(std::string& s, uint32_t v) {
  put16(s, static_cast<uint16_t>(v & 0xFFFF));
  put16(s, static_cast<uint16_t>(v >> 16));
}

// `payload` is the raw data chunk; `declared_data` overrides its size field when nonzero.
inline void write_wav(const std::filesystem::path& path, const WavSpec& spec,
                      const std::string& payload, uint32_t declared_data = 0, bool with_fmt = true,
                      const std::string& extra_chunk = "") {
  std::string fmt;
  const uint16_t block = static_cast<uint16_t>(spec.channels * spec.bits / 8);
  put16(fmt, spec.format_tag);
  put16(fmt, spec.channels);
  put32(fmt, spec.sample_rate);
  put32(fmt, spec.sample_rate * block);
  put16(fmt, block);
  put16(fmt, spec.bits);
  if (spec.format_tag == 0xFFFE) {
    put16(fmt, 22);
    put16(fmt, spec.bits);
    put32(fmt, 0);
    put16(fmt, spec.sub_format);
    fmt += std::string("\x00\x00\x00\x00\x10\x00\x80\x00\x00\xAA\x00\x38\x9B\x71", 14);
  }
  std::string body = "WAVE";
  body += extra_chunk;
  if (with_fmt) {
    body += "fmt ";
    put32(body, static_cast<uint32_t>(fmt.size()));
    body += fmt;
  }
  body += "data";
  put32(body, declared_data ? declared_data : static_cast<uint32_t>(payload.size()));
  body += payload;
  std::string file = "RIFF";
  put32(file, static_cast<uint32_t>(body.size()));
  file += body;
  std::ofstream(path, std::ios::binary)
      .write(file.data(), static_cast<std::streamsize>(file.size()));
}

inline std::string pcm16(const std::vector<int16_t>& samples) {
  std::string s;
  for (int16_t v : samples) put16(s, static_cast<uint16_t>(v));
  return s;
}

}  // namespace voiceman::audio::test
