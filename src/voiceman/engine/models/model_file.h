#pragma once
// Reader for CTranslate2's model.bin: a flat list of named tensors (see DEVELOPERS.md).
// The file is memory-mapped read-only; variables are converted on request.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "voiceman/core/tensor.h"

namespace voiceman::models {

struct VariableInfo {
  Shape shape;
  DType dtype = DType::f32;
  size_t offset = 0;  // into the mapped file
  size_t bytes = 0;
};

class ModelFile {
 public:
  // Parses and validates the whole index; throws ModelError naming the file on any defect
  // (truncated, unsupported version, unknown spec, inconsistent sizes).
  static ModelFile open(const std::filesystem::path& path, const std::string& expected_spec);

  ModelFile(ModelFile&&) noexcept;
  ModelFile& operator=(ModelFile&&) noexcept;
  ~ModelFile();

  uint32_t binary_version() const { return version_; }
  const std::string& spec() const { return spec_; }
  uint32_t spec_revision() const { return revision_; }
  const std::filesystem::path& path() const { return path_; }
  const std::map<std::string, VariableInfo>& variables() const { return variables_; }
  const std::map<std::string, std::string>& aliases() const { return aliases_; }  // -> target

  bool has(const std::string& name) const;
  // Resolves aliases; throws ModelError for a missing variable.
  const VariableInfo& info(const std::string& name) const;
  // The variable as float32, checked against the expected shape (throws on mismatch).
  Tensor to_float(const std::string& name, const Shape& expected) const;
  // Raw bytes of a variable (its stored dtype).
  const void* raw(const std::string& name) const;
  // A scalar stored as int8/int16/int32 (e.g. num_heads).
  int64_t scalar_int(const std::string& name) const;

 private:
  ModelFile() = default;
  std::filesystem::path path_;
  uint32_t version_ = 0;
  std::string spec_;
  uint32_t revision_ = 0;
  std::map<std::string, VariableInfo> variables_;
  std::map<std::string, std::string> aliases_;
  const uint8_t* map_ = nullptr;
  size_t map_size_ = 0;
};

}  // namespace voiceman::models
