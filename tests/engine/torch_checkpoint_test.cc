// PyTorch checkpoint reader on checkpoints written byte by byte here (zip and legacy
// formats, stored and deflated members), on damaged copies, and on the real models.
#include "voiceman/engine/models/torch_checkpoint.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "support/paths.h"
#include "voiceman/core/errors.h"

namespace voiceman::models {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

// A tiny pickle writer (protocol 2 opcodes, as torch.save emits them).
struct Pickle {
  Bytes b{0x80, 2};
  Pickle& op(uint8_t o) {
    b.push_back(o);
    return *this;
  }
  Pickle& raw(const void* p, size_t n) {
    b.insert(b.end(), static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + n);
    return *this;
  }
  Pickle& str(const std::string& s) {
    const uint32_t n = static_cast<uint32_t>(s.size());
    return op('X').raw(&n, 4).raw(s.data(), n);
  }
  Pickle& integer(int32_t v) { return op('J').raw(&v, 4); }
  Pickle& real(double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    op('G');
    for (int i = 7; i >= 0; --i) b.push_back(static_cast<uint8_t>(bits >> (8 * i)));
    return *this;
  }
  Pickle& global(const std::string& module, const std::string& name) {
    op('c').raw(module.data(), module.size()).op('\n');
    return raw(name.data(), name.size()).op('\n');
  }
  Pickle& ints(std::initializer_list<int32_t> v) {
    op('(');
    for (int32_t i : v) integer(i);
    return op('t');
  }
  // torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())
  Pickle& tensor(const std::string& storage_type, const std::string& key, int32_t numel,
                 int32_t offset, std::initializer_list<int32_t> size,
                 std::initializer_list<int32_t> stride) {
    global("torch._utils", "_rebuild_tensor_v2");
    op('(');
    op('(').str("storage").global("torch", storage_type).str(key).str("cpu").integer(numel);
    op('t').op('Q');
    integer(offset).ints(size).ints(stride).op(0x89);
    global("collections", "OrderedDict").op(')').op('R');
    return op('t').op('R');
  }
  Bytes done() {
    b.push_back('.');
    return b;
  }
};

// The pickle of a Lightning-like checkpoint over storages 0 (float32 [6]),
// 1 (float16 [2]) and 2 (int64 [1]).
Bytes lightning_pickle() {
  Pickle p;
  p.op('}').op('q').op(0).op('(');
  p.str("state_dict").global("collections", "OrderedDict").op(')').op('R').op('q').op(1).op('(');
  // w: the transposed [3, 2] view of storage 0 starting at element 0: w[i][j] = s[j*3+i]
  p.str("w").tensor("FloatStorage", "0", 6, 0, {3, 2}, {1, 3});
  p.str("half").tensor("HalfStorage", "1", 2, 1, {1}, {1});
  p.str("count").tensor("LongStorage", "2", 1, 0, {}, {});
  p.op('u');
  p.str("hyper_parameters").op('}').op('(');
  p.str("sample_rate").integer(16000).str("lstm").op('}').op('(').str("hidden_size");
  p.integer(128).op('u').str("name").str("PyanNet").op('u');
  p.str("pyannote.audio").op('}').op('(').str("specifications");
  // An unknown class: NEWOBJ then BUILD with a dict state.
  p.global("pyannote.audio.core.task", "Specifications").op(')').op(0x81);
  p.op('}').op('(').str("duration").real(5.0).op('u').op('b');
  p.op('u');
  p.op('u');
  return p.done();
}

Bytes storage0() {
  std::vector<float> v{0, 1, 2, 3, 4, 5};
  Bytes b(24);
  std::memcpy(b.data(), v.data(), 24);
  return b;
}
Bytes storage1() { return {0x00, 0x3c, 0x00, 0xc1}; }  // float16 1.0, -2.5
Bytes storage2() {
  const int64_t v = 42;
  Bytes b(8);
  std::memcpy(b.data(), &v, 8);
  return b;
}

void put16(Bytes& b, uint16_t v) { b.insert(b.end(), {uint8_t(v), uint8_t(v >> 8)}); }
void put32(Bytes& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// A zip archive of the members, stored or raw-deflated.
Bytes make_zip(const std::vector<std::pair<std::string, Bytes>>& members, bool compressed) {
  Bytes out, central;
  for (const auto& [name, data] : members) {
    Bytes body = data;
    if (compressed) {
      z_stream z{};
      deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
      body.resize(deflateBound(&z, data.size()) + 16);
      z.next_in = const_cast<Bytef*>(data.data());
      z.avail_in = static_cast<uInt>(data.size());
      z.next_out = body.data();
      z.avail_out = static_cast<uInt>(body.size());
      deflate(&z, Z_FINISH);
      body.resize(z.total_out);
      deflateEnd(&z);
    }
    const uint32_t crc =
        static_cast<uint32_t>(crc32(0, data.data(), static_cast<uInt>(data.size())));
    const uint32_t offset = static_cast<uint32_t>(out.size());
    for (Bytes* h : {&out, &central}) {
      const bool c = h == &central;
      put32(*h, c ? 0x02014b50 : 0x04034b50);
      if (c) put16(*h, 20);
      put16(*h, 20);
      put16(*h, 0);
      put16(*h, compressed ? 8 : 0);
      put32(*h, 0);
      put32(*h, crc);
      put32(*h, static_cast<uint32_t>(body.size()));
      put32(*h, static_cast<uint32_t>(data.size()));
      put16(*h, static_cast<uint16_t>(name.size()));
      put16(*h, 0);
      if (c) {
        put16(*h, 0);
        put16(*h, 0);
        put16(*h, 0);
        put32(*h, 0);
        put32(*h, offset);
      }
      h->insert(h->end(), name.begin(), name.end());
    }
    out.insert(out.end(), body.begin(), body.end());
  }
  const uint32_t cd_offset = static_cast<uint32_t>(out.size());
  out.insert(out.end(), central.begin(), central.end());
  put32(out, 0x06054b50);
  put32(out, 0);
  put16(out, static_cast<uint16_t>(members.size()));
  put16(out, static_cast<uint16_t>(members.size()));
  put32(out, static_cast<uint32_t>(central.size()));
  put32(out, cd_offset);
  put16(out, 0);
  return out;
}

Bytes zip_checkpoint(bool compressed) {
  return make_zip({{"archive/data.pkl", lightning_pickle()},
                   {"archive/data/0", storage0()},
                   {"archive/data/1", storage1()},
                   {"archive/data/2", storage2()},
                   {"archive/version", {'3', '\n'}}},
                  compressed);
}

fs::path write(const std::string& name, const Bytes& bytes) {
  const fs::path p = testing::scratch_dir("torch_checkpoint") / name;
  std::ofstream(p, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return p;
}

void expect_contents(const TorchCheckpoint& ck) {
  ASSERT_EQ(ck.tensors().size(), 3u);
  EXPECT_EQ(ck.tensors()[0].first, "w");  // file order
  const Tensor& w = ck.tensor("w", {3, 2});
  EXPECT_EQ(w.to_vector(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  const Tensor& h = ck.tensor("half");
  EXPECT_EQ(h.shape(), (Shape{1}));
  EXPECT_FLOAT_EQ(h.data<float>()[0], -2.5f);
  const Tensor& c = ck.tensor("count");
  EXPECT_EQ(c.dtype(), DType::i32);
  EXPECT_EQ(c.data<int32_t>()[0], 42);
  EXPECT_EQ(ck.int_value("hyper_parameters.sample_rate"), 16000);
  EXPECT_EQ(ck.int_value("hyper_parameters.lstm.hidden_size"), 128);
  EXPECT_EQ(ck.string_value("hyper_parameters.name"), "PyanNet");
  EXPECT_EQ(ck.number("pyannote.audio.specifications.duration"), 5.0);
  EXPECT_EQ(ck.find("pyannote.audio.specifications")->text,
            "pyannote.audio.core.task.Specifications");
  EXPECT_FALSE(ck.int_value("hyper_parameters.missing").has_value());
}

TEST(TorchCheckpoint, ReadsStoredZip) {
  expect_contents(TorchCheckpoint::load(write("stored.pt", zip_checkpoint(false))));
}

TEST(TorchCheckpoint, ReadsDeflatedZip) {
  expect_contents(TorchCheckpoint::load(write("deflated.pt", zip_checkpoint(true))));
}

TEST(TorchCheckpoint, ReadsLegacyFormat) {
  // magic number, protocol version, sys info, object, storage keys, raw storages.
  Bytes b;
  const uint8_t magic_long[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
  Pickle m;
  m.op(0x8a).op(10).raw(magic_long, 10);
  for (const Bytes& part :
       {m.done(), Pickle().integer(1001).done(), Pickle().op('}').done(), lightning_pickle(),
        Pickle().op('(').str("0").str("1").str("2").op('l').done()})
    b.insert(b.end(), part.begin(), part.end());
  for (const auto& [n, s] :
       {std::pair<int64_t, Bytes>{6, storage0()}, {2, storage1()}, {1, storage2()}}) {
    b.insert(b.end(), reinterpret_cast<const uint8_t*>(&n),
             reinterpret_cast<const uint8_t*>(&n) + 8);
    b.insert(b.end(), s.begin(), s.end());
  }
  expect_contents(TorchCheckpoint::load(write("legacy.pt", b)));
  // Truncated inside the last storage.
  b.resize(b.size() - 3);
  EXPECT_THROW(TorchCheckpoint::load(write("legacy_cut.pt", b)), ModelError);
}

void expect_error(const std::string& name, const Bytes& bytes, const std::string& needle) {
  const fs::path p = write(name, bytes);
  try {
    TorchCheckpoint::load(p);
    FAIL() << name << " loaded";
  } catch (const ModelError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  }
}

TEST(TorchCheckpoint, DamagedFilesFailWithModelError) {
  const Bytes good = zip_checkpoint(true);
  expect_error("cut.pt", Bytes(good.begin(), good.begin() + good.size() / 2), "truncated");
  Bytes flipped = good;
  flipped[60] ^= 0x55;  // inside data.pkl's deflated bytes
  expect_error("flipped.pt", flipped, "archive/data.pkl");
  expect_error("text.pt", Bytes{'h', 'e', 'l', 'l', 'o'}, "not a PyTorch checkpoint");
  // A storage member that is too short for its tensor.
  expect_error("short_storage.pt",
               make_zip({{"archive/data.pkl", lightning_pickle()},
                         {"archive/data/0", Bytes(8)},
                         {"archive/data/1", storage1()},
                         {"archive/data/2", storage2()}},
                        false),
               "past its storage");
  // A pickle cut short.
  Bytes pkl = lightning_pickle();
  pkl.resize(pkl.size() / 2);
  expect_error("short_pickle.pt",
               make_zip({{"archive/data.pkl", pkl}, {"archive/data/0", storage0()}}, false),
               "truncated");
  EXPECT_THROW(TorchCheckpoint::load("/nonexistent/model.pt"), ModelError);
}

TEST(TorchCheckpoint, RealCheckpoints) {
  const fs::path dir = testing::model_dir("diarization");
  if (!fs::exists(dir / "segmentation-whisperx.bin") || !fs::exists(dir / "resemblyzer.pt"))
    GTEST_SKIP() << "run scripts/fetch-diarization-models.sh";
  const auto seg = TorchCheckpoint::load(dir / "segmentation-whisperx.bin");
  EXPECT_EQ(seg.tensors().size(), 54u);
  EXPECT_EQ(seg.tensor("lstm.weight_ih_l0").shape(), (Shape{512, 60}));
  EXPECT_EQ(seg.int_value("hyper_parameters.lstm.num_layers"), 4);
  EXPECT_EQ(seg.number("pyannote.audio.specifications.duration"), 5.0);
  const auto rz = TorchCheckpoint::load(dir / "resemblyzer.pt");  // legacy format
  EXPECT_EQ(rz.tensor("lstm.weight_ih_l0").shape(), (Shape{1024, 40}));
  EXPECT_EQ(rz.tensor("linear.weight").shape(), (Shape{256, 256}));
}

}  // namespace
}  // namespace voiceman::models
