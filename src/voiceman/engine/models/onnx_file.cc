#include "voiceman/engine/models/onnx_file.h"

#include <cstring>
#include <fstream>
#include <iterator>

#include "voiceman/core/errors.h"

namespace voiceman::models::onnx {

namespace {

// Sub-graph nesting deeper than this is rejected (it bounds the recursion on hostile input).
constexpr int kMaxDepth = 32;

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLength = 2, kFixed32 = 5 };

// A bounded cursor over one protobuf message.
class Reader {
 public:
  Reader(const uint8_t* begin, const uint8_t* end, const std::string& origin)
      : p_(begin), end_(end), origin_(origin) {}

  bool done() const { return p_ >= end_; }
  [[noreturn]] void fail(const std::string& what) const {
    throw ModelError("onnx file " + origin_ + ": " + what);
  }

  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ >= end_) fail("truncated varint");
      const uint8_t byte = *p_++;
      v |= uint64_t{byte & 0x7fu} << shift;
      if (!(byte & 0x80u)) return v;
    }
    fail("varint longer than 10 bytes");
  }
  // Returns the field number; the wire type goes to `wire`.
  uint32_t key(uint32_t& wire) {
    const uint64_t k = varint();
    wire = static_cast<uint32_t>(k & 7u);
    if ((k >> 3) == 0 || (k >> 3) > 0x1fffffffu) fail("invalid field number");
    return static_cast<uint32_t>(k >> 3);
  }
  Reader sub() {
    const uint64_t n = varint();
    if (n > static_cast<uint64_t>(end_ - p_)) fail("truncated length-delimited field");
    Reader r(p_, p_ + n, origin_);
    p_ += n;
    return r;
  }
  std::string string() {
    Reader r = sub();
    return std::string(reinterpret_cast<const char*>(r.p_), r.end_ - r.p_);
  }
  std::vector<uint8_t> bytes() {
    Reader r = sub();
    return std::vector<uint8_t>(r.p_, r.end_);
  }
  uint32_t fixed32() {
    if (end_ - p_ < 4) fail("truncated fixed32");
    uint32_t v;
    std::memcpy(&v, p_, 4);
    p_ += 4;
    return v;
  }
  float f32() {
    const uint32_t bits = fixed32();
    float v;
    std::memcpy(&v, &bits, 4);
    return v;
  }
  void skip(uint32_t wire) {
    switch (wire) {
      case kVarint:
        varint();
        return;
      case kFixed64:
        if (end_ - p_ < 8) fail("truncated fixed64");
        p_ += 8;
        return;
      case kLength:
        sub();
        return;
      case kFixed32:
        fixed32();
        return;
      default:
        fail("unsupported wire type " + std::to_string(wire));
    }
  }
  void expect(uint32_t wire, uint32_t want, const char* field) {
    if (wire != want)
      fail(std::string("field ") + field + " has wire type " + std::to_string(wire));
  }
  // A repeated integer field: packed (one length-delimited run) or one value per key.
  template <typename T>
  void ints(uint32_t wire, std::vector<T>& out) {
    if (wire == kLength) {
      Reader r = sub();
      while (!r.done()) out.push_back(static_cast<T>(r.varint()));
    } else {
      expect(wire, kVarint, "repeated int");
      out.push_back(static_cast<T>(varint()));
    }
  }
  void floats(uint32_t wire, std::vector<float>& out) {
    if (wire == kLength) {
      Reader r = sub();
      if ((r.end_ - r.p_) % 4) fail("packed floats not a multiple of 4 bytes");
      while (!r.done()) out.push_back(r.f32());
    } else {
      expect(wire, kFixed32, "repeated float");
      out.push_back(f32());
    }
  }
  const std::string& origin() const { return origin_; }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
  const std::string& origin_;
};

TensorData parse_tensor(Reader r) {
  TensorData t;
  while (!r.done()) {
    uint32_t wire;
    switch (r.key(wire)) {
      case 1:
        r.ints(wire, t.dims);
        break;
      case 2:
        r.expect(wire, kVarint, "data_type");
        t.data_type = static_cast<int32_t>(r.varint());
        break;
      case 4:
        r.floats(wire, t.float_data);
        break;
      case 5:
        r.ints(wire, t.int32_data);
        break;
      case 7:
        r.ints(wire, t.int64_data);
        break;
      case 8:
        r.expect(wire, kLength, "name");
        t.name = r.string();
        break;
      case 9:
        r.expect(wire, kLength, "raw_data");
        t.raw_data = r.bytes();
        break;
      case 14:  // data_location: EXTERNAL weights live in other files, which we do not read
        r.expect(wire, kVarint, "data_location");
        if (r.varint() != 0) r.fail("tensor with external data is not supported");
        break;
      default:
        r.skip(wire);
    }
  }
  for (int64_t d : t.dims)
    if (d < 0) r.fail("tensor " + t.name + " has a negative dimension");
  return t;
}

