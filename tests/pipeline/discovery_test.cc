// Input discovery: deterministic order, skips counted, symlinks handled safely, and OUT
// kept away from the originals.
#include "voiceman/pipeline/discovery.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "support/corpus.h"
#include "support/paths.h"
#include "voiceman/core/errors.h"

namespace voiceman::pipeline {
namespace {

namespace fs = std::filesystem;
using voiceman::testing::write_bytes;

std::vector<std::string> relative_paths(const Discovery& d) {
  std::vector<std::string> out;
  for (const DiscoveredInput& in : d.inputs) out.push_back(in.relative_path);
  return out;
}

std::string reason_for(const Discovery& d, const std::string& name) {
  for (const auto& s : d.skipped)
    if (fs::path(s.path).filename() == name) return s.reason;
  for (const auto& f : d.failures)
    if (fs::path(f.path).filename() == name) return "failed: " + f.error;
  return "";
}

class DiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = voiceman::testing::scratch_dir("discovery");
    root_ = base_ / "evidence";
    for (const char* name :
         {"b.wav", "a.MP3", "Z.m4a", "sub/deeper/x.flac", "sub/y.ogg", "통화 녹음 1.m4a",
          "notes.txt", ".hidden.wav", ".cache/inside.wav", "video.mp4"})
      write_bytes(root_ / name, "bytes");
  }
  fs::path base_, root_;
};

TEST_F(DiscoveryTest, DeterministicOrderAndCountedSkips) {
  const Discovery d = discover({root_.string()}, false);
  EXPECT_EQ(relative_paths(d),
            (std::vector<std::string>{"Z.m4a", "a.MP3", "b.wav", "sub/deeper/x.flac", "sub/y.ogg",
                                      "video.mp4", "통화 녹음 1.m4a"}));
  EXPECT_EQ(reason_for(d, "notes.txt"), "not a media file");
  EXPECT_EQ(reason_for(d, ".hidden.wav"), "hidden");
  EXPECT_EQ(reason_for(d, ".cache"), "hidden");  // a hidden folder counts once
  EXPECT_EQ(d.skipped.size(), 3u);
  EXPECT_TRUE(d.failures.empty());
  EXPECT_EQ(d.total_bytes, 7u * 5);
  for (const DiscoveredInput& in : d.inputs) {
    EXPECT_EQ(in.root, root_.string());
    EXPECT_EQ(in.path, (root_ / in.relative_path).string());
  }
  EXPECT_EQ(relative_paths(discover({root_.string()}, false)), relative_paths(d));
}

TEST_F(DiscoveryTest, FilesGivenDirectly) {
  const Discovery d =
      discover({(root_ / "notes.txt").string(), (root_ / "sub/y.ogg").string()}, false);
  // An explicitly named file is processed whatever its extension.
  EXPECT_EQ(relative_paths(d), (std::vector<std::string>{"notes.txt", "y.ogg"}));
  EXPECT_EQ(d.inputs[1].root, (root_ / "sub").string());
  EXPECT_THROW(discover({(root_ / "absent.wav").string()}, false), ConfigError);
}

