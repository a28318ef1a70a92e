#pragma once
// Native reader for PyTorch checkpoints (torch.save): the zip format (data.pkl plus one
// member per storage) and the legacy format (consecutive pickles, then raw storages).
// Only the pickle subset that state_dicts and Lightning checkpoints use is understood;
// any other class (omegaconf nodes, pyannote's Specifications...) becomes an opaque
// object whose constructor arguments and state stay inspectable, never an error.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "voiceman/core/tensor.h"

namespace voiceman::models {

// One unpickled value. Containers hold shared pointers because pickle memoises objects
// and mutates them after they are referenced (SETITEMS on a memoised dict).
struct PickleValue {
  enum class Kind {
    none,
    boolean,
    integer,
    real,
    string,
    bytes,
    list,
    tuple,
    dict,
    global,
    object,
    tensor,
    storage
  };
  using Ptr = std::shared_ptr<PickleValue>;

  Kind kind = Kind::none;
  bool flag = false;
  int64_t integer = 0;
  double real = 0;
  std::string text;        // string, bytes, a global's "module.name", an object's class
  std::vector<Ptr> items;  // list, tuple; an object's constructor arguments
  std::vector<std::pair<Ptr, Ptr>> entries;  // dict
  Ptr state;                                 // an object's BUILD state (often a dict)
  Tensor tensor;                             // tensor (contiguous, float32 or int32)
  std::string source_dtype;                  // tensor: the checkpoint's dtype ("float16"...)

  // dict lookup by string key (an object looks into its state); null when absent.
  Ptr get(const std::string& key) const;
  bool is_number() const {
    return kind == Kind::integer || kind == Kind::real || kind == Kind::boolean;
  }
  double number() const { return kind == Kind::real ? real : static_cast<double>(integer); }
};

class TorchCheckpoint {
 public:
  // Reads the whole checkpoint. Throws ModelError naming the file when it is missing,
  // truncated, corrupt or uses a pickle feature outside the supported subset.
  static TorchCheckpoint load(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  const PickleValue& root() const { return *root_; }

  // The state dict, in file order: the root itself when it maps names to tensors,
  // otherwise its "state_dict" / "model_state" / "model" entry.
  const std::vector<std::pair<std::string, Tensor>>& tensors() const { return tensors_; }
  bool has(const std::string& name) const;
  // The tensor `name`; ModelError naming the file when absent or (with a non-empty
  // `expected`) of another shape.
  const Tensor& tensor(const std::string& name, const Shape& expected = {}) const;

  // A simple value by dotted path from the root ("hyper_parameters.lstm.hidden_size").
  // Path parts match dict keys exactly (keys may themselves contain dots: the longest
  // matching key wins). Objects are looked into through their state.
  PickleValue::Ptr find(const std::string& dotted) const;
  std::optional<int64_t> int_value(const std::string& dotted) const;
  std::optional<double> number(const std::string& dotted) const;
  std::optional<std::string> string_value(const std::string& dotted) const;

 private:
  std::filesystem::path path_;
  PickleValue::Ptr root_;
  std::vector<std::pair<std::string, Tensor>> tensors_;
};

}  // namespace voiceman::models