Graph parse_graph(Reader r, int depth);

Attribute parse_attribute(Reader r, int depth) {
  Attribute a;
  while (!r.done()) {
    uint32_t wire;
    switch (r.key(wire)) {
      case 1:
        r.expect(wire, kLength, "attribute name");
        a.name = r.string();
        break;
      case 2:
        r.expect(wire, kFixed32, "f");
        a.f = r.f32();
        break;
      case 3:
        r.expect(wire, kVarint, "i");
        a.i = static_cast<int64_t>(r.varint());
        break;
      case 4:
        r.expect(wire, kLength, "s");
        a.s = r.string();
        break;
      case 5:
        r.expect(wire, kLength, "t");
        a.tensors.push_back(parse_tensor(r.sub()));
        break;
      case 6:
        r.expect(wire, kLength, "g");
        a.graphs.push_back(parse_graph(r.sub(), depth + 1));
        break;
      case 7:
        r.floats(wire, a.floats);
        break;
      case 8:
        r.ints(wire, a.ints);
        break;
      case 9:
        r.expect(wire, kLength, "strings");
        a.strings.push_back(r.string());
        break;
      case 10:
        r.expect(wire, kLength, "tensors");
        a.tensors.push_back(parse_tensor(r.sub()));
        break;
      case 11:
        r.expect(wire, kLength, "graphs");
        a.graphs.push_back(parse_graph(r.sub(), depth + 1));
        break;
      case 20:
        r.expect(wire, kVarint, "type");
        a.type = static_cast<int32_t>(r.varint());
        break;
      default:
        r.skip(wire);
    }
  }
  return a;
}

Node parse_node(Reader r, int depth) {
  Node n;
  while (!r.done()) {
    uint32_t wire;
    const uint32_t field = r.key(wire);
    if ((field >= 1 && field <= 5) || field == 7) r.expect(wire, kLength, "node field");
    switch (field) {
      case 1:
        n.inputs.push_back(r.string());
        break;
      case 2:
        n.outputs.push_back(r.string());
        break;
      case 3:
        n.name = r.string();
        break;
      case 4:
        n.op_type = r.string();
        break;
      case 5:
        n.attributes.push_back(parse_attribute(r.sub(), depth));
        break;
      case 7:
        n.domain = r.string();
        break;
      default:
        r.skip(wire);
    }
  }
  return n;
}

// ValueInfoProto: only the name (field 1) is kept.
std::string parse_value_name(Reader r) {
  std::string name;
  while (!r.done()) {
    uint32_t wire;
    if (r.key(wire) == 1) {
      r.expect(wire, kLength, "value name");
      name = r.string();
    } else {
      r.skip(wire);
    }
  }
  return name;
}

Graph parse_graph(Reader r, int depth) {
  if (depth > kMaxDepth) r.fail("sub-graphs nested too deeply");
  Graph g;
  while (!r.done()) {
    uint32_t wire;
    const uint32_t field = r.key(wire);
    if (field == 1 || field == 2 || field == 5 || field == 11 || field == 12)
      r.expect(wire, kLength, "graph field");
    switch (field) {
      case 1:
        g.nodes.push_back(parse_node(r.sub(), depth));
        break;
      case 2:
        g.name = r.string();
        break;
      case 5:
        g.initializers.push_back(parse_tensor(r.sub()));
        break;
      case 11:
        g.inputs.push_back(parse_value_name(r.sub()));
        break;
      case 12:
        g.outputs.push_back(parse_value_name(r.sub()));
        break;
      default:
        r.skip(wire);
    }
  }
  return g;
}

void collect(const Graph& g, std::vector<const Node*>& out) {
  for (const Node& n : g.nodes) {
    out.push_back(&n);
    for (const Attribute& a : n.attributes)
      for (const Graph& sub : a.graphs) collect(sub, out);
  }
}

}  // namespace

int64_t TensorData::numel() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

