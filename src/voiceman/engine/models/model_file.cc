#include "voiceman/engine/models/model_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "voiceman/core/errors.h"
#include "voiceman/engine/primitives/cpu_primitives.h"

namespace voiceman::models {
namespace {

constexpr uint32_t kMinVersion = 4;  // dtype ids and byte counts appear in version 4
constexpr uint32_t kMaxVersion = 6;

// Bounds-checked little-endian cursor over the mapped file.
class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size, const std::filesystem::path& path)
      : data_(data), size_(size), path_(path) {}

  template <typename T>
  T read(const char* what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }
  std::string string(const char* what) {
    const auto n = read<uint16_t>(what);
    need(n, what);
    std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    while (!s.empty() && s.back() == '\0') s.pop_back();  // stored NUL-terminated
    return s;
  }
  size_t skip(size_t n, const std::string& what) {
    need(n, what.c_str());
    const size_t at = pos_;
    pos_ += n;
    return at;
  }
  size_t pos() const { return pos_; }

 private:
  void need(size_t n, const char* what) {
    if (n > size_ - pos_)
      throw ModelError(path_.string() + ": model.bin is truncated (while reading " + what + ")");
  }
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  const std::filesystem::path& path_;
};

}  // namespace

ModelFile ModelFile::open(const std::filesystem::path& path, const std::string& expected_spec) {
  ModelFile file;
  file.path_ = path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw ModelError(path.string() + ": cannot open model file: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw ModelError(path.string() + ": not a regular file");
  }
  file.map_size_ = static_cast<size_t>(st.st_size);
  if (file.map_size_ == 0) {
    ::close(fd);
    throw ModelError(path.string() + ": model.bin is empty");
  }
  void* map = ::mmap(nullptr, file.map_size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) throw ModelError(path.string() + ": cannot map model file");
  file.map_ = static_cast<const uint8_t*>(map);

  Cursor in(file.map_, file.map_size_, file.path_);
  file.version_ = in.read<uint32_t>("binary version");
  if (file.version_ < kMinVersion || file.version_ > kMaxVersion)
    throw ModelError(path.string() + ": unsupported model.bin version " +
                     std::to_string(file.version_) + " (supported: " + std::to_string(kMinVersion) +
                     " to " + std::to_string(kMaxVersion) + ")");
  file.spec_ = in.string("spec name");
  file.revision_ = in.read<uint32_t>("spec revision");
  if (file.spec_ != expected_spec)
    throw ModelError(path.string() + ": unknown model spec '" + file.spec_ + "' (expected " +
                     expected_spec + ")");
  const auto count = in.read<uint32_t>("variable count");
  for (uint32_t i = 0; i < count; ++i) {
    VariableInfo var;
    const std::string name = in.string("variable name");
    const auto rank = in.read<uint8_t>("rank");
    for (int d = 0; d < rank; ++d) var.shape.push_back(in.read<uint32_t>("dimension"));
    const auto dtype = in.read<uint8_t>("dtype");
    if (dtype > static_cast<uint8_t>(DType::bf16))
      throw ModelError(path.string() + ": variable " + name + " has unknown dtype id " +
                       std::to_string(dtype));
    var.dtype = static_cast<DType>(dtype);
    var.bytes = in.read<uint32_t>("byte count");
    if (var.bytes != static_cast<size_t>(shape_numel(var.shape)) * dtype_size(var.dtype))
      throw ModelError(path.string() + ": variable " + name + " has " + std::to_string(var.bytes) +
                       " bytes, inconsistent with shape " + shape_str(var.shape));
    var.offset = in.skip(var.bytes, "data of " + name);
    file.variables_[name] = std::move(var);
  }
  const auto aliases = in.read<uint32_t>("alias count");
  for (uint32_t i = 0; i < aliases; ++i) {
    std::string alias = in.string("alias");
    std::string target = in.string("alias target");
    file.aliases_[alias] = target;
  }
  return file;
}

ModelFile::ModelFile(ModelFile&& other) noexcept { *this = std::move(other); }

ModelFile& ModelFile::operator=(ModelFile&& other) noexcept {
  if (this != &other) {
    if (map_) ::munmap(const_cast<uint8_t*>(map_), map_size_);
    path_ = std::move(other.path_);
    version_ = other.version_;
    spec_ = std::move(other.spec_);
    revision_ = other.revision_;
    variables_ = std::move(other.variables_);
    aliases_ = std::move(other.aliases_);
    map_ = other.map_;
    map_size_ = other.map_size_;
    other.map_ = nullptr;
    other.map_size_ = 0;
  }
  return *this;
}

ModelFile::~ModelFile() {
  if (map_) ::munmap(const_cast<uint8_t*>(map_), map_size_);
}

bool ModelFile::has(const std::string& name) const {
  if (variables_.count(name)) return true;
  auto alias = aliases_.find(name);
  return alias != aliases_.end() && variables_.count(alias->second);
}

const VariableInfo& ModelFile::info(const std::string& name) const {
  auto it = variables_.find(name);
  if (it == variables_.end()) {
    auto alias = aliases_.find(name);
    if (alias != aliases_.end()) it = variables_.find(alias->second);
  }
  if (it == variables_.end())
    throw ModelError(path_.string() + ": missing variable " + name + " in model.bin");
  return it->second;
}

const void* ModelFile::raw(const std::string& name) const { return map_ + info(name).offset; }

Tensor ModelFile::to_float(const std::string& name, const Shape& expected) const {
  const VariableInfo& var = info(name);
  if (var.shape != expected)
    throw ModelError(path_.string() + ": variable " + name + " has shape " + shape_str(var.shape) +
                     ", expected " + shape_str(expected));
  Tensor out(var.shape, DType::f32);
  const size_t n = static_cast<size_t>(out.numel());
  const void* src = map_ + var.offset;
  switch (var.dtype) {
    case DType::f32:
      std::memcpy(out.data<float>(), src, n * sizeof(float));
      break;
    case DType::f16:
      primitives::cpu::half_to_float(static_cast<const uint16_t*>(src), out.data<float>(), n);
      break;
    case DType::bf16:
      primitives::cpu::bf16_to_float(static_cast<const uint16_t*>(src), out.data<float>(), n);
      break;
    case DType::i8: {
      // Quantised weight: w = q / scale, one scale per output row.
      const Tensor scale = to_float(name + "_scale", {var.shape.at(0)});
      const auto* q = static_cast<const int8_t*>(src);
      const int64_t cols = n / var.shape[0];
      for (int64_t r = 0; r < var.shape[0]; ++r)
        for (int64_t c = 0; c < cols; ++c)
          out.data<float>()[r * cols + c] = q[r * cols + c] / scale.data<float>()[r];
      break;
    }
    default:
      throw ModelError(path_.string() + ": variable " + name + " has unsupported dtype " +
                       dtype_name(var.dtype));
  }
  return out;
}

int64_t ModelFile::scalar_int(const std::string& name) const {
  const VariableInfo& var = info(name);
  if (shape_numel(var.shape) != 1)
    throw ModelError(path_.string() + ": variable " + name + " is not a scalar");
  const void* p = map_ + var.offset;
  switch (var.dtype) {
    case DType::i8:
      return *static_cast<const int8_t*>(p);
    case DType::i16: {
      int16_t v;
      std::memcpy(&v, p, 2);
      return v;
    }
    case DType::i32: {
      int32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
    default:
      throw ModelError(path_.string() + ": variable " + name + " is not an integer scalar");
  }
}

}  // namespace voiceman::models
