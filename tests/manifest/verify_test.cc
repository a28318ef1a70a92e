// verify() finds every kind of tampering against a hand-built custody record.
#include "voiceman/manifest/verify.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "support/corpus.h"
#include "support/paths.h"
#include "voiceman/core/errors.h"
#include "voiceman/manifest/manifest.h"

namespace voiceman::manifest {
namespace {

namespace fs = std::filesystem;
using voiceman::testing::read_bytes;
using voiceman::testing::write_bytes;

class Verify : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = voiceman::testing::scratch_dir("verify_unit");
    original_ = base_ / "evidence" / "통화 1.m4a";
    write_bytes(original_, "pretend this is AAC");
    out_ = base_ / "out";
    write_bytes(out_ / "transcripts" / "통화 1.m4a.txt", "Hello.\n");
    InputRecord r;
    r.path = original_.string();
    r.relative_path = "통화 1.m4a";
    r.root = (base_ / "evidence").string();
    r.before = r.after = hash_file(original_);
    r.status = InputStatus::ok;
    r.attempts = 1;
    r.outputs = {{"txt", "transcripts/통화 1.m4a.txt", sha256_hex("Hello.\n"), 7}};
    manifest_.status = "complete";
    manifest_.inputs = {r};
    write_manifest(out_, manifest_);
  }

  // Changes one byte in place and puts the mtime back, so only the content differs.
  static void flip_byte(const fs::path& path) {
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    std::string bytes = read_bytes(path);
    bytes[bytes.size() / 2] ^= 0x01;
    write_bytes(path, bytes);
    const struct timespec times[2] = {st.st_atim, st.st_mtim};
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  }

  static bool has(const VerifyReport& r, const std::string& kind, const std::string& detail) {
    for (const Difference& d : r.differences)
      if (d.kind == kind && d.detail.find(detail) != std::string::npos) return true;
    return false;
  }

  fs::path base_, original_, out_;
  Manifest manifest_;
};

TEST_F(Verify, PassesWhenNothingChanged) {
  const VerifyReport r = verify(out_);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.originals_checked, 1);
  EXPECT_EQ(r.outputs_checked, 1);
}

TEST_F(Verify, OneByteOfTheOriginal) {
  flip_byte(original_);
  const VerifyReport r = verify(out_);
  EXPECT_TRUE(has(r, "changed", "sha256 was")) << r.differences.size();
  EXPECT_TRUE(has(r, "changed", "md5 was"));
  EXPECT_FALSE(has(r, "changed", "mtime"));
}

TEST_F(Verify, TouchedOriginal) {
  fs::last_write_time(original_, fs::last_write_time(original_) + std::chrono::seconds(5));
  const VerifyReport r = verify(out_);
  ASSERT_EQ(r.differences.size(), 1u);
  EXPECT_TRUE(has(r, "changed", "mtime was"));
}

TEST_F(Verify, OneByteOfAnOutput) {
  flip_byte(out_ / "transcripts" / "통화 1.m4a.txt");
  const VerifyReport r = verify(out_);
  ASSERT_EQ(r.differences.size(), 1u);
  EXPECT_EQ(r.differences[0].kind, "changed");
}

TEST_F(Verify, MissingAndUnexpectedFiles) {
  fs::remove(original_);
  fs::remove(out_ / "transcripts" / "통화 1.m4a.txt");
  write_bytes(out_ / "transcripts" / "planted.txt", "not ours");
  const VerifyReport r = verify(out_);
  EXPECT_TRUE(has(r, "missing", "original no longer exists"));
  EXPECT_TRUE(has(r, "missing", "output no longer exists"));
  EXPECT_TRUE(has(r, "unexpected", "not in the manifest"));
}

TEST_F(Verify, UnfinishedRunOrNoManifest) {
  manifest_.status = "interrupted";
  write_manifest(out_, manifest_);
  EXPECT_TRUE(has(verify(out_), "incomplete", "did not finish"));
  fs::remove(out_ / kManifestFile);
  EXPECT_THROW(verify(out_), IntegrityError);
}

// Two workers of one shared job, each listing the other's recording as delegated.
class VerifyJob : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = voiceman::testing::scratch_dir("verify_job");
    a_ = base_ / "out-a";
    b_ = base_ / "out-b";
    write(a_, "case-7", {own("x.m4a", InputStatus::ok), delegated("y.mp3", b_, "failed")});
    write(b_, "case-7", {delegated("x.m4a", a_, "ok"), own("y.mp3", InputStatus::failed)});
  }
  static InputRecord own(const std::string& rel, InputStatus status) {
    InputRecord r;
    r.path = "/evidence/" + rel;
    r.relative_path = rel;
    r.status = status;
    return r;
  }
  static InputRecord delegated(const std::string& rel, const fs::path& worker_out,
                               const std::string& status) {
    InputRecord r = own(rel, InputStatus::delegated);
    r.worker = "host:" + worker_out.string();
    r.worker_status = status;
    return r;
  }
  static void write(const fs::path& out, const std::string& job, std::vector<InputRecord> inputs) {
    Manifest m;
    m.status = "complete";
    m.host.hostname = "host";
    m.out_dir = out.string();
    m.options = {{"job", {{"redis", "redis://q"}, {"name", job}, {"lease_s", 60}}}};
    m.inputs = std::move(inputs);
    write_manifest(out, m);
  }
  static bool has(const VerifyReport& r, const std::string& detail) {
    for (const Difference& d : r.differences)
      if (d.kind == "mismatch" && d.detail.find(detail) != std::string::npos) return true;
    return false;
  }
  fs::path base_, a_, b_;
};

TEST_F(VerifyJob, ChecksEachDelegatedRecordingInItsWorkersOut) {
  VerifyReport r = verify(std::vector<fs::path>{a_, b_});
  EXPECT_TRUE(r.ok()) << r.differences.front().detail;
  EXPECT_EQ(r.delegated_checked, 2);
  EXPECT_EQ(r.delegated_unchecked, 0);
  // Alone, an OUT cannot check what it delegated.
  r = verify(std::vector<fs::path>{a_});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.delegated_unchecked, 1);
}

TEST_F(VerifyJob, FindsAnOutcomeTheWorkerDoesNotHave) {
  write(b_, "case-7", {delegated("x.m4a", a_, "ok"), own("y.mp3", InputStatus::ok)});
  VerifyReport r = verify(std::vector<fs::path>{a_, b_});
  EXPECT_TRUE(has(r, "done by host:" + b_.string() + " (failed), whose manifest says ok"));
  write(b_, "case-7", {delegated("x.m4a", a_, "ok")});
  r = verify(std::vector<fs::path>{a_, b_});
  EXPECT_TRUE(has(r, "whose manifest says nothing"));
}

TEST_F(VerifyJob, RefusesOutsOfDifferentJobs) {
  write(b_, "case-8", {delegated("x.m4a", a_, "ok"), own("y.mp3", InputStatus::failed)});
  const VerifyReport r = verify(std::vector<fs::path>{a_, b_});
  EXPECT_TRUE(has(r, "not the workers of one job"));
}

}  // namespace
}  // namespace voiceman::manifest
