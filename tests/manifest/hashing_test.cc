// MD5 and SHA-256 in one streaming read, checked against known vectors and the coreutils
// tools; unreadable things fail with a reason instead of hanging or crashing.
#include "voiceman/manifest/hashing.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "support/corpus.h"
#include "support/paths.h"
#include "voiceman/core/errors.h"

namespace voiceman::manifest {
namespace {

namespace fs = std::filesystem;
using voiceman::testing::quote;
using voiceman::testing::run_shell;
using voiceman::testing::write_bytes;

template <typename E>
void expect_error(const fs::path& path, const std::string& reason) {
  try {
    hash_file(path);
    ADD_FAILURE() << "expected an error for " << path;
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(path.filename().string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << e.what();
  }
}

TEST(Hashing, KnownVectors) {
  const fs::path dir = voiceman::testing::scratch_dir("hash_vectors");
  write_bytes(dir / "abc", "abc");
  const FileDigest d = hash_file(dir / "abc");
  EXPECT_EQ(d.md5, "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(d.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(d.size, 3u);
  write_bytes(dir / "empty", "");
  EXPECT_EQ(hash_file(dir / "empty").sha256,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), d.sha256);
}

TEST(Hashing, ManyChunksMatchCoreutils) {
  const fs::path path = voiceman::testing::scratch_dir("hash_chunks") / "big recording.bin";
  std::string bytes((3 << 20) + 7, '\0');  // spans four 1 MiB reads
  uint32_t state = 7;
  for (char& c : bytes) c = static_cast<char>((state = state * 1103515245u + 12345u) >> 24);
  write_bytes(path, bytes);
  const FileDigest d = hash_file(path);
  std::string sha;
  ASSERT_EQ(run_shell("sha256sum " + quote(path.string()), &sha), 0);
  EXPECT_EQ(d.sha256, sha.substr(0, 64));
  EXPECT_EQ(d.md5, voiceman::testing::md5sum(path));
  EXPECT_EQ(d.size, bytes.size());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(d.mtime_ns, static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec);
}

TEST(Hashing, LeavesTimestampsAlone) {
  const fs::path path = voiceman::testing::scratch_dir("hash_atime") / "original.wav";
  write_bytes(path, "RIFF evidence bytes");
  const struct timespec times[2] = {{1000000000, 5}, {1100000000, 7}};  // atime, mtime
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  hash_file(path);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1100000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 7);
  // O_NOATIME applies to the file's owner (the test's user here).
  EXPECT_EQ(st.st_atim.tv_sec, 1000000000);
  EXPECT_EQ(format_mtime(1100000000LL * 1000000000 + 7), "2004-11-09T11:33:20.000000007Z");
}

TEST(Hashing, UnreadableThingsFailWithAReason) {
  const fs::path dir = voiceman::testing::scratch_dir("hash_unreadable");
  expect_error<MediaError>(dir / "missing.wav", "unreadable");
  fs::create_directories(dir / "folder.wav");
  expect_error<MediaError>(dir / "folder.wav", "not a regular file");
  ASSERT_EQ(::mkfifo((dir / "pipe.wav").c_str(), 0644), 0);
  expect_error<MediaError>(dir / "pipe.wav", "not a regular file");  // must not block
  fs::create_symlink("loop.wav", dir / "loop.wav");
  expect_error<MediaError>(dir / "loop.wav", "symlink loop");
}

}  // namespace
}  // namespace voiceman::manifest
