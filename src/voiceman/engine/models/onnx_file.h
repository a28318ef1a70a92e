#pragma once
// A minimal ONNX reader: protobuf wire-format decoding of ModelProto -> GraphProto ->
// initializers (TensorProto) and nodes (NodeProto with attributes, including the
// sub-graphs of If/Loop nodes). No ONNX Runtime, no protobuf library. Only the fields a
// weight loader needs are kept; unknown fields are skipped, as protobuf requires.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace voiceman::models::onnx {

// TensorProto.DataType values used here.
enum DataType : int32_t { kFloat = 1, kInt32 = 6, kInt64 = 7, kBool = 9, kDouble = 11 };

struct TensorData {
  std::string name;
  std::vector<int64_t> dims;
  int32_t data_type = 0;
  std::vector<uint8_t> raw_data;  // little-endian, when the tensor stores raw bytes
  std::vector<float> float_data;
  std::vector<int64_t> int64_data;
  std::vector<int32_t> int32_data;

  int64_t numel() const;  // product of dims (1 for a scalar)
  // The values as float32 / int64 (float or int tensors); ModelError when the element
  // count does not match dims or the type does not convert.
  std::vector<float> floats(const std::string& origin) const;
  std::vector<int64_t> int64s(const std::string& origin) const;
};

struct Graph;

struct Attribute {
  // AttributeProto.AttributeType values.
  enum Type : int32_t {
    kUndefined = 0,
    kFloat = 1,
    kInt = 2,
    kString = 3,
    kTensor = 4,
    kGraph = 5,
    kFloats = 6,
    kInts = 7,
    kStrings = 8,
    kTensors = 9,
    kGraphs = 10
  };
  std::string name;
  int32_t type = kUndefined;
  float f = 0.f;
  int64_t i = 0;
  std::string s;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<TensorData> tensors;  // t (one) or tensors
  std::vector<Graph> graphs;        // g (one: If's then/else branches, Loop's body) or graphs
};

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;
  std::vector<std::string> inputs;  // "" marks an omitted optional input
  std::vector<std::string> outputs;
  std::vector<Attribute> attributes;

  const Attribute* attribute(const std::string& name) const;  // null when absent
};

struct Graph {
  std::string name;
  std::vector<Node> nodes;
  std::vector<TensorData> initializers;
  std::vector<std::string> inputs;  // ValueInfoProto names
  std::vector<std::string> outputs;

  const TensorData* initializer(const std::string& name) const;  // null when absent
  // Nodes of this graph and of every sub-graph, depth first.
  std::vector<const Node*> all_nodes() const;
};

struct OpsetId {
  std::string domain;
  int64_t version = 0;
};

struct Model {
  int64_t ir_version = 0;
  std::string producer_name;
  std::string producer_version;
  std::vector<OpsetId> opsets;
  Graph graph;
};

// Parses protobuf bytes; `origin` names the source in errors (ModelError on malformed,
// truncated or over-deep input).
Model parse_model(std::span<const uint8_t> bytes, const std::string& origin);
// Reads and parses a .onnx file (ModelError naming the file when it cannot be read).
Model read_model(const std::filesystem::path& path);

}  // namespace voiceman::models::onnx
