// End to end through the library: good and bad recordings together, originals untouched,
// the custody record complete, integrity violations caught, resume and stop.
#include "voiceman/pipeline/run.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <map>

#include "run_fixture.h"
#include "voiceman/core/errors.h"
#include "voiceman/engine/primitives/cpu_primitives.h"
#include "voiceman/manifest/verify.h"
#include "voiceman/metrics/batch_metrics.h"

namespace voiceman::pipeline::test {
namespace {

using voiceman::testing::read_bytes;
using voiceman::testing::write_bytes;

struct Snapshot {
  std::string md5;
  uint64_t size;
  int64_t mtime_ns;
  bool operator==(const Snapshot&) const = default;
};

// Taken with coreutils and stat(2), independently of voiceman's own hashing.
Snapshot snapshot(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return {voiceman::testing::md5sum(p), static_cast<uint64_t>(st.st_size),
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

class RunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!engine_available()) GTEST_SKIP() << "needs models/tiny.en and the ffmpeg CLI";
  }
};

TEST_F(RunTest, BadInputsAreRecordedWhileGoodOnesFinishAndOriginalsStayUntouched) {
  const fs::path base = voiceman::testing::scratch_dir("run_good_and_bad");
  const fs::path in = base / "evidence";
  const auto good = voiceman::testing::make_good_clips(in);
  const auto bad = voiceman::testing::make_bad_inputs(in / "bad");
  std::map<fs::path, Snapshot> before;
  for (const auto& c : good) before[c.path] = snapshot(c.path);
  std::error_code ec;
  for (const auto& b : bad)
    if (fs::is_regular_file(b.path, ec)) before[b.path] = snapshot(b.path);

  const fs::path out = base / "out";
  RunOptions o = fast_options({in.string()}, out);
  o.workers = 2;
  const RunReport r = run_quietly(o);
  EXPECT_EQ(r.ok, static_cast<int>(good.size()));
  EXPECT_EQ(r.failed, static_cast<int>(bad.size()));
  EXPECT_EQ(r.integrity_violations, 0);
  EXPECT_FALSE(r.interrupted);
  EXPECT_GT(r.audio_s, 13.0);

  for (const auto& [path, snap] : before) EXPECT_EQ(snapshot(path), snap) << path;

  // failed_files.json: one entry per bad input, naming it and the reason.
  const auto failed = nlohmann::json::parse(read_bytes(out / "failed_files.json"));
  ASSERT_EQ(failed.size(), bad.size());
  for (const auto& b : bad) {
    SCOPED_TRACE(b.kind);
    const auto it = std::find_if(failed.begin(), failed.end(),
                                 [&](const auto& e) { return e["path"] == b.path.string(); });
    ASSERT_NE(it, failed.end());
    const std::string error = (*it)["error"];
    EXPECT_NE(error.find(b.path.filename().string()), std::string::npos) << error;
    EXPECT_NE(error.find(b.reason), std::string::npos) << error;
    EXPECT_EQ((*it)["error_class"], "permanent");
    EXPECT_EQ((*it)["attempts"], 1);
    EXPECT_EQ(it->contains("sha256"), fs::is_regular_file(b.path, ec));
  }

  const manifest::Manifest m = manifest::read_manifest(out);
  EXPECT_EQ(m.status, "complete");
  EXPECT_EQ(m.inputs.size(), good.size() + bad.size());
  EXPECT_EQ(m.options["transcribe"]["beam_size"], 1);
  EXPECT_EQ(m.options["device_effective"], "cpu");
  EXPECT_FALSE(m.options.contains("device_fallback")) << "the CPU was asked for";
  // Which GEMM library ran is part of the record (int8 words can depend on it).
  const std::string gemm = m.options["cpu_gemm_library"];
  EXPECT_EQ(gemm, primitives::cpu::gemm_library());
  EXPECT_TRUE(gemm.starts_with("oneDNN ") || gemm.starts_with("OpenBLAS") || gemm == "built-in")
      << gemm;
  // The CPU's default compute type quantises to int8, whose GEMM is named too.
  EXPECT_EQ(m.options.value("cpu_int8_gemm_library", ""), primitives::cpu::int8_gemm_library());
  EXPECT_EQ(m.model.name, "tiny.en");
  EXPECT_FALSE(m.tool_version.empty());
  EXPECT_FALSE(m.host.hostname.empty());
  for (const auto& c : good) {
    SCOPED_TRACE(c.relative_path);
    const manifest::InputRecord* rec = find_input(m, c.relative_path);
    ASSERT_NE(rec, nullptr);
    EXPECT_EQ(rec->status, manifest::InputStatus::ok);
    EXPECT_EQ(rec->before->md5, before[c.path].md5);
    EXPECT_EQ(*rec->before, *rec->after);
    ASSERT_EQ(rec->outputs.size(), 4u);
    for (const auto& o : rec->outputs) {
      EXPECT_EQ(o.path, "transcripts/" + c.relative_path + "." + o.format);
      EXPECT_EQ(manifest::sha256_hex(read_bytes(out / o.path)), o.sha256);
    }
    const auto doc =
        nlohmann::json::parse(read_bytes(out / "transcripts" / (c.relative_path + ".json")));
    EXPECT_EQ(doc["audio"]["md5"], before[c.path].md5);
    EXPECT_EQ(doc["audio"]["path"], c.path.string());
    ASSERT_FALSE(doc["segments"].empty());
    EXPECT_FALSE(doc["segments"][0]["words"].empty());
    EXPECT_FALSE(read_bytes(out / "transcripts" / (c.relative_path + ".txt")).empty());
  }
  EXPECT_NE(read_bytes(out / "transcripts" / "common_voice.mp3.txt").find("vote"),
            std::string::npos);

  // The custody record checks out, and stops checking out after one changed byte.
  EXPECT_TRUE(manifest::verify(out).ok());
  std::string bytes = read_bytes(good[1].path);
  bytes[bytes.size() / 2] ^= 0x10;
  write_bytes(good[1].path, bytes);
  const manifest::VerifyReport v = manifest::verify(out);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.differences[0].path, good[1].path.string());
}