TEST_F(DiscoveryTest, SymlinksOutsideLoopsAndDanglingLinks) {
  write_bytes(base_ / "elsewhere" / "outside.wav", "bytes");
  fs::create_symlink(base_ / "elsewhere" / "outside.wav", root_ / "link-out.wav");
  fs::create_symlink(base_ / "elsewhere", root_ / "dir-out");
  fs::create_symlink("b.wav", root_ / "link-in.wav");  // same file as b.wav
  fs::create_symlink("loop.wav", root_ / "loop.wav");  // ELOOP
  fs::create_symlink("..", root_ / "sub" / "up");      // back to an ancestor
  fs::create_symlink("gone.wav", root_ / "dangling.wav");
  fs::create_symlink("gone.txt", root_ / "dangling.txt");
  ASSERT_EQ(::mkfifo((root_ / "pipe.wav").c_str(), 0644), 0);

  const Discovery d = discover({root_.string()}, false);
  EXPECT_EQ(reason_for(d, "link-out.wav"), "symlink outside the input roots (not followed)");
  EXPECT_EQ(reason_for(d, "dir-out"), "symlink outside the input roots (not followed)");
  EXPECT_NE(reason_for(d, "link-in.wav").find("same file as"), std::string::npos);
  EXPECT_NE(reason_for(d, "loop.wav").find("symlink loop"), std::string::npos);
  EXPECT_NE(reason_for(d, "up").find("symlink loop (points back to"), std::string::npos);
  EXPECT_NE(reason_for(d, "dangling.wav").find("unreadable (dangling symlink)"), std::string::npos);
  EXPECT_EQ(reason_for(d, "dangling.txt"), "not a media file");
  EXPECT_NE(reason_for(d, "pipe.wav").find("unreadable (a FIFO)"), std::string::npos);
  EXPECT_EQ(d.inputs.size(), 7u);

  const Discovery followed = discover({root_.string()}, true);
  const auto rels = relative_paths(followed);
  EXPECT_NE(std::find(rels.begin(), rels.end(), "dir-out/outside.wav"), rels.end());
  EXPECT_EQ(std::find(rels.begin(), rels.end(), "link-out.wav"), rels.end());
  // Both links reach one file: it is processed once, under the first name in order.
  EXPECT_EQ(reason_for(followed, "link-out.wav"),
            "same file as " + (root_ / "dir-out" / "outside.wav").string());
  EXPECT_EQ(followed.inputs.size(), 8u);
}

TEST_F(DiscoveryTest, MediaExtensions) {
  for (const char* yes : {"a.m4a", "b.AAC", "c.mp3", "d.wav", "e.flac", "f.ogg", "g.opus", "h.mp4",
                          "i.mov", "j.webm", "dir.x/k.Mp3"})
    EXPECT_TRUE(is_media_file_name(yes)) << yes;
  for (const char* no : {"a.txt", "b", ".wav", "c.wav.bak", "d.json", "mp3"})
    EXPECT_FALSE(is_media_file_name(no)) << no;
}

TEST_F(DiscoveryTest, OutputsThatWouldCollideAreRefused) {
  write_bytes(base_ / "second" / "b.wav", "bytes");
  EXPECT_THROW(discover({root_.string(), (base_ / "second").string()}, false), ConfigError);
}

TEST_F(DiscoveryTest, OutInsideAnInputIsRefused) {
  const Discovery d = discover({root_.string()}, false);
  EXPECT_THROW(check_out_dir(root_ / "out", d), ConfigError);
  EXPECT_THROW(check_out_dir(root_, d), ConfigError);
  EXPECT_THROW(check_out_dir(root_ / "sub" / ".." / "new", d), ConfigError);
  EXPECT_THROW(check_out_dir(base_, d), ConfigError);  // the input would be inside OUT
  fs::create_symlink(root_ / "sub", base_ / "sneaky");
  EXPECT_THROW(check_out_dir(base_ / "sneaky" / "out", d), ConfigError);
  EXPECT_NO_THROW(check_out_dir(base_ / "out", d));
  EXPECT_FALSE(fs::exists(root_ / "out"));
  write_bytes(base_ / "a-file", "x");
  EXPECT_THROW(check_out_dir(base_ / "a-file", d), ConfigError);
}

TEST_F(DiscoveryTest, OutputPathsResolvingIntoAnInputAreRefused) {
  const Discovery d = discover({root_.string()}, false);
  fs::create_directories(base_ / "out");
  fs::create_symlink(root_ / "sub", base_ / "out" / "transcripts");
  EXPECT_THROW(check_output_path(base_ / "out" / "transcripts" / "y.ogg.json", d), IntegrityError);
  fs::create_symlink(root_ / "b.wav", base_ / "out" / "b.wav.txt");
  EXPECT_THROW(check_output_path(base_ / "out" / "b.wav.txt", d), IntegrityError);
  EXPECT_NO_THROW(check_output_path(base_ / "out" / "fine" / "b.wav.txt", d));
}

}  // namespace
}  // namespace voiceman::pipeline
