// The manifest's schema round-trips, rejects what it does not know, and failed_files.json
// lists exactly the failed inputs.
#include "voiceman/manifest/manifest.h"

#include <gtest/gtest.h>

#include "support/corpus.h"
#include "support/paths.h"
#include "voiceman/core/errors.h"

namespace voiceman::manifest {
namespace {

namespace fs = std::filesystem;

InputRecord record(const std::string& name, InputStatus status) {
  InputRecord r;
  r.path = "/evidence/" + name;
  r.relative_path = name;
  r.root = "/evidence";
  r.status = status;
  r.attempts = 1;
  if (status != InputStatus::pending)
    r.before = FileDigest{10, 1700000000123456789, "m" + name, "s" + name};
  if (status == InputStatus::ok) {
    r.after = r.before;
    r.outputs = {{"json", "transcripts/" + name + ".json", "abc", 42}};
    r.audio_s = 6.25;
    r.transcribed_on = {{"cuda:0", "float16"}, {"cpu", "int8"}};  // moved to the CPU midway
  } else if (status != InputStatus::pending) {
    r.stage = "decode";
    r.error = r.path + ": not audio";
    r.error_class = ErrorClass::permanent;
  }
  return r;
}

Manifest sample() {
  Manifest m;
  m.tool_version = "0.1.0";
  m.tool_commit = "abc123";
  m.model = {"tiny.en", "/models/tiny.en", {{"model.bin", "11"}, {"config.json", "22"}}};
  m.options = {{"beam_size", 5}, {"language", nullptr}};
  m.host = {"box", "Linux 6.1", "x86_64", 8};
  m.out_dir = "/out";
  m.started_utc = "2024-05-01T10:00:00Z";
  m.finished_utc = "2024-05-01T10:05:00Z";
  m.status = "complete";
  m.inputs = {record("a.m4a", InputStatus::ok), record("통화 b.mp3", InputStatus::failed),
              record("c.wav", InputStatus::pending)};
  m.skipped = {{"/evidence/.DS_Store", "hidden"}};
  return m;
}

TEST(Manifest, RoundTripsThroughJson) {
  const Manifest m = sample();
  const nlohmann::ordered_json j = to_json(m);
  EXPECT_EQ(j["schema"], kSchemaName);
  EXPECT_EQ(j["schema_version"], kSchemaVersion);
  EXPECT_EQ(j["summary"]["ok"], 1);
  EXPECT_EQ(j["summary"]["failed"], 1);
  EXPECT_EQ(j["summary"]["pending"], 1);
  EXPECT_EQ(j["inputs"][0]["before"]["mtime"], "2023-11-14T22:13:20.123456789Z");
  EXPECT_FALSE(j["inputs"][0].contains("error"));
  EXPECT_EQ(j["inputs"][1]["error_class"], "permanent");
  EXPECT_EQ(j["inputs"][0]["transcribed_on"][1],
            nlohmann::ordered_json({{"device", "cpu"}, {"compute_type", "int8"}}));
  EXPECT_FALSE(j["inputs"][1].contains("transcribed_on")) << "only transcripts have engines";

  const Manifest back = manifest_from_json(nlohmann::ordered_json::parse(j.dump()));
  EXPECT_EQ(to_json(back), j);
  EXPECT_EQ(back.inputs[1].relative_path, "통화 b.mp3");
  EXPECT_EQ(*back.inputs[0].before, *m.inputs[0].before);
  EXPECT_EQ(back.inputs[0].transcribed_on, m.inputs[0].transcribed_on);
  EXPECT_FALSE(back.inputs[2].before.has_value());
  // A record written before transcribed_on existed still reads.
  nlohmann::ordered_json old = j["inputs"][0];
  old.erase("transcribed_on");
  EXPECT_TRUE(input_from_json(old).transcribed_on.empty());
}

TEST(Manifest, NamesTheWorkerOfADelegatedInput) {
  Manifest m = sample();
  InputRecord d = record("d.ogg", InputStatus::pending);
  d.status = InputStatus::delegated;
  d.worker = "gpu-2:/data/out";
  d.worker_status = "failed";
  m.inputs.push_back(d);
  const nlohmann::ordered_json j = to_json(m);
  EXPECT_EQ(j["summary"]["delegated"], 1);
  EXPECT_EQ(j["summary"]["pending"], 1);
  const auto& in = j["inputs"][3];
  EXPECT_EQ(in["status"], "delegated");
  EXPECT_EQ(in["worker"], "gpu-2:/data/out");
  EXPECT_EQ(in["worker_status"], "failed");
  EXPECT_FALSE(in.contains("error"));  // the failure is the other worker's to report
  EXPECT_FALSE(j["inputs"][0].contains("worker"));
  const Manifest back = manifest_from_json(nlohmann::ordered_json::parse(j.dump()));
  EXPECT_EQ(back.inputs[3].status, InputStatus::delegated);
  EXPECT_EQ(back.inputs[3].worker, "gpu-2:/data/out");
  EXPECT_EQ(back.inputs[3].worker_status, "failed");
  EXPECT_EQ(failed_files_json(back.inputs).size(), 1u);  // only this OUT's own failure
}

TEST(Manifest, RejectsUnknownSchemas) {
  nlohmann::ordered_json j = to_json(sample());
  j["schema_version"] = kSchemaVersion + 1;
  EXPECT_THROW(manifest_from_json(j), IntegrityError);
  j = to_json(sample());
  j["schema"] = "something.else";
  EXPECT_THROW(manifest_from_json(j), IntegrityError);
  j = to_json(sample());
  j["inputs"][0].erase("before");
  EXPECT_THROW(manifest_from_json(j), IntegrityError);
}

TEST(Manifest, WritesAndReadsBackAtomically) {
  const fs::path out = voiceman::testing::scratch_dir("manifest_write");
  write_manifest(out, sample());
  write_failed_files(out, sample().inputs);
  EXPECT_EQ(to_json(read_manifest(out)), to_json(sample()));
  const auto failed = nlohmann::json::parse(voiceman::testing::read_bytes(out / kFailedFile));
  ASSERT_TRUE(failed.is_array());
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["path"], "/evidence/통화 b.mp3");
  EXPECT_EQ(failed[0]["sha256"], "s통화 b.mp3");
  EXPECT_EQ(failed[0]["stage"], "decode");
  EXPECT_EQ(failed[0]["attempts"], 1);
  EXPECT_EQ(failed[0]["error_class"], "permanent");
  EXPECT_THROW(read_manifest(out / "nowhere"), IntegrityError);
  voiceman::testing::write_bytes(out / "bad" / kManifestFile, "{ not json");
  EXPECT_THROW(read_manifest(out / "bad"), IntegrityError);
}

TEST(Manifest, IdentifiesTheModelByItsFiles) {
  const fs::path dir = voiceman::testing::model_dir("tiny.en");
  if (!fs::exists(dir / "model.bin")) GTEST_SKIP() << "models/tiny.en not fetched";
  const ModelIdentity id = identify_model(dir);
  EXPECT_EQ(id.name, "tiny.en");
  std::string sha;
  ASSERT_EQ(voiceman::testing::run_shell(
                "sha256sum " + voiceman::testing::quote((dir / "config.json").string()), &sha),
            0);
  EXPECT_EQ(id.sha256.at("config.json"), sha.substr(0, 64));
  EXPECT_EQ(id.sha256.at("model.bin").size(), 64u);
  EXPECT_THROW(identify_model(voiceman::testing::scratch_dir("no_model")), ModelError);
}

}  // namespace
}  // namespace voiceman::manifest