TEST_F(RunTest, OriginalChangedDuringProcessingIsAnIntegrityViolation) {
  const fs::path base = voiceman::testing::scratch_dir("run_integrity");
  const auto clips = voiceman::testing::make_good_clips(base / "in");
  const fs::path out = base / "out";
  Hooks hooks;
  bool tampered = false;
  hooks.transcribe_start = [&](const std::vector<std::string>& names) {
    // Hashed and decoded already: a change now must be caught by the second hash.
    if (tampered || names.empty()) return;
    std::ofstream(base / "in" / names[0], std::ios::app) << "x";
    tampered = true;
  };
  LogCapture log;
  const RunReport r = run_quietly(fast_options({(base / "in").string()}, out), &hooks);
  ASSERT_TRUE(tampered);
  EXPECT_EQ(r.integrity_violations, 1);
  EXPECT_EQ(r.ok, static_cast<int>(clips.size()) - 1);
  EXPECT_TRUE(log.contains("INTEGRITY VIOLATION"));

  const manifest::Manifest m = manifest::read_manifest(out);
  const auto violated = std::find_if(m.inputs.begin(), m.inputs.end(), [](const auto& rec) {
    return rec.status == manifest::InputStatus::integrity_violation;
  });
  ASSERT_NE(violated, m.inputs.end());
  EXPECT_EQ(violated->error_class, manifest::ErrorClass::integrity);
  EXPECT_EQ(violated->after->size, violated->before->size + 1);
  EXPECT_TRUE(violated->outputs.empty());
  EXPECT_FALSE(fs::exists(out / "transcripts" / (violated->relative_path + ".json")));
  // The original now matches its last digest, but the record of the change stands.
  const manifest::VerifyReport v = manifest::verify(out);
  ASSERT_EQ(v.differences.size(), 1u);
  EXPECT_EQ(v.differences[0].kind, "violated");
  EXPECT_EQ(v.differences[0].path, violated->path);
  EXPECT_NE(v.differences[0].detail.find(violated->before->sha256), std::string::npos);

  // The same command again, as after any failure: the violation stands rather than being
  // transcribed over; only a fresh start (--no-resume) transcribes the file again.
  const RunReport again = run_quietly(fast_options({(base / "in").string()}, out));
  EXPECT_EQ(again.integrity_violations, 1);
  EXPECT_EQ(again.resumed, static_cast<int>(clips.size()) - 1);
  EXPECT_EQ(manifest::verify(out).differences.size(), 1u);
  RunOptions fresh = fast_options({(base / "in").string()}, out);
  fresh.resume = false;
  const RunReport over = run_quietly(fresh);
  EXPECT_EQ(over.integrity_violations, 0);
  EXPECT_EQ(over.ok, static_cast<int>(clips.size()));
  EXPECT_TRUE(manifest::verify(out).ok());
}

