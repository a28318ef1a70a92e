#pragma once
// The transcript file formats `voiceman run` writes, rendered to text in memory so the
// caller can hash exactly the bytes that go to disk.
#include <string>
#include <string_view>
#include <vector>

#include "voiceman/core/transcript.h"

namespace voiceman::writers {

enum class Format { json, srt, vtt, txt, rttm };

// "json" -> Format::json...; throws ConfigError naming the unknown format.
Format parse_format(std::string_view name);
std::string_view format_name(Format format);
// Parses a comma-separated list, keeping the first occurrence of each format.
std::vector<Format> parse_formats(std::string_view list);

// Where the transcript came from; goes into the JSON `audio` block and the RTTM file id.
struct SourceInfo {
  std::string path;     // the original, as given on the command line
  std::string file_id;  // RTTM file id (no spaces)
  double duration_s = 0;
  std::string sha256;
  std::string md5;
};

std::string render(Format format, const Transcript& transcript, const SourceInfo& source);

// The individual formats (render dispatches to these).
std::string to_json_document(const Transcript& transcript, const SourceInfo& source);
std::string to_srt(const Transcript& transcript);
std::string to_vtt(const Transcript& transcript);
std::string to_txt(const Transcript& transcript);

}  // namespace voiceman::writers
