// Outputs are replaced atomically and a failed write leaves nothing behind.
#include "voiceman/writers/atomic_file.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "support/corpus.h"
#include "support/paths.h"
#include "voiceman/core/errors.h"

namespace voiceman::writers {
namespace {

namespace fs = std::filesystem;
using voiceman::testing::read_bytes;
using voiceman::testing::write_bytes;

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(AtomicFile, WritesCreatesFoldersAndReplaces) {
  const fs::path dir = voiceman::testing::scratch_dir("atomic_write");
  const fs::path target = dir / "a b" / "통화.m4a.json";
  write_file_atomic(target, "first");
  EXPECT_EQ(read_bytes(target), "first");
  write_file_atomic(target, std::string(3 << 20, 'x'));  // larger than one write() may take
  EXPECT_EQ(read_bytes(target), std::string(3 << 20, 'x'));
  EXPECT_EQ(names_in(dir / "a b"), std::vector<std::string>{"통화.m4a.json"});  // no temp left
  EXPECT_EQ(fs::status(target).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                fs::perms::others_read);
}

TEST(AtomicFile, FailedRenameRemovesTempAndKeepsTarget) {
  const fs::path dir = voiceman::testing::scratch_dir("atomic_rename_fails");
  // rename() cannot replace a non-empty folder with a file.
  write_bytes(dir / "out.json" / "keep.txt", "keep");
  try {
    write_file_atomic(dir / "out.json", "new content");
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("out.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("rename"), std::string::npos) << e.what();
  }
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"out.json"});
  EXPECT_EQ(read_bytes(dir / "out.json" / "keep.txt"), "keep");
}

// Korean names take three bytes a character: 80 of them and ".json" are 245 of the 255
// bytes a name may have, which the temporary file's marker must not push past.
TEST(AtomicFile, ALongNameThatFitsIsWrittenAndOneThatCannotIsNoIoError) {
  const fs::path dir = voiceman::testing::scratch_dir("atomic_long_name");
  std::string name;
  for (int i = 0; i < 80; ++i) name += "통";
  name += ".json";
  ASSERT_EQ(name.size(), 245u);
  write_file_atomic(dir / name, "fits");
  EXPECT_EQ(read_bytes(dir / name), "fits");
  EXPECT_EQ(names_in(dir), std::vector<std::string>{name});
  const std::string too_long = std::string(300, 'a') + ".json";
  try {
    write_file_atomic(dir / too_long, "x");
    FAIL() << "a 305-byte name was written";
  } catch (const IoError& e) {
    FAIL() << "retrying cannot mend a name too long: " << e.what();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(too_long), std::string::npos) << e.what();
  }
  EXPECT_EQ(names_in(dir), std::vector<std::string>{name});
}

// A set is replaced only once every member is written: until commit() the old files
// stand, and what was staged and not committed leaves no temporary file behind.
TEST(StagedFiles, NothingIsReplacedBeforeCommitAndEverythingAfter) {
  const fs::path dir = voiceman::testing::scratch_dir("staged_files");
  write_bytes(dir / "a.json", "old a");
  write_bytes(dir / "a.srt", "old srt");
  {
    StagedFiles files;
    files.stage(dir / "a.json", "new a");
    files.stage(dir / "a.srt", "new srt");
    EXPECT_EQ(read_bytes(dir / "a.json"), "old a");
    EXPECT_EQ(names_in(dir).size(), 4u);  // two temporaries beside the targets
  }                                       // abandoned
  EXPECT_EQ(names_in(dir), (std::vector<std::string>{"a.json", "a.srt"}));
  EXPECT_EQ(read_bytes(dir / "a.json"), "old a");
  EXPECT_EQ(read_bytes(dir / "a.srt"), "old srt");

  StagedFiles files;
  files.stage(dir / "a.json", "new a");
  files.stage(dir / "sub" / "a.txt", "new txt");
  files.commit();
  EXPECT_EQ(files.committed(), (std::vector<fs::path>{dir / "a.json", dir / "sub" / "a.txt"}));
  EXPECT_EQ(read_bytes(dir / "a.json"), "new a");
  EXPECT_EQ(read_bytes(dir / "sub" / "a.txt"), "new txt");
  EXPECT_EQ(names_in(dir), (std::vector<std::string>{"a.json", "a.srt", "sub"}));
}

// A rename that fails part-way says which files are already in place; the rest are
// neither in place nor left as temporaries.
TEST(StagedFiles, AFailedCommitListsWhatIsInPlace) {
  const fs::path dir = voiceman::testing::scratch_dir("staged_files_commit_fails");
  write_bytes(dir / "b.srt" / "keep.txt", "keep");  // rename() cannot replace this folder
  {
    StagedFiles files;
    files.stage(dir / "a.json", "new a");
    files.stage(dir / "b.srt", "new b");
    files.stage(dir / "c.txt", "new c");
    try {
      files.commit();
      FAIL() << "expected IoError";
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find("b.srt"), std::string::npos) << e.what();
    }
    EXPECT_EQ(files.committed(), std::vector<fs::path>{dir / "a.json"});
  }
  EXPECT_EQ(names_in(dir), (std::vector<std::string>{"a.json", "b.srt"}));
  EXPECT_EQ(read_bytes(dir / "b.srt" / "keep.txt"), "keep");
}

TEST(AtomicFile, UncreatableFolderIsAnIoError) {
  const fs::path dir = voiceman::testing::scratch_dir("atomic_bad_parent");
  write_bytes(dir / "file", "x");
  EXPECT_THROW(write_file_atomic(dir / "file" / "sub" / "out.txt", "y"), IoError);
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"file"});
}

TEST(AtomicFile, TempNamesAreRecognisedAndSwept) {
  EXPECT_TRUE(is_temp_file_name(".a.json.voiceman-tmp-Ab12Z9"));
  EXPECT_FALSE(is_temp_file_name("a.json.voiceman-tmp-Ab12Z9"));  // not hidden: not ours
  EXPECT_FALSE(is_temp_file_name(".a.json.voiceman-tmp-Ab1"));
  EXPECT_FALSE(is_temp_file_name(".hidden.json"));

  const fs::path dir = voiceman::testing::scratch_dir("atomic_sweep");
  write_bytes(dir / "x" / ".r.srt.voiceman-tmp-q1w2e3", "partial");
  write_bytes(dir / ".manifest.json.voiceman-tmp-000000", "partial");
  write_bytes(dir / "x" / "r.srt", "done");
  write_bytes(dir / "x" / ".keep", "unrelated");
  EXPECT_EQ(remove_stale_temp_files(dir), 2);
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"x"});
  EXPECT_EQ(names_in(dir / "x"), (std::vector<std::string>{".keep", "r.srt"}));
  EXPECT_EQ(remove_stale_temp_files(dir / "missing"), 0);
}

}  // namespace
}  // namespace voiceman::writers
