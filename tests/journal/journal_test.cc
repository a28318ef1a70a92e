// The resume journal stores records durably, replaces them by path, and refuses a
// second concurrent run on the same OUT.
#include "voiceman/journal/journal.h"

#include <gtest/gtest.h>

#include "support/paths.h"
#include "voiceman/core/errors.h"

namespace voiceman::journal {
namespace {

manifest::InputRecord record(const std::string& path, manifest::InputStatus status) {
  manifest::InputRecord r;
  r.path = path;
  r.relative_path = path.substr(1);
  r.root = "/evidence";
  r.status = status;
  r.attempts = 2;
  r.before = manifest::FileDigest{5, 1, "m", "s-" + path};
  r.outputs = {{"srt", "transcripts/x.srt", "abc", 3}};
  return r;
}

TEST(Journal, StoresReplacesAndSurvivesReopening) {
  const auto out = voiceman::testing::scratch_dir("journal_basic") / "OUT";
  {
    Journal j(out);  // creates OUT
    EXPECT_TRUE(j.load().empty());
    EXPECT_FALSE(j.meta("settings").has_value());
    j.set_meta("settings", "{\"beam\":5}");
    j.record(record("/a 통화.m4a", manifest::InputStatus::failed));
    j.record(record("/b.wav", manifest::InputStatus::ok));
    j.record(record("/a 통화.m4a", manifest::InputStatus::ok));  // replaces, no duplicate
  }
  Journal j(out);
  EXPECT_EQ(j.meta("settings"), "{\"beam\":5}");
  const auto rows = j.load();
  ASSERT_EQ(rows.size(), 2u);
  const manifest::InputRecord& a = rows.at("/a 통화.m4a");
  EXPECT_EQ(a.status, manifest::InputStatus::ok);
  EXPECT_EQ(a.attempts, 2);
  EXPECT_EQ(a.before->sha256, "s-/a 통화.m4a");
  EXPECT_EQ(a.outputs.at(0).format, "srt");
  j.clear();
  EXPECT_TRUE(j.load().empty());
  EXPECT_EQ(j.meta("settings"), "{\"beam\":5}");
}

TEST(Journal, OneRunPerOutFolder) {
  const auto out = voiceman::testing::scratch_dir("journal_lock");
  auto first = std::make_unique<Journal>(out);
  EXPECT_THROW(Journal second(out), ConfigError);
  first.reset();
  EXPECT_NO_THROW(Journal third(out));
}

}  // namespace
}  // namespace voiceman::journal
