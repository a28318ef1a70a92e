#include "voiceman/engine/models/torch_checkpoint.h"

#include <cstring>
#include <fstream>
#include <map>

#include "voiceman/core/errors.h"
#include "voiceman/core/log.h"
#include "voiceman/engine/models/torch_pickle.h"
#include "voiceman/engine/models/zip_reader.h"

namespace voiceman::models {

using Ptr = PickleValue::Ptr;
using Kind = PickleValue::Kind;

Ptr PickleValue::get(const std::string& key) const {
  if (kind == Kind::object) return state ? state->get(key) : nullptr;
  if (kind != Kind::dict) return nullptr;
  for (const auto& [k, v] : entries)
    if (k->kind == Kind::string && k->text == key) return v;
  return nullptr;
}

namespace {

using namespace detail;

// True when every value of the dict is a tensor and every key a string.
bool is_state_dict(const Ptr& v) {
  if (!v || v->kind != Kind::dict || v->entries.empty()) return false;
  for (const auto& [k, t] : v->entries)
    if (k->kind != Kind::string || t->kind != Kind::tensor) return false;
  return true;
}

std::vector<uint8_t> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelError(path.string() + ": cannot open checkpoint");
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TorchCheckpoint TorchCheckpoint::load(const std::filesystem::path& path) {
  TorchCheckpoint ck;
  ck.path_ = path;
  std::vector<uint8_t> bytes = read_file(path);
  StorageMap storages;
  std::vector<PendingTensor> pending;
  try {
    if (ZipReader::looks_like_zip(bytes)) {
      ZipReader zip(std::move(bytes), path);
      std::string prefix;
      for (const std::string& n : zip.names())
        if (n.size() >= 8 && n.compare(n.size() - 8, 8, "data.pkl") == 0 &&
            n.find('/') == n.size() - 9) {
          prefix = n.substr(0, n.size() - 8);
          break;
        }
      if (prefix.empty()) throw ModelError(path.string() + ": zip archive without data.pkl");
      const std::vector<uint8_t> pkl = zip.read(prefix + "data.pkl");
      ck.root_ = unpickle(pkl.data(), pkl.size(), storages, pending, nullptr);
      for (auto& [key, s] : storages) {
        if (!zip.has(prefix + "data/" + key))
          throw ModelError(path.string() + ": storage " + key + " missing from the archive");
        *s->bytes = zip.read(prefix + "data/" + key);
      }
    } else {
      // Legacy: magic number, protocol, system info, the object, storage keys, storages.
      const uint8_t* base = bytes.data();
      size_t pos = 0;
      auto next = [&]() {
        size_t used = 0;
        Ptr v = unpickle(base + pos, bytes.size() - pos, storages, pending, &used);
        pos += used;
        return v;
      };
      Ptr magic;
      try {
        magic = next();
      } catch (const ParseError&) {
      }
      if (!magic || magic->kind != Kind::integer || magic->integer == 0)
        throw ParseError{"not a PyTorch checkpoint (no magic number)"};
      next();  // protocol version
      next();  // sys info (endianness, type sizes): little-endian assumed, as torch writes
      ck.root_ = next();
      const Ptr keys = next();
      if (keys->kind != Kind::list) throw ParseError{"bad storage key list"};
      for (const Ptr& k : keys->items) {
        const auto it = storages.find(k->text);
        if (it == storages.end()) throw ParseError{"unknown storage key " + k->text};
        if (bytes.size() - pos < 8) throw ParseError{"storage " + k->text + " is truncated"};
        const int64_t numel = load_int64(base + pos);
        pos += 8;
        const size_t n = static_cast<size_t>(numel) * it->second->type.size;
        if (numel < 0 || bytes.size() - pos < n)
          throw ParseError{"storage " + k->text + " is truncated"};
        it->second->bytes->assign(base + pos, base + pos + n);
        pos += n;
      }
      // Views share their root's bytes.
      for (auto& [key, s] : storages)
        if (s->offset && s->bytes->empty())
          for (auto& [rk, r] : storages)
            if (!r->offset && r->type.dtype == s->type.dtype && !r->bytes->empty()) {
              s->bytes = r->bytes;
              break;
            }
    }
    for (PendingTensor& p : pending) materialise(p);
  } catch (const ParseError& e) {
    throw ModelError(path.string() + ": cannot read checkpoint: " + e.what);
  } catch (const std::invalid_argument&) {
    throw ModelError(path.string() + ": cannot read checkpoint: bad number in pickle");
  } catch (const std::out_of_range&) {
    throw ModelError(path.string() + ": cannot read checkpoint: corrupt pickle");
  }

  Ptr sd = is_state_dict(ck.root_) ? ck.root_ : nullptr;
  for (const char* key : {"state_dict", "model_state", "model", "state_dict_ema"})
    if (!sd && is_state_dict(ck.root_->get(key))) sd = ck.root_->get(key);
  if (sd)
    for (const auto& [k, t] : sd->entries) ck.tensors_.emplace_back(k->text, t->tensor);
  log::debug("torch checkpoint " + path.string() + ": " + std::to_string(ck.tensors_.size()) +
             " tensors");
  return ck;
}

bool TorchCheckpoint::has(const std::string& name) const {
  for (const auto& [n, t] : tensors_)
    if (n == name) return true;
  return false;
}

const Tensor& TorchCheckpoint::tensor(const std::string& name, const Shape& expected) const {
  for (const auto& [n, t] : tensors_) {
    if (n != name) continue;
    if (!expected.empty() && t.shape() != expected)
      throw ModelError(path_.string() + ": tensor " + name + " is " + shape_str(t.shape()) +
                       ", expected " + shape_str(expected));
    return t;
  }
  throw ModelError(path_.string() + ": no tensor " + name);
}

PickleValue::Ptr TorchCheckpoint::find(const std::string& dotted) const {
  Ptr cur = root_;
  std::string rest = dotted;
  while (cur && !rest.empty()) {
    // The longest key that is a prefix of `rest` (keys like "pyannote.audio" hold dots).
    std::vector<size_t> cuts{rest.size()};
    for (size_t i = rest.size(); i-- > 0;)
      if (rest[i] == '.') cuts.push_back(i);
    Ptr next;
    size_t used = 0;
    for (size_t cut : cuts)
      if ((next = cur->get(rest.substr(0, cut)))) {
        used = cut;
        break;
      }
    if (!next) return nullptr;
    cur = next;
    rest = used < rest.size() ? rest.substr(used + 1) : "";
  }
  return cur;
}

std::optional<int64_t> TorchCheckpoint::int_value(const std::string& dotted) const {
  const Ptr v = find(dotted);
  if (!v || (v->kind != Kind::integer && v->kind != Kind::boolean)) return std::nullopt;
  return v->integer;
}

std::optional<double> TorchCheckpoint::number(const std::string& dotted) const {
  const Ptr v = find(dotted);
  if (!v || !v->is_number()) return std::nullopt;
  return v->number();
}

std::optional<std::string> TorchCheckpoint::string_value(const std::string& dotted) const {
  const Ptr v = find(dotted);
  if (!v || v->kind != Kind::string) return std::nullopt;
  return v->text;
}

}  // namespace voiceman::models
