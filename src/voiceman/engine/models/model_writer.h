#pragma once
// Writer for CTranslate2's model.bin, the format ModelFile reads: a header, a flat list of
// named tensors, then aliases. Used by our own tooling (int8 re-quantisation).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "voiceman/core/tensor.h"

namespace voiceman::models {

class ModelFileWriter {
 public:
  // version 6 is what CTranslate2 4.x writes; ModelFile reads 4 to 6.
  explicit ModelFileWriter(std::string spec, uint32_t spec_revision, uint32_t version = 6);

  // Copies `bytes` bytes from `data`; throws ModelError when they do not match shape and
  // dtype, or when the name is empty, too long or already taken.
  void add(const std::string& name, const Shape& shape, DType dtype, const void* data,
           size_t bytes);
  void alias(const std::string& alias, const std::string& target);

  // Writes a temporary file next to `path`, then renames it over `path`: a reader never
  // sees half a file. Throws ModelError naming the path.
  void write(const std::filesystem::path& path) const;

 private:
  struct Variable {
    std::string name;
    Shape shape;
    DType dtype;
    std::vector<uint8_t> data;
  };
  std::string spec_;
  uint32_t revision_;
  uint32_t version_;
  std::vector<Variable> variables_;
  std::vector<std::pair<std::string, std::string>> aliases_;
};

}  // namespace voiceman::models