TEST_F(RunTest, AnOriginalChangedBetweenRunsKeepsItsRecordAndTranscripts) {
  const fs::path base = voiceman::testing::scratch_dir("run_changed_between");
  const auto clips = voiceman::testing::make_good_clips(base / "in");
  const fs::path out = base / "out";
  const RunOptions o = fast_options({(base / "in").string()}, out);
  EXPECT_EQ(run_quietly(o).ok, static_cast<int>(clips.size()));
  const manifest::Manifest first = manifest::read_manifest(out);
  const voiceman::testing::Clip& changed = clips[1];
  const auto was = std::find_if(first.inputs.begin(), first.inputs.end(), [&](const auto& rec) {
    return rec.relative_path == changed.relative_path;
  });
  ASSERT_NE(was, first.inputs.end());
  const std::string json = read_bytes(out / "transcripts" / (changed.relative_path + ".json"));
  std::ofstream(changed.path, std::ios::app) << "x";

  LogCapture log;
  const RunReport r = run_quietly(o);
  EXPECT_EQ(r.integrity_violations, 1);
  EXPECT_EQ(r.resumed, static_cast<int>(clips.size()) - 1);
  EXPECT_TRUE(log.contains("INTEGRITY VIOLATION"));
  EXPECT_EQ(read_bytes(out / "transcripts" / (changed.relative_path + ".json")), json);
  const manifest::Manifest m = manifest::read_manifest(out);
  const auto rec = std::find_if(m.inputs.begin(), m.inputs.end(), [&](const auto& x) {
    return x.relative_path == changed.relative_path;
  });
  ASSERT_NE(rec, m.inputs.end());
  EXPECT_EQ(rec->status, manifest::InputStatus::integrity_violation);
  EXPECT_EQ(rec->before->sha256, was->before->sha256);  // the digest it was transcribed at
  EXPECT_EQ(rec->after->size, was->before->size + 1);
  EXPECT_EQ(rec->outputs.size(), was->outputs.size());  // still listed, still checked
  const manifest::VerifyReport v = manifest::verify(out);
  ASSERT_FALSE(v.ok());
  for (const auto& d : v.differences) EXPECT_EQ(d.path, changed.path.string()) << d.detail;
}

TEST_F(RunTest, ResumeSkipsFinishedInputsAndRedoesDamagedOnes) {
  const fs::path base = voiceman::testing::scratch_dir("run_resume");
  const fs::path in = base / "in";
  fs::create_directories(in);
  fs::copy_file(voiceman::testing::shared_data_dir() / "lhotse" / "common_voice_en_651325.mp3",
                in / "a.mp3");
  voiceman::testing::ffmpeg_convert(
      voiceman::testing::shared_data_dir() / "librispeech_test-other/2414/2414-128291-0009.flac",
      in / "b.m4a", "-c:a aac");
  const fs::path out = base / "out";
  const RunOptions o = fast_options({in.string()}, out);
  EXPECT_EQ(run_quietly(o).ok, 2);
  const std::string srt = read_bytes(out / "transcripts/b.m4a.srt");

  RunReport again = run_quietly(o);
  EXPECT_EQ(again.ok, 2);
  EXPECT_EQ(again.resumed, 2);
  EXPECT_EQ(again.audio_s, 0);

  // A damaged output and a partial file from a killed run: one input is redone, the
  // partial file swept.
  write_bytes(out / "transcripts/b.m4a.srt", "garbage");
  write_bytes(out / "transcripts/.a.mp3.json.voiceman-tmp-Zx81Qa", "{\"trunc");
  again = run_quietly(o);
  EXPECT_EQ(again.resumed, 1);
  EXPECT_EQ(read_bytes(out / "transcripts/b.m4a.srt"), srt);
  EXPECT_FALSE(fs::exists(out / "transcripts/.a.mp3.json.voiceman-tmp-Zx81Qa"));
  EXPECT_TRUE(manifest::verify(out).ok());

  // Another day's recorder names its files the same: its a.mp3 would replace this one's
  // transcripts, and the manifest would lose this one's record.
  const fs::path day2 = base / "day2";
  fs::create_directories(day2);
  fs::copy_file(voiceman::testing::shared_data_dir() / "sample.wav", day2 / "a.mp3");
  const std::string json = read_bytes(out / "transcripts/a.mp3.json");
  try {
    run_quietly(fast_options({day2.string()}, out));
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find((in / "a.mp3").string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find((day2 / "a.mp3").string()), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_bytes(out / "transcripts/a.mp3.json"), json);
  EXPECT_TRUE(manifest::verify(out).ok());

  RunOptions other = o;
  other.transcribe.beam_size = 2;
  try {
    run_quietly(other);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("beam_size"), std::string::npos) << e.what();
  }
  other.resume = false;
  again = run_quietly(other);
  EXPECT_EQ(again.ok, 2);
  EXPECT_EQ(again.resumed, 0);
  EXPECT_EQ(manifest::read_manifest(out).options["transcribe"]["beam_size"], 2);
}

