#include "voiceman/engine/models/model_writer.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>

#include "voiceman/core/errors.h"

namespace voiceman::models {
namespace {

template <typename T>
void put(std::ofstream& out, T value) {
  out.write(reinterpret_cast<const char*>(&value), sizeof value);
}

// Strings are stored with their NUL terminator, the length (uint16) counting it.
void put_string(std::ofstream& out, const std::string& s) {
  put<uint16_t>(out, static_cast<uint16_t>(s.size() + 1));
  out.write(s.c_str(), static_cast<std::streamsize>(s.size() + 1));
}

void check_name(const std::string& name) {
  if (name.empty() || name.size() + 1 > std::numeric_limits<uint16_t>::max() ||
      name.find('\0') != std::string::npos)
    throw ModelError("model.bin writer: bad variable name '" + name + "'");
}

}  // namespace

ModelFileWriter::ModelFileWriter(std::string spec, uint32_t spec_revision, uint32_t version)
    : spec_(std::move(spec)), revision_(spec_revision), version_(version) {
  check_name(spec_);
}

void ModelFileWriter::add(const std::string& name, const Shape& shape, DType dtype,
                          const void* data, size_t bytes) {
  check_name(name);
  if (shape.size() > std::numeric_limits<uint8_t>::max())
    throw ModelError("model.bin writer: " + name + " has too many dimensions");
  for (const int64_t dim : shape)
    if (dim < 0 || dim > std::numeric_limits<uint32_t>::max())
      throw ModelError("model.bin writer: " + name + " has a bad shape " + shape_str(shape));
  if (bytes != static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype))
    throw ModelError("model.bin writer: " + name + " has " + std::to_string(bytes) +
                     " bytes, inconsistent with " + dtype_name(dtype) + " " + shape_str(shape));
  if (bytes > std::numeric_limits<uint32_t>::max())
    throw ModelError("model.bin writer: " + name + " is over 4 GiB");
  const auto taken = [&](const auto& v) { return v.name == name; };
  if (std::any_of(variables_.begin(), variables_.end(), taken))
    throw ModelError("model.bin writer: " + name + " added twice");
  const auto* p = static_cast<const uint8_t*>(data);
  variables_.push_back({name, shape, dtype, std::vector<uint8_t>(p, p + bytes)});
}

void ModelFileWriter::alias(const std::string& alias, const std::string& target) {
  check_name(alias);
  check_name(target);
  aliases_.emplace_back(alias, target);
}

void ModelFileWriter::write(const std::filesystem::path& path) const {
  const std::filesystem::path tmp =
      path.string() + ".tmp" + std::to_string(static_cast<long>(::getpid()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw ModelError(path.string() + ": cannot write model file");
    put<uint32_t>(out, version_);
    put_string(out, spec_);
    put<uint32_t>(out, revision_);
    put<uint32_t>(out, static_cast<uint32_t>(variables_.size()));
    for (const Variable& v : variables_) {
      put_string(out, v.name);
      put<uint8_t>(out, static_cast<uint8_t>(v.shape.size()));
      for (const int64_t dim : v.shape) put<uint32_t>(out, static_cast<uint32_t>(dim));
      put<uint8_t>(out, static_cast<uint8_t>(v.dtype));
      put<uint32_t>(out, static_cast<uint32_t>(v.data.size()));
      out.write(reinterpret_cast<const char*>(v.data.data()),
                static_cast<std::streamsize>(v.data.size()));
    }
    put<uint32_t>(out, static_cast<uint32_t>(aliases_.size()));
    for (const auto& [alias, target] : aliases_) {
      put_string(out, alias);
      put_string(out, target);
    }
    out.close();
    if (!out) {
      std::filesystem::remove(tmp);
      throw ModelError(path.string() + ": writing the model file failed");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    throw ModelError(path.string() + ": cannot move the model file in place: " + ec.message());
  }
}

}  // namespace voiceman::models
