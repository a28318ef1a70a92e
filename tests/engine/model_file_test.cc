// Loader failures on damaged copies of a real model.bin: each ends in a clear ModelError.
#include "voiceman/engine/models/model_file.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <vector>

#include "support/paths.h"
#include "voiceman/core/errors.h"
#include "voiceman/engine/models/whisper_model.h"

namespace voiceman::models {
namespace {

namespace fs = std::filesystem;

class ModelFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = testing::model_dir("tiny.en");
    if (!fs::exists(source_ / "model.bin")) GTEST_SKIP() << "models/tiny.en not fetched";
    std::ifstream in(source_ / "model.bin", std::ios::binary);
    bytes_.assign(std::istreambuf_iterator<char>(in), {});
  }

  // A copy of the model folder whose model.bin is `bytes`.
  fs::path damaged(const std::string& name, const std::vector<char>& bytes) {
    const fs::path dir = testing::scratch_dir("model_file_" + name);
    for (const char* f : {"config.json", "tokenizer.json", "vocabulary.txt"})
      fs::copy_file(source_ / f, dir / f);
    std::ofstream(dir / "model.bin", std::ios::binary).write(bytes.data(), bytes.size());
    return dir;
  }

  // Expects loading `dir` to fail with a ModelError whose message has `needle`.
  static void expect_model_error(const fs::path& dir, const std::string& needle) {
    try {
      WhisperModel::load(dir, ComputeType::float32);
      FAIL() << "expected a ModelError mentioning '" << needle << "'";
    } catch (const ModelError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(dir.string()), std::string::npos) << e.what();
    }
  }

  // Offset of the first byte after the header (version, spec, revision, count).
  size_t header_end() const {
    uint16_t n;
    std::memcpy(&n, bytes_.data() + 4, 2);
    return 4 + 2 + n + 4 + 4;
  }

  fs::path source_;
  std::vector<char> bytes_;
};

TEST_F(ModelFileTest, ReadsTheRealTinyEnFile) {
  const ModelFile file = ModelFile::open(source_ / "model.bin", "WhisperSpec");
  EXPECT_EQ(file.binary_version(), 6u);
  EXPECT_EQ(file.spec(), "WhisperSpec");
  EXPECT_EQ(file.info("encoder/conv1/weight").shape, (Shape{384, 80, 3}));
  EXPECT_EQ(file.info("decoder/embeddings/weight").dtype, DType::f16);
  // The projection is an alias of the embeddings.
  EXPECT_EQ(file.info("decoder/projection/weight").offset,
            file.info("decoder/embeddings/weight").offset);
  EXPECT_EQ(file.scalar_int("decoder/num_heads"), 6);
}

TEST_F(ModelFileTest, TruncatedFile) {
  for (size_t keep : {size_t{3}, header_end() + 5, bytes_.size() / 2, bytes_.size() - 1}) {
    std::vector<char> cut(bytes_.begin(), bytes_.begin() + static_cast<std::ptrdiff_t>(keep));
    expect_model_error(damaged("truncated_" + std::to_string(keep), cut), "truncated");
  }
}

TEST_F(ModelFileTest, EmptyFile) { expect_model_error(damaged("empty", {}), "empty"); }

TEST_F(ModelFileTest, WrongVersion) {
  for (uint32_t version : {0u, 3u, 7u, 1000u}) {
    auto copy = bytes_;
    std::memcpy(copy.data(), &version, 4);
    expect_model_error(damaged("version_" + std::to_string(version), copy),
                       "unsupported model.bin version " + std::to_string(version));
  }
}

TEST_F(ModelFileTest, UnknownSpec) {
  auto copy = bytes_;
  std::memcpy(copy.data() + 6, "Wh1sperSpec", 11);
  expect_model_error(damaged("spec", copy), "unknown model spec 'Wh1sperSpec'");
}

TEST_F(ModelFileTest, MissingVariable) {
  auto copy = bytes_;
  // Rename a weight the graph needs.
  const std::string needle = "encoder/conv2/bias";
  auto it = std::search(copy.begin(), copy.end(), needle.begin(), needle.end());
  ASSERT_NE(it, copy.end());
  *(it + 8) = 'X';  // encoder/Xonv2/bias
  expect_model_error(damaged("missing", copy), "missing variable encoder/conv2/bias");
}

TEST_F(ModelFileTest, ShapeMismatch) {
  // encoder/conv1/bias is (384,): change its dimension to 192 and its byte count to match.
  auto copy = bytes_;
  const std::string needle = std::string("encoder/conv1/bias") + '\0';
  auto it = std::search(copy.begin(), copy.end(), needle.begin(), needle.end());
  ASSERT_NE(it, copy.end());
  const size_t at = static_cast<size_t>(it - copy.begin()) + needle.size();
  ASSERT_EQ(copy[at], 1);  // rank
  uint32_t dim = 192, bytes = 192 * 2;
  std::memcpy(copy.data() + at + 1, &dim, 4);
  // dtype at +5, byte count at +6, then data: drop the second half of the data.
  std::memcpy(copy.data() + at + 6, &bytes, 4);
  copy.erase(copy.begin() + static_cast<std::ptrdiff_t>(at + 10 + 384),
             copy.begin() + static_cast<std::ptrdiff_t>(at + 10 + 768));
  expect_model_error(damaged("shape", copy), "encoder/conv1/bias has shape (192), expected (384)");
}

TEST_F(ModelFileTest, InconsistentByteCount) {
  auto copy = bytes_;
  const std::string needle = std::string("encoder/conv1/bias") + '\0';
  auto it = std::search(copy.begin(), copy.end(), needle.begin(), needle.end());
  const size_t at = static_cast<size_t>(it - copy.begin()) + needle.size();
  uint32_t bytes = 100;
  std::memcpy(copy.data() + at + 6, &bytes, 4);
  expect_model_error(damaged("bytes", copy), "inconsistent with shape");
}

TEST_F(ModelFileTest, MissingFolderAndConfig) {
  expect_model_error(testing::scratch_dir("model_file_nothing") / "absent", "does not exist");
  const fs::path dir = damaged("noconfig", bytes_);
  fs::remove(dir / "config.json");
  expect_model_error(dir, "config.json");
  std::ofstream(dir / "config.json") << "{not json";
  expect_model_error(dir, "invalid config.json");
}

}  // namespace
}  // namespace voiceman::models
