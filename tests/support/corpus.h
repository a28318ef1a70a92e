#pragma once
// Test corpora for the batch pipeline: real clips from ../shared/data converted to the
// formats people record in (m4a, mp3, ogg) with the ffmpeg CLI, and every kind of
// unusable input the pipeline must record and survive. Nothing binary is checked in.
#include <filesystem>
#include <string>
#include <vector>

namespace voiceman::testing {

// Shell-quotes one argument.
std::string quote(const std::string& s);
// Runs `sh -c cmd`; returns its exit status (128 + signal if killed), output captured
// (stdout and stderr together) when `output` is given.
int run_shell(const std::string& cmd, std::string* output = nullptr);
bool have_ffmpeg_cli();
// ffmpeg -i src <args> dst; throws std::runtime_error on failure.
void ffmpeg_convert(const std::filesystem::path& src, const std::filesystem::path& dst,
                    const std::string& args = "");

std::string read_bytes(const std::filesystem::path& path);
void write_bytes(const std::filesystem::path& path, const std::string& bytes);
// MD5 by the md5sum tool: an independent check of voiceman's own hashing.
std::string md5sum(const std::filesystem::path& path);

struct Clip {
  std::filesystem::path path;
  std::string relative_path;  // under the corpus root
};

// Short good recordings under `dir` (14 s of audio in all): an m4a, an mp3, an ogg in a
// subfolder and an m4a named in Korean with spaces and parentheses.
std::vector<Clip> make_good_clips(const std::filesystem::path& dir);

struct BadInput {
  std::string kind;  // zero bytes, not audio, truncated, no audio stream, ...
  std::filesystem::path path;
  std::string reason;  // what the failure message must say
};

// One file of each unusable kind under `dir`. The "unreadable" kinds are a dangling
// symlink and a FIFO named .wav: tests run as root, and root reads a chmod 000 file.
std::vector<BadInput> make_bad_inputs(const std::filesystem::path& dir);

// The voiceman binary of this build tree.
std::filesystem::path voiceman_binary();

}  // namespace voiceman::testing
