// The minimal ONNX reader on hand-built protobuf bytes: nested graphs, packed and
// unpacked repeated fields, unknown fields, and every truncation of a valid model.
#include "voiceman/engine/models/onnx_file.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "voiceman/core/errors.h"

namespace voiceman::models::onnx {
namespace {

// A tiny protobuf writer for the tests.
struct Pb {
  std::string b;
  Pb& varint(uint64_t v) {
    do {
      uint8_t byte = v & 0x7f;
      v >>= 7;
      if (v) byte |= 0x80;
      b.push_back(static_cast<char>(byte));
    } while (v);
    return *this;
  }
  Pb& key(uint32_t field, uint32_t wire) { return varint((uint64_t{field} << 3) | wire); }
  Pb& u(uint32_t field, uint64_t v) { return key(field, 0).varint(v); }
  Pb& s(uint32_t field, const std::string& v) {
    key(field, 2).varint(v.size());
    b += v;
    return *this;
  }
  Pb& m(uint32_t field, const Pb& msg) { return s(field, msg.b); }
  Pb& f(uint32_t field, float v) {
    key(field, 5);
    char raw[4];
    std::memcpy(raw, &v, 4);
    b.append(raw, 4);
    return *this;
  }
};

std::string raw_floats(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4);
}

Pb tensor_raw(const std::string& name, std::vector<int64_t> dims, const std::vector<float>& v) {
  Pb t;
  Pb packed;
  for (int64_t d : dims) packed.varint(d);
  t.s(1, packed.b).u(2, kFloat).s(8, name).s(9, raw_floats(v));
  return t;
}

Pb value(const std::string& name) { return Pb().s(1, name).s(2, "\x0a\x02\x08\x01"); }

// A model whose If node carries a then_branch with its own initializer and node.
std::vector<uint8_t> sample_model() {
  Pb then_graph;
  then_graph.m(1, Pb().s(1, "a").s(2, "b").s(4, "Relu"))
      .s(2, "then")
      .m(5, tensor_raw("inner", {2}, {1.5f, -2.f}));
  Pb else_graph;
  else_graph.m(1, Pb().s(1, "a").s(1, "").s(2, "b").s(4, "Sigmoid")).s(2, "else");
  Pb if_node;
  if_node.s(1, "cond")
      .s(2, "out")
      .s(3, "the_if")
      .s(4, "If")
      .m(5, Pb().s(1, "then_branch").u(20, Attribute::kGraph).m(6, then_graph))
      .m(5, Pb().s(1, "else_branch").u(20, Attribute::kGraph).m(6, else_graph));
  Pb conv;
  conv.s(1, "x")
      .s(1, "w")
      .s(2, "y")
      .s(4, "Conv")
      .s(3, "conv0")
      .m(5, Pb().s(1, "strides").u(20, Attribute::kInts).u(8, 2))                        // unpacked
      .m(5, Pb().s(1, "pads").u(20, Attribute::kInts).s(8, Pb().varint(1).varint(1).b))  // packed
      .m(5, Pb().s(1, "alpha").u(20, Attribute::kFloat).f(2, 0.25f))
      .m(5, Pb().s(1, "mode").u(20, Attribute::kString).s(4, "reflect"));
  Pb ints;
  ints.u(1, 3).u(2, kInt64).s(8, "shape").u(7, 4).u(7, 5).u(7, static_cast<uint64_t>(-1));
  Pb floats;  // float_data packed instead of raw_data
  floats.u(1, 2).u(2, kFloat).s(8, "fd").s(4, raw_floats({0.5f, 0.75f}));
  Pb graph;
  graph.m(1, conv)
      .m(1, if_node)
      .s(2, "main")
      .m(5, tensor_raw("w", {1, 2, 2}, {1, 2, 3, 4}))
      .m(5, ints)
      .m(5, floats)
      .m(11, value("x"))
      .m(12, value("y"))
      .u(99, 7);  // 99: unknown
  Pb model;
  model.u(1, 8)
      .s(2, "pytorch")
      .s(3, "2.8.0")
      .m(8, Pb().s(1, "").u(2, 16))
      .m(7, graph)
      .s(14, "ignored metadata");
  return {model.b.begin(), model.b.end()};
}

TEST(OnnxFile, ParsesGraphInitializersNodesAndSubGraphs) {
  const auto bytes = sample_model();
  const Model m = parse_model(bytes, "sample.onnx");
  EXPECT_EQ(m.ir_version, 8);
  EXPECT_EQ(m.producer_name, "pytorch");
  ASSERT_EQ(m.opsets.size(), 1u);
  EXPECT_EQ(m.opsets[0].version, 16);
  const Graph& g = m.graph;
  EXPECT_EQ(g.name, "main");
  EXPECT_EQ(g.inputs, std::vector<std::string>{"x"});
  EXPECT_EQ(g.outputs, std::vector<std::string>{"y"});
  ASSERT_EQ(g.nodes.size(), 2u);
  const Node& conv = g.nodes[0];
  EXPECT_EQ(conv.op_type, "Conv");
  EXPECT_EQ(conv.name, "conv0");
  EXPECT_EQ(conv.inputs, (std::vector<std::string>{"x", "w"}));
  ASSERT_NE(conv.attribute("strides"), nullptr);
  EXPECT_EQ(conv.attribute("strides")->ints, std::vector<int64_t>{2});
  EXPECT_EQ(conv.attribute("pads")->ints, (std::vector<int64_t>{1, 1}));
  EXPECT_FLOAT_EQ(conv.attribute("alpha")->f, 0.25f);
  EXPECT_EQ(conv.attribute("mode")->s, "reflect");
  EXPECT_EQ(conv.attribute("missing"), nullptr);

  const TensorData* w = g.initializer("w");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->dims, (std::vector<int64_t>{1, 2, 2}));
  EXPECT_EQ(w->floats("sample.onnx"), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(g.initializer("shape")->int64s("sample.onnx"), (std::vector<int64_t>{4, 5, -1}));
  EXPECT_EQ(g.initializer("fd")->floats("sample.onnx"), (std::vector<float>{0.5f, 0.75f}));
  EXPECT_THROW(g.initializer("w")->int64s("sample.onnx"), ModelError);

  const Node& iff = g.nodes[1];
  EXPECT_EQ(iff.op_type, "If");
  const Attribute* then_branch = iff.attribute("then_branch");
  ASSERT_NE(then_branch, nullptr);
  ASSERT_EQ(then_branch->graphs.size(), 1u);
  const Graph& sub = then_branch->graphs[0];
  EXPECT_EQ(sub.name, "then");
  EXPECT_EQ(sub.initializer("inner")->floats("x"), (std::vector<float>{1.5f, -2.f}));
  EXPECT_EQ(iff.attribute("else_branch")->graphs[0].nodes[0].inputs,
            (std::vector<std::string>{"a", ""}));
  std::vector<std::string> ops;
  for (const Node* n : g.all_nodes()) ops.push_back(n->op_type);
  EXPECT_EQ(ops, (std::vector<std::string>{"Conv", "If", "Relu", "Sigmoid"}));
}

TEST(OnnxFile, EveryTruncationIsAModelErrorOrAShorterModel) {
  const auto bytes = sample_model();
  int errors = 0;
  for (size_t n = 0; n < bytes.size(); ++n) {
    const std::span<const uint8_t> cut(bytes.data(), n);
    try {
      const Model m = parse_model(cut, "cut.onnx");
      // Cutting exactly after the graph field leaves a valid, complete graph.
      EXPECT_EQ(m.graph.nodes.size(), 2u) << "at " << n;
    } catch (const ModelError& e) {
      EXPECT_NE(std::string(e.what()).find("cut.onnx"), std::string::npos);
      ++errors;
    }
  }
  EXPECT_GE(errors, static_cast<int>(bytes.size()) - 30);
}

TEST(OnnxFile, MalformedInputIsAModelError) {
  auto bad = [](std::string b) { return std::vector<uint8_t>(b.begin(), b.end()); };
  // Length that runs past the end.
  EXPECT_THROW(parse_model(bad(Pb().key(7, 2).varint(100).b + "xx"), "m"), ModelError);
  // Group wire types (3, 4) are not supported.
  EXPECT_THROW(parse_model(bad(Pb().key(5, 3).b), "m"), ModelError);
  // Field number 0.
  EXPECT_THROW(parse_model(bad(std::string("\x00\x01", 2)), "m"), ModelError);
  // An unterminated varint.
  EXPECT_THROW(parse_model(bad(std::string(11, '\xff')), "m"), ModelError);
  // No graph.
  EXPECT_THROW(parse_model(bad(Pb().u(1, 8).b), "m"), ModelError);
  // A raw_data size that does not match dims.
  Pb t = tensor_raw("w", {3}, {1.f, 2.f});
  const auto m = parse_model(bad(Pb().m(7, Pb().m(5, t)).b), "m");
  EXPECT_THROW(m.graph.initializer("w")->floats("m"), ModelError);
  // Sub-graphs nested past the limit.
  Pb g;
  for (int i = 0; i < 40; ++i)
    g = Pb().m(1, Pb().s(4, "If").m(5, Pb().s(1, "then_branch").m(6, g)));
  EXPECT_THROW(parse_model(bad(Pb().m(7, g).b), "m"), ModelError);
  // A missing file names the file.
  try {
    read_model("/nonexistent/silero.onnx");
    FAIL();
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/silero.onnx"), std::string::npos);
  }
}

}  // namespace
}  // namespace voiceman::models::onnx