TEST_F(RunTest, StopFinishesTheBatchAndLeavesAResumableState) {
  const fs::path base = voiceman::testing::scratch_dir("run_stop");
  const auto clips = voiceman::testing::make_good_clips(base / "in");
  const fs::path out = base / "out";
  RunOptions o = fast_options({(base / "in").string()}, out);
  o.transcribe.batch_windows = 1;  // one recording per batch (sequential mode)
  o.batch.initial = 1;             // one chunk per batch (batched mode)
  o.engines_per_device = 1;        // one batch in flight (two engines: see below)
  Hooks hooks;
  std::atomic<bool> stop{false};
  hooks.input_done = [&](const InputEvent&) { stop = true; };
  const RunReport r = run(o, hooks, stop);
  EXPECT_TRUE(r.interrupted);
  EXPECT_EQ(r.ok, 1);
  EXPECT_EQ(r.pending, static_cast<int>(clips.size()) - 1);
  const manifest::Manifest m = manifest::read_manifest(out);
  EXPECT_EQ(m.status, "interrupted");
  EXPECT_FALSE(manifest::verify(out).ok());  // an unfinished run does not verify
  // The report counts the files the stop left, and names where each file ran.
  const auto report = nlohmann::json::parse(read_bytes(out / "performance_report.json"));
  EXPECT_EQ(report["total_files"], clips.size());
  EXPECT_EQ(report["not_processed"], clips.size() - 1);
  EXPECT_EQ(report["files"].at(0)["device"], "cpu");
  const size_t first_batches = metrics::read_metrics_jsonl(out / "metrics.jsonl").size();
  ASSERT_GE(first_batches, 1u);

  const RunReport rest = run_quietly(o);
  EXPECT_FALSE(rest.interrupted);
  EXPECT_EQ(rest.ok, static_cast<int>(clips.size()));
  EXPECT_EQ(rest.resumed, 1);
  EXPECT_TRUE(manifest::verify(out).ok());
  // The resumed run's batches follow the first run's, numbered on from them.
  const auto batches = metrics::read_metrics_jsonl(out / "metrics.jsonl");
  ASSERT_GT(batches.size(), first_batches);
  for (size_t i = 0; i < batches.size(); ++i) EXPECT_EQ(batches[i].batch_id, i);
  EXPECT_NE(batches.front().run_started_utc, "");
}

// With two engines, a stop lets the other engine's batch finish too: at most two
// recordings are done, none is half-written, and the rest resumes.
TEST_F(RunTest, StopWithTwoEnginesFinishesTheBatchesInFlight) {
  const fs::path base = voiceman::testing::scratch_dir("run_stop_two");
  const auto clips = voiceman::testing::make_good_clips(base / "in");
  const fs::path out = base / "out";
  RunOptions o = fast_options({(base / "in").string()}, out);
  o.batch.initial = 1;
  o.engines_per_device = 2;
  Hooks hooks;
  std::atomic<bool> stop{false};
  hooks.input_done = [&](const InputEvent&) { stop = true; };
  const RunReport r = run(o, hooks, stop);
  EXPECT_TRUE(r.interrupted);
  EXPECT_GE(r.ok, 1);
  EXPECT_LE(r.ok, 2);
  EXPECT_EQ(r.ok + r.pending, static_cast<int>(clips.size()));
  const manifest::Manifest m = manifest::read_manifest(out);
  EXPECT_EQ(m.status, "interrupted");
  const RunReport rest = run_quietly(o);
  EXPECT_FALSE(rest.interrupted);
  EXPECT_EQ(rest.ok, static_cast<int>(clips.size()));
  EXPECT_EQ(rest.resumed, r.ok);
  EXPECT_TRUE(manifest::verify(out).ok());
}

