#pragma once
// Internal to the checkpoint reader: the pickle virtual machine, restricted to what
// torch.save writes, and the storages/tensors it references. Tensors are materialised only
// once every storage's bytes are known (legacy files store them after the pickles).
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "voiceman/engine/models/torch_checkpoint.h"

namespace voiceman::models::detail {

struct ParseError {
  std::string what;
};

// A storage's element type, from its class name (torch.FloatStorage...).
struct StorageType {
  std::string dtype;
  size_t size = 0;
};

// A storage seen in a persistent id: its bytes arrive from the zip member or, in the
// legacy format, after the pickles.
struct Storage {
  std::string key;
  StorageType type;
  std::shared_ptr<std::vector<uint8_t>> bytes = std::make_shared<std::vector<uint8_t>>();
  int64_t offset = 0;  // legacy views: element offset into the root storage's bytes
};
using StorageMap = std::map<std::string, std::shared_ptr<Storage>>;

struct PendingTensor {
  PickleValue::Ptr value;
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;
  Shape size, stride;
};

// Runs one pickle from data[0, size); returns its value and sets *consumed to the bytes
// read. Storages it references are added to `storages`, tensors to `pending`.
// Throws ParseError.
PickleValue::Ptr unpickle(const uint8_t* data, size_t size, StorageMap& storages,
                          std::vector<PendingTensor>& pending, size_t* consumed);
// Fills p.value->tensor from its storage (contiguous float32 or int32). Throws ParseError.
void materialise(PendingTensor& p);
// Little-endian load.
int64_t load_int64(const uint8_t* p);

}  // namespace voiceman::models::detail