std::vector<float> TensorData::floats(const std::string& origin) const {
  const int64_t n = numel();
  std::vector<float> out;
  if (data_type == kFloat && !raw_data.empty()) {
    if (raw_data.size() != static_cast<size_t>(n) * 4)
      throw ModelError("onnx file " + origin + ": tensor " + name + " has " +
                       std::to_string(raw_data.size()) + " bytes for " + std::to_string(n) +
                       " floats");
    out.resize(n);
    std::memcpy(out.data(), raw_data.data(), raw_data.size());
  } else if (data_type == kFloat) {
    out = float_data;
  } else {
    for (int64_t v : int64s(origin)) out.push_back(static_cast<float>(v));
  }
  if (static_cast<int64_t>(out.size()) != n)
    throw ModelError("onnx file " + origin + ": tensor " + name + " has " +
                     std::to_string(out.size()) + " values, dims say " + std::to_string(n));
  return out;
}

std::vector<int64_t> TensorData::int64s(const std::string& origin) const {
  const int64_t n = numel();
  std::vector<int64_t> out;
  const size_t width = data_type == kInt64   ? 8
                       : data_type == kInt32 ? 4
                       : data_type == kBool  ? 1
                                             : 0;
  if (!width)
    throw ModelError("onnx file " + origin + ": tensor " + name + " has data type " +
                     std::to_string(data_type) + ", not an integer type");
  if (!raw_data.empty()) {
    if (raw_data.size() != static_cast<size_t>(n) * width)
      throw ModelError("onnx file " + origin + ": tensor " + name + " has " +
                       std::to_string(raw_data.size()) + " bytes for " + std::to_string(n) +
                       " values");
    for (int64_t i = 0; i < n; ++i) {
      int64_t v = 0;
      if (width == 8) std::memcpy(&v, raw_data.data() + i * 8, 8);
      if (width == 4) {
        int32_t w;
        std::memcpy(&w, raw_data.data() + i * 4, 4);
        v = w;
      }
      if (width == 1) v = raw_data[i];
      out.push_back(v);
    }
  } else if (data_type == kInt64) {
    out = int64_data;
  } else {
    out.assign(int32_data.begin(), int32_data.end());  // int32 and bool use int32_data
  }
  if (static_cast<int64_t>(out.size()) != n)
    throw ModelError("onnx file " + origin + ": tensor " + name + " has " +
                     std::to_string(out.size()) + " values, dims say " + std::to_string(n));
  return out;
}

const Attribute* Node::attribute(const std::string& key) const {
  for (const Attribute& a : attributes)
    if (a.name == key) return &a;
  return nullptr;
}

const TensorData* Graph::initializer(const std::string& key) const {
  for (const TensorData& t : initializers)
    if (t.name == key) return &t;
  return nullptr;
}

std::vector<const Node*> Graph::all_nodes() const {
  std::vector<const Node*> out;
  collect(*this, out);
  return out;
}

Model parse_model(std::span<const uint8_t> bytes, const std::string& origin) {
  Reader r(bytes.data(), bytes.data() + bytes.size(), origin);
  Model m;
  bool has_graph = false;
  while (!r.done()) {
    uint32_t wire;
    const uint32_t field = r.key(wire);
    switch (field) {
      case 1:
        r.expect(wire, kVarint, "ir_version");
        m.ir_version = static_cast<int64_t>(r.varint());
        break;
      case 2:
        r.expect(wire, kLength, "producer_name");
        m.producer_name = r.string();
        break;
      case 3:
        r.expect(wire, kLength, "producer_version");
        m.producer_version = r.string();
        break;
      case 7:
        r.expect(wire, kLength, "graph");
        m.graph = parse_graph(r.sub(), 0);
        has_graph = true;
        break;
      case 8: {
        r.expect(wire, kLength, "opset_import");
        Reader o = r.sub();
        OpsetId id;
        while (!o.done()) {
          uint32_t w;
          const uint32_t f = o.key(w);
          if (f == 1 && w == kLength)
            id.domain = o.string();
          else if (f == 2 && w == kVarint)
            id.version = static_cast<int64_t>(o.varint());
          else
            o.skip(w);
        }
        m.opsets.push_back(id);
        break;
      }
      default:
        r.skip(wire);
    }
  }
  if (!has_graph) r.fail("no graph (not an ONNX model?)");
  return m;
}

Model read_model(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelError("onnx file " + path.string() + ": cannot open");
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  if (in.bad()) throw ModelError("onnx file " + path.string() + ": read failed");
  return parse_model(bytes, path.string());
}

}  // namespace voiceman::models::onnx
