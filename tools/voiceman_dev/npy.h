#pragma once
// Minimal .npy (version 1/2, little-endian float32/float64/int32) reader and float32 writer
// for the dev tool's parity exchanges with the Python reference implementations.
#include <cstdint>
#include <filesystem>
#include <vector>

namespace voiceman::dev {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;  // converted to float32
};

NpyArray read_npy(const std::filesystem::path& path);
void write_npy(const std::filesystem::path& path, const std::vector<int64_t>& shape,
               const float* data);

}  // namespace voiceman::dev
