#include "voiceman/writers/formats.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "voiceman/core/errors.h"
#include "voiceman/writers/json_writer.h"
#include "voiceman/writers/rttm_writer.h"

namespace voiceman::writers {
namespace {

constexpr std::string_view kNames[] = {"json", "srt", "vtt", "txt", "rttm"};

std::string trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

// One line of cue text: newlines would end the cue early in SRT/VTT.
std::string cue_text(const Segment& s) {
  std::string text = trim(s.text);
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  return s.speaker ? "[" + *s.speaker + "]: " + text : text;
}

// WebVTT cue text may not contain raw '<' or '&', nor "-->".
std::string vtt_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '&')
      out += "&amp;";
    else if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else
      out += c;
  }
  return out;
}

}  // namespace

Format parse_format(std::string_view name) {
  for (size_t i = 0; i < std::size(kNames); ++i)
    if (name == kNames[i]) return static_cast<Format>(i);
  throw ConfigError("unknown output format '" + std::string(name) +
                    "' (choose from json, srt, vtt, txt, rttm)");
}

std::string_view format_name(Format format) { return kNames[static_cast<size_t>(format)]; }

std::vector<Format> parse_formats(std::string_view list) {
  std::vector<Format> out;
  size_t pos = 0;
  while (pos <= list.size()) {
    const size_t comma = std::min(list.find(',', pos), list.size());
    const std::string item = trim(list.substr(pos, comma - pos));
    if (item.empty())
      throw ConfigError("empty entry in the format list '" + std::string(list) + "'");
    const Format f = parse_format(item);
    if (std::find(out.begin(), out.end(), f) == out.end()) out.push_back(f);
    pos = comma + 1;
  }
  return out;
}

std::string to_json_document(const Transcript& transcript, const SourceInfo& source) {
  nlohmann::json doc = to_json(transcript);
  doc["audio"] = {{"path", source.path},
                  {"duration", source.duration_s},
                  {"sha256", source.sha256},
                  {"md5", source.md5}};
  // Invalid UTF-8 must not abort a run hours in; the tokenizer already emits U+FFFD.
  return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string to_srt(const Transcript& transcript) {
  std::string out;
  int index = 0;
  for (const Segment& s : transcript.segments) {
    const std::string text = cue_text(s);
    if (text.empty()) continue;  // empty cues break some players
    if (index > 0) out += "\n";
    out += std::to_string(++index) + "\n" + format_timestamp(s.start, true, ',') + " --> " +
           format_timestamp(s.end, true, ',') + "\n" + text + "\n";
  }
  return out;
}

std::string to_vtt(const Transcript& transcript) {
  std::string out = "WEBVTT\n";
  for (const Segment& s : transcript.segments) {
    const std::string text = cue_text(s);
    if (text.empty()) continue;
    out += '\n';
    out += format_timestamp(s.start, true, '.') + " --> " + format_timestamp(s.end, true, '.');
    out += '\n';
    out += vtt_escape(text);
    out += '\n';
  }
  return out;
}

std::string to_txt(const Transcript& transcript) {
  std::string out;
  for (const Segment& s : transcript.segments) {
    const std::string text = cue_text(s);
    if (!text.empty()) out += text + "\n";
  }
  return out;
}

std::string render(Format format, const Transcript& transcript, const SourceInfo& source) {
  switch (format) {
    case Format::json:
      return to_json_document(transcript, source);
    case Format::srt:
      return to_srt(transcript);
    case Format::vtt:
      return to_vtt(transcript);
    case Format::txt:
      return to_txt(transcript);
    case Format::rttm:
      return to_rttm(source.file_id, transcript.speaker_turns);
  }
  throw Error("unhandled output format");
}

}  // namespace voiceman::writers
