#include "support/corpus.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "support/paths.h"

namespace voiceman::testing {

namespace fs = std::filesystem;

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

int run_shell(const std::string& cmd, std::string* output) {
  FILE* pipe = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!pipe) return -1;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0)
    if (output) output->append(buf.data(), n);
  const int status = ::pclose(pipe);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

bool have_ffmpeg_cli() {
  static const bool present = run_shell("ffmpeg -version") == 0;
  return present;
}

void ffmpeg_convert(const fs::path& src, const fs::path& dst, const std::string& args) {
  fs::create_directories(dst.parent_path());
  std::string log;
  const std::string cmd = "ffmpeg -nostdin -v error -y -i " + quote(src.string()) + " " + args +
                          " " + quote(dst.string());
  if (run_shell(cmd, &log) != 0 || !fs::exists(dst))
    throw std::runtime_error("ffmpeg failed: " + cmd + "\n" + log);
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string md5sum(const fs::path& path) {
  std::string out;
  if (run_shell("md5sum " + quote(path.string()), &out) != 0)
    throw std::runtime_error("md5sum failed: " + out);
  return out.substr(0, 32);
}

std::vector<Clip> make_good_clips(const fs::path& dir) {
  const fs::path data = shared_data_dir();
  std::vector<Clip> clips = {
      {dir / "meeting" / "ES2011a headset.m4a", "meeting/ES2011a headset.m4a"},
      {dir / "common_voice.mp3", "common_voice.mp3"},
      {dir / "libri" / "1688-0002.ogg", "libri/1688-0002.ogg"},
      {dir / "통화 녹음 (1) é.m4a", "통화 녹음 (1) é.m4a"},
  };
  ffmpeg_convert(data / "lhotse" / "ES2011a.Headset-0-40s-46s.wav", clips[0].path, "-c:a aac");
  fs::copy_file(data / "lhotse" / "common_voice_en_651325.mp3", clips[1].path);
  ffmpeg_convert(data / "librispeech_test-other" / "1688" / "1688-142285-0002.flac", clips[2].path,
                 "-c:a libvorbis");
  ffmpeg_convert(data / "lhotse" / "common_voice_en_651325.mp3", clips[3].path, "-c:a aac");
  return clips;
}

std::vector<BadInput> make_bad_inputs(const fs::path& dir) {
  fs::create_directories(dir);
  std::vector<BadInput> bad;
  // A Korean name with a space: the message must still name the file.
  bad.push_back({"zero bytes", dir / "빈 녹음.m4a", "zero bytes"});
  write_bytes(bad.back().path, "");
  bad.push_back({"not audio", dir / "notes.mp3", "not audio"});
  write_bytes(bad.back().path, "Meeting notes, typed up afterwards.\nNot a recording.\n");
  bad.push_back({"truncated", dir / "cut short.m4a", "corrupt or truncated"});
  const fs::path whole = dir / "whole.tmp";
  ffmpeg_convert(shared_data_dir() / "jfk.flac", whole, "-f mp4 -c:a aac");
  const std::string bytes = read_bytes(whole);
  write_bytes(bad.back().path, bytes.substr(0, bytes.size() / 2));  // loses the moov index
  fs::remove(whole);
  bad.push_back({"no audio stream", dir / "screen capture.mp4", "no audio stream"});
  std::string log;
  if (run_shell("ffmpeg -nostdin -v error -y -f lavfi -i testsrc=duration=1:size=64x64:rate=10 "
                "-c:v mpeg4 " +
                    quote(bad.back().path.string()),
                &log) != 0)
    throw std::runtime_error("ffmpeg failed: " + log);
  bad.push_back({"dangling symlink", dir / "moved away.wav", "unreadable"});
  fs::create_symlink("no-such-recording.wav", bad.back().path);
  bad.push_back({"fifo", dir / "pipe.wav", "unreadable"});
  if (::mkfifo(bad.back().path.c_str(), 0644) != 0) throw std::runtime_error("mkfifo failed");
  bad.push_back({"symlink loop", dir / "loop.wav", "symlink loop"});
  fs::create_symlink("loop.wav", bad.back().path);
  return bad;
}

fs::path voiceman_binary() { return fs::path(VOICEMAN_BINARY_DIR) / "src" / "voiceman"; }

}  // namespace voiceman::testing
