#include "npy.h"

#include <cstring>
#include <fstream>
#include <regex>
#include <string>

#include "voiceman/core/errors.h"

namespace voiceman::dev {

NpyArray read_npy(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open");
  char magic[6];
  in.read(magic, 6);
  if (!in || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    throw Error(path.string() + ": not a .npy file");
  uint8_t version[2];
  in.read(reinterpret_cast<char*>(version), 2);
  uint32_t header_len = 0;
  if (version[0] == 1) {
    uint16_t n;
    in.read(reinterpret_cast<char*>(&n), 2);
    header_len = n;
  } else {
    in.read(reinterpret_cast<char*>(&header_len), 4);
  }
  std::string header(header_len, '\0');
  in.read(header.data(), header_len);
  std::smatch m;
  if (!std::regex_search(header, m, std::regex("'descr':\\s*'([<|=]?)([fi])(\\d)'")))
    throw Error(path.string() + ": unsupported dtype");
  const char kind = m[2].str()[0];
  const int width = std::stoi(m[3]);
  if (header.find("'fortran_order': True") != std::string::npos)
    throw Error(path.string() + ": Fortran order unsupported");
  NpyArray out;
  std::smatch s;
  std::regex_search(header, s, std::regex("'shape':\\s*\\(([^)]*)\\)"));
  std::string dims = s[1];
  std::regex num("\\d+");
  int64_t count = 1;
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), num); it != std::sregex_iterator();
       ++it) {
    out.shape.push_back(std::stoll(it->str()));
    count *= out.shape.back();
  }
  out.data.resize(count);
  if (kind == 'f' && width == 4) {
    in.read(reinterpret_cast<char*>(out.data.data()), count * 4);
  } else if (kind == 'f' && width == 8) {
    std::vector<double> tmp(count);
    in.read(reinterpret_cast<char*>(tmp.data()), count * 8);
    for (int64_t i = 0; i < count; ++i) out.data[i] = static_cast<float>(tmp[i]);
  } else if (kind == 'i' && width == 4) {
    std::vector<int32_t> tmp(count);
    in.read(reinterpret_cast<char*>(tmp.data()), count * 4);
    for (int64_t i = 0; i < count; ++i) out.data[i] = static_cast<float>(tmp[i]);
  } else {
    throw Error(path.string() + ": unsupported dtype");
  }
  if (!in) throw Error(path.string() + ": truncated");
  return out;
}

void write_npy(const std::filesystem::path& path, const std::vector<int64_t>& shape,
               const float* data) {
  std::string dims;
  int64_t count = 1;
  for (int64_t d : shape) {
    dims += std::to_string(d) + ",";
    count *= d;
  }
  if (shape.size() > 1) dims.pop_back();
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  while ((10 + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  const uint16_t n = static_cast<uint16_t>(header.size());
  out.write(reinterpret_cast<const char*>(&n), 2);
  out.write(header.data(), header.size());
  out.write(reinterpret_cast<const char*>(data), count * 4);
  if (!out) throw Error(path.string() + ": write failed");
}

}  // namespace voiceman::dev
