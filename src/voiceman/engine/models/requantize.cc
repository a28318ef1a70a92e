#include "voiceman/engine/models/requantize.h"

#include <set>
#include <string>
#include <vector>

#include "voiceman/core/errors.h"
#include "voiceman/engine/models/model_file.h"
#include "voiceman/engine/models/model_writer.h"
#include "voiceman/engine/primitives/cpu_primitives.h"

namespace voiceman::models {
namespace {

namespace fs = std::filesystem;

// Matrices of linear layers and embeddings ("<layer>/weight", rank 2, floating point).
// Convolution kernels (rank 3) and position tables stay as stored: they are small and
// the int8 compute type keeps them in floating point.
bool quantizable(const std::string& name, const VariableInfo& v) {
  return name.ends_with("/weight") && v.shape.size() == 2 &&
         (v.dtype == DType::f32 || v.dtype == DType::f16 || v.dtype == DType::bf16);
}

}  // namespace

RequantizeReport requantize_int8(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  if (fs::exists(to, ec) && fs::equivalent(from, to, ec))
    throw ConfigError(to.string() + ": the output folder is the model folder itself");
  const ModelFile file = ModelFile::open(from / "model.bin", "WhisperSpec");
  ModelFileWriter writer(file.spec(), file.spec_revision(), file.binary_version());
  RequantizeReport report;
  std::set<std::string> scaled;  // quantised variables, whose "_scale" now exists
  for (const auto& [name, v] : file.variables()) {
    if (!quantizable(name, v) || file.has(name + "_scale")) {
      writer.add(name, v.shape, v.dtype, file.raw(name), v.bytes);
      ++report.copied;
      continue;
    }
    const Tensor w = file.to_float(name, v.shape);
    const int rows = static_cast<int>(v.shape[0]);
    const int cols = static_cast<int>(v.shape[1]);
    std::vector<int8_t> q(static_cast<size_t>(rows) * cols);
    std::vector<float> scales(static_cast<size_t>(rows));
    primitives::cpu::quantize_rows(w.data<float>(), rows, cols, q.data(), scales.data());
    writer.add(name, v.shape, DType::i8, q.data(), q.size());
    writer.add(name + "_scale", {v.shape[0]}, DType::f32, scales.data(),
               scales.size() * sizeof(float));
    scaled.insert(name);
    ++report.quantized;
  }
  for (const auto& [alias, target] : file.aliases()) {
    writer.alias(alias, target);
    // A tied matrix (the projection is the embeddings) needs its scale tied too.
    if (scaled.count(target) && !file.has(alias + "_scale"))
      writer.alias(alias + "_scale", target + "_scale");
  }

  fs::create_directories(to, ec);
  if (ec) throw ConfigError(to.string() + ": cannot create the output folder: " + ec.message());
  for (const fs::directory_entry& entry : fs::directory_iterator(from)) {
    const std::string leaf = entry.path().filename().string();
    if (leaf == "model.bin" || leaf.front() == '.' || !entry.is_regular_file()) continue;
    fs::copy_file(entry.path(), to / leaf, fs::copy_options::overwrite_existing, ec);
    if (ec) throw ConfigError(to.string() + ": cannot copy " + leaf + ": " + ec.message());
  }
  writer.write(to / "model.bin");
  report.bytes_in = fs::file_size(from / "model.bin");
  report.bytes_out = fs::file_size(to / "model.bin");
  return report;
}

}  // namespace voiceman::models