TEST_F(RunTest, OnlyTheRequestedFormatsAndChannel) {
  const fs::path base = voiceman::testing::scratch_dir("run_formats");
  fs::create_directories(base / "in");
  fs::copy_file(voiceman::testing::shared_data_dir() / "jfk.flac", base / "in" / "jfk.flac");
  RunOptions o = fast_options({(base / "in").string()}, base / "out");
  o.formats = {writers::Format::txt, writers::Format::vtt};
  o.channel = 1;  // jfk.flac is stereo
  o.transcribe.word_timestamps = false;
  ASSERT_EQ(run_quietly(o).ok, 1);
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(base / "out" / "transcripts"))
    files.push_back(e.path().filename().string());
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"jfk.flac.txt", "jfk.flac.vtt"}));
  EXPECT_NE(read_bytes(base / "out/transcripts/jfk.flac.txt").find("ask not what your country"),
            std::string::npos);
  const manifest::Manifest m = manifest::read_manifest(base / "out");
  EXPECT_EQ(m.options["channel"], 1);
  EXPECT_EQ(m.options["formats"], nlohmann::ordered_json::array({"txt", "vtt"}));
  EXPECT_EQ(m.options["transcribe"]["word_timestamps"], false);

  o.out_dir = (base / "out3").string();
  o.channel = 2;  // there is no third channel
  const RunReport r = run_quietly(o);
  EXPECT_EQ(r.failed, 1);
  EXPECT_NE(manifest::read_manifest(base / "out3").inputs.at(0).error.find("channel 2"),
            std::string::npos);
}

TEST_F(RunTest, OutInsideAnInputIsRefusedBeforeAnythingIsWritten) {
  const fs::path base = voiceman::testing::scratch_dir("run_refuse_out");
  voiceman::testing::make_good_clips(base / "in");
  EXPECT_THROW(run_quietly(fast_options({(base / "in").string()}, base / "in" / "out")),
               ConfigError);
  EXPECT_FALSE(fs::exists(base / "in" / "out"));
}

// A failure that ends the whole run (here a VAD model that cannot be loaded, found only
// after the first manifest was written) leaves the manifest saying so, not "running";
// the same command with a usable model then completes the run.
TEST_F(RunTest, ARunThatCannotGoOnLeavesAnAbortedManifestThatResumes) {
  const fs::path base = voiceman::testing::scratch_dir("run_aborted");
  const auto clips = voiceman::testing::make_good_clips(base / "in");
  const fs::path out = base / "out";
  const fs::path broken_vad = base / "broken_vad.onnx";
  write_bytes(broken_vad, "not an onnx model");
  RunOptions o = fast_options({(base / "in").string()}, out);
  o.vad_model = broken_vad.string();
  EXPECT_THROW(run_quietly(o), ModelError);

  const manifest::Manifest m = manifest::read_manifest(out);
  EXPECT_EQ(m.status, "aborted");
  EXPECT_NE(m.error.find("broken_vad.onnx"), std::string::npos) << m.error;
  EXPECT_FALSE(m.finished_utc.empty());
  EXPECT_EQ(m.inputs.size(), clips.size());
  const manifest::VerifyReport v = manifest::verify(out);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.differences.front().detail.find("status aborted: "), std::string::npos)
      << v.differences.front().detail;

  o.vad_model = fast_options({}, out).vad_model;
  const RunReport r = run_quietly(o);
  EXPECT_EQ(r.ok, static_cast<int>(clips.size()));
  const manifest::Manifest done = manifest::read_manifest(out);
  EXPECT_EQ(done.status, "complete");
  EXPECT_TRUE(done.error.empty());
  EXPECT_TRUE(manifest::verify(out).ok());
}

