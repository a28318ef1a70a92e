#include "voiceman/engine/models/zip_reader.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "voiceman/core/errors.h"

namespace voiceman::models {

namespace {

constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kEndOfCentral = 0x06054b50;
constexpr uint32_t kZip64Locator = 0x07064b50;
constexpr uint32_t kZip64End = 0x06064b50;

// Little-endian field reads with bounds checks against the archive size.
class Cursor {
 public:
  Cursor(const std::vector<uint8_t>& b, uint64_t pos) : b_(&b), pos_(pos) {}
  bool ok(uint64_t n) const { return pos_ <= b_->size() && n <= b_->size() - pos_; }
  template <typename T>
  T get() {
    if (!ok(sizeof(T))) throw std::out_of_range("zip field");
    T v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>((*b_)[pos_ + i]) << (8 * i);
    pos_ += sizeof(T);
    return v;
  }
  std::string str(uint64_t n) {
    if (!ok(n)) throw std::out_of_range("zip name");
    std::string s(reinterpret_cast<const char*>(b_->data() + pos_), n);
    pos_ += n;
    return s;
  }
  void skip(uint64_t n) {
    if (!ok(n)) throw std::out_of_range("zip skip");
    pos_ += n;
  }
  uint64_t pos() const { return pos_; }

 private:
  const std::vector<uint8_t>* b_;
  uint64_t pos_;
};

}  // namespace

bool ZipReader::looks_like_zip(const std::vector<uint8_t>& bytes) {
  return bytes.size() >= 4 && bytes[0] == 'P' && bytes[1] == 'K' && bytes[2] == 3 && bytes[3] == 4;
}

void ZipReader::fail(const std::string& what) const {
  throw ModelError(origin_.string() + ": not a readable PyTorch zip archive: " + what);
}

ZipReader::ZipReader(std::vector<uint8_t> bytes, std::filesystem::path origin)
    : bytes_(std::move(bytes)), origin_(std::move(origin)) {
  // The end-of-central-directory record is in the last 22 + 65535 bytes.
  if (bytes_.size() < 22) fail("too short");
  int64_t eocd = -1;
  const int64_t lowest = std::max<int64_t>(0, static_cast<int64_t>(bytes_.size()) - 22 - 65535);
  for (int64_t p = static_cast<int64_t>(bytes_.size()) - 22; p >= lowest; --p) {
    if (Cursor(bytes_, p).get<uint32_t>() == kEndOfCentral) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) fail("no end of central directory (truncated?)");
  try {
    Cursor c(bytes_, eocd + 4);
    c.skip(6);  // disk numbers, entries on this disk
    uint64_t count = c.get<uint16_t>();
    uint64_t cd_size = c.get<uint32_t>();
    uint64_t cd_offset = c.get<uint32_t>();
    // ZIP64: the real values live in the ZIP64 end record that the locator points to.
    if (eocd >= 20 && Cursor(bytes_, eocd - 20).get<uint32_t>() == kZip64Locator) {
      Cursor loc(bytes_, eocd - 12);  // after the signature and disk number
      const uint64_t z64 = loc.get<uint64_t>();
      Cursor z(bytes_, z64);
      if (z.get<uint32_t>() != kZip64End) fail("bad ZIP64 end record");
      z.skip(8 + 2 + 2 + 4 + 4 + 8);  // record size, versions, disks, entries on disk
      count = z.get<uint64_t>();
      cd_size = z.get<uint64_t>();
      cd_offset = z.get<uint64_t>();
    }
    if (cd_offset + cd_size > bytes_.size()) fail("central directory past the end (truncated?)");
    Cursor d(bytes_, cd_offset);
    for (uint64_t i = 0; i < count; ++i) {
      if (d.get<uint32_t>() != kCentralHeader) fail("bad central directory entry");
      d.skip(4);  // versions
      const uint16_t flags = d.get<uint16_t>();
      Entry e;
      e.method = d.get<uint16_t>();
      d.skip(4);  // time, date
      e.crc = d.get<uint32_t>();
      e.compressed = d.get<uint32_t>();
      e.size = d.get<uint32_t>();
      const uint16_t name_len = d.get<uint16_t>();
      const uint16_t extra_len = d.get<uint16_t>();
      const uint16_t comment_len = d.get<uint16_t>();
      d.skip(8);  // disk, attributes
      e.local_offset = d.get<uint32_t>();
      e.name = d.str(name_len);
      // ZIP64 extra field: 64-bit values for whichever fields are saturated, in order.
      Cursor x(bytes_, d.pos());
      d.skip(extra_len);
      while (x.pos() + 4 <= d.pos()) {
        const uint16_t id = x.get<uint16_t>();
        const uint16_t len = x.get<uint16_t>();
        const uint64_t next = x.pos() + len;
        if (id == 1) {
          if (e.size == 0xffffffffu) e.size = x.get<uint64_t>();
          if (e.compressed == 0xffffffffu) e.compressed = x.get<uint64_t>();
          if (e.local_offset == 0xffffffffu) e.local_offset = x.get<uint64_t>();
        }
        x = Cursor(bytes_, next);
      }
      d.skip(comment_len);
      if (flags & 1) fail(e.name + " is encrypted");
      names_.push_back(e.name);
      entries_.push_back(std::move(e));
    }
  } catch (const std::out_of_range&) {
    fail("truncated central directory");
  }
}

bool ZipReader::has(const std::string& name) const {
  return std::find(names_.begin(), names_.end(), name) != names_.end();
}

const ZipReader::Entry& ZipReader::entry(const std::string& name) const {
  for (const Entry& e : entries_)
    if (e.name == name) return e;
  fail("no member " + name);
}

std::vector<uint8_t> ZipReader::read(const std::string& name) const {
  const Entry& e = entry(name);
  uint64_t data = 0;
  try {
    Cursor c(bytes_, e.local_offset);
    if (c.get<uint32_t>() != kLocalHeader) fail("bad local header for " + name);
    c.skip(22);
    const uint16_t name_len = c.get<uint16_t>();
    const uint16_t extra_len = c.get<uint16_t>();
    c.skip(uint64_t{name_len} + extra_len);
    data = c.pos();
    if (!c.ok(e.compressed)) fail(name + " is truncated");
  } catch (const std::out_of_range&) {
    fail(name + " is truncated");
  }
  std::vector<uint8_t> out(e.size);
  if (e.method == 0) {
    if (e.compressed != e.size) fail(name + ": stored sizes disagree");
    if (e.size) std::memcpy(out.data(), bytes_.data() + data, e.size);
  } else if (e.method == 8) {
    z_stream z{};
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) fail("zlib init");
    uint64_t in_done = 0, out_done = 0;
    int rc = Z_OK;
    // zlib counts in uInt: feed and drain in chunks so members over 4 GiB also work.
    while (rc == Z_OK) {
      const uint64_t in_chunk = std::min<uint64_t>(e.compressed - in_done, 1u << 30);
      const uint64_t out_chunk = std::min<uint64_t>(e.size - out_done, 1u << 30);
      z.next_in = const_cast<Bytef*>(bytes_.data() + data + in_done);
      z.avail_in = static_cast<uInt>(in_chunk);
      z.next_out = out.data() + out_done;
      z.avail_out = static_cast<uInt>(out_chunk);
      rc = inflate(&z, Z_NO_FLUSH);
      in_done += in_chunk - z.avail_in;
      out_done += out_chunk - z.avail_out;
      if (rc == Z_BUF_ERROR && in_chunk == 0) break;
      if (rc == Z_OK && in_chunk == z.avail_in && out_chunk == z.avail_out) break;  // stuck
    }
    inflateEnd(&z);
    if (rc != Z_STREAM_END || out_done != e.size) fail(name + ": corrupt deflate data");
  } else {
    fail(name + ": unsupported compression method " + std::to_string(e.method));
  }
  uLong crc = crc32(0L, Z_NULL, 0);
  for (uint64_t done = 0; done < e.size;) {
    const uInt n = static_cast<uInt>(std::min<uint64_t>(e.size - done, 1u << 30));
    crc = crc32(crc, out.data() + done, n);
    done += n;
  }
  if (static_cast<uint32_t>(crc) != e.crc) fail(name + ": CRC mismatch (corrupt file)");
  return out;
}

}  // namespace voiceman::models