// A report that cannot be written is logged; the run, its transcripts and its manifest
// are complete all the same.
TEST_F(RunTest, AReportThatCannotBeWrittenLeavesTheRunComplete) {
  const fs::path base = voiceman::testing::scratch_dir("run_report_unwritable");
  const auto clips = voiceman::testing::make_good_clips(base / "in");
  const fs::path out = base / "out";
  write_bytes(out / "report.html" / "keep.txt", "a folder where the report goes");
  LogCapture log;
  const RunReport r = run_quietly(fast_options({(base / "in").string()}, out));
  EXPECT_EQ(r.ok, static_cast<int>(clips.size()));
  EXPECT_TRUE(r.summary.empty());
  EXPECT_TRUE(log.contains("could not write the performance report"));
  EXPECT_EQ(manifest::read_manifest(out).status, "complete");
}

// Over the RAM cap no new work starts, in either mode: a cap below what the loaded model
// alone takes is crossed at the first reading, taken before the first batch. The files
// stay pending and the run resumes once the cap allows.
TEST_F(RunTest, OverTheRamCapNoWorkStartsAndTheRunResumes) {
  for (const RunMode mode : {RunMode::batched, RunMode::sequential}) {
    const std::string name = mode == RunMode::batched ? "batched" : "sequential";
    SCOPED_TRACE(name);
    const fs::path base = voiceman::testing::scratch_dir("run_ram_cap_" + name);
    const auto clips = voiceman::testing::make_good_clips(base / "in");
    const fs::path out = base / "out";
    RunOptions o = fast_options({(base / "in").string()}, out);
    o.mode = mode;
    o.governor.ram_cap_fraction = 1e-5;
    const RunReport r = run_quietly(o);
    EXPECT_TRUE(r.interrupted);
    EXPECT_EQ(r.ok, 0);
    EXPECT_EQ(r.pending, static_cast<int>(clips.size()));
    EXPECT_NE(r.stop_reason.find("over the cap"), std::string::npos) << r.stop_reason;
    EXPECT_EQ(manifest::read_manifest(out).status, "interrupted");

    o.governor = {};
    const RunReport rest = run_quietly(o);
    EXPECT_FALSE(rest.interrupted);
    EXPECT_TRUE(rest.stop_reason.empty());
    EXPECT_EQ(rest.ok, static_cast<int>(clips.size()));
    EXPECT_TRUE(manifest::verify(out).ok());
  }
}

// A recording cut off in the middle is transcribed as far as it decodes, and its manifest
// record says so; the warning survives a resumed run, which takes the record as it was.
TEST_F(RunTest, ARecordingThatDecodesOnlyInPartIsMarkedInTheManifest) {
  const fs::path base = voiceman::testing::scratch_dir("run_partial_decode");
  const fs::path whole = base / "whole.flac";
  voiceman::testing::ffmpeg_convert(voiceman::testing::shared_data_dir() / "jfk.flac", whole,
                                    "-c:a flac");
  const std::string bytes = read_bytes(whole);
  write_bytes(base / "in" / "cut.flac", bytes.substr(0, bytes.size() / 2));
  voiceman::testing::ffmpeg_convert(voiceman::testing::shared_data_dir() / "jfk.flac",
                                    base / "in" / "whole.m4a", "-c:a aac");
  const fs::path out = base / "out";
  const RunOptions o = fast_options({(base / "in").string()}, out);
  for (const bool resumed : {false, true}) {
    SCOPED_TRACE(resumed ? "resumed" : "first run");
    const RunReport r = run_quietly(o);
    EXPECT_EQ(r.ok, 2);
    EXPECT_EQ(r.resumed, resumed ? 2 : 0);
    EXPECT_EQ(r.with_warnings, 1);
    const manifest::Manifest m = manifest::read_manifest(out);
    const manifest::InputRecord* cut = find_input(m, "cut.flac");
    ASSERT_NE(cut, nullptr);
    EXPECT_EQ(cut->status, manifest::InputStatus::ok);
    EXPECT_LT(cut->audio_s, 8.0);
    ASSERT_EQ(cut->warnings.size(), 1u);
    EXPECT_NE(cut->warnings[0].find("the container declares"), std::string::npos)
        << cut->warnings[0];
    EXPECT_TRUE(find_input(m, "whole.m4a")->warnings.empty());
    EXPECT_NE(read_bytes(out / manifest::kManifestFile).find("\"warnings\": ["), std::string::npos);
  }
}

}  // namespace
}  // namespace voiceman::pipeline::test
