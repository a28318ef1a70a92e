#include "voiceman/tokenizer/tokenizer.h"

#include <algorithm>
#include <queue>

#include "voiceman/tokenizer/byte_level.h"
#include "voiceman/tokenizer/tokenizer_impl.h"
#include "voiceman/tokenizer/unicode.h"

namespace voiceman::tokenizer {
namespace {

using Impl = Tokenizer::Impl;

constexpr std::size_t kCacheCapacity = 10000;
constexpr std::size_t kCacheMaxPiece = 256;  // long pieces are rare and would bloat the cache

}  // namespace

void Impl::merge_symbols(std::vector<int32_t>* symbols) const {
  // HF's order: always the lowest-ranked adjacent pair, leftmost on ties.
  struct Candidate {
    int32_t rank, pos, left, right;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::vector<int32_t>& ids = *symbols;
  const auto n = static_cast<int32_t>(ids.size());
  std::vector<int32_t> prev(n), next(n);
  for (int32_t i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  auto consider = [&](int32_t pos) {
    if (pos < 0 || next[pos] < 0) return;
    const uint64_t key =
        (static_cast<uint64_t>(ids[pos]) << 32) | static_cast<uint32_t>(ids[next[pos]]);
    const auto it = merges.find(key);
    if (it != merges.end()) queue.push({it->second.rank, pos, ids[pos], ids[next[pos]]});
  };
  for (int32_t i = 0; i + 1 < n; ++i) consider(i);
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    const int32_t right = next[top.pos];
    // Stale when either side has been merged into something else since it was queued.
    if (ids[top.pos] < 0 || right < 0 || ids[top.pos] != top.left || ids[right] != top.right)
      continue;
    const uint64_t key = (static_cast<uint64_t>(top.left) << 32) | static_cast<uint32_t>(top.right);
    ids[top.pos] = merges.at(key).id;
    ids[right] = -1;
    next[top.pos] = next[right];
    if (next[right] >= 0) prev[next[right]] = top.pos;
    consider(prev[top.pos]);
    consider(top.pos);
  }
  std::erase(ids, -1);
}

void Impl::bpe(std::string_view piece, std::vector<int32_t>* out) const {
  if (piece.size() == 1) {
    out->push_back(byte_ids[static_cast<unsigned char>(piece[0])]);
    return;
  }
  const bool cacheable = piece.size() <= kCacheMaxPiece;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex);
    const auto it = cache.find(piece);
    if (it != cache.end()) {
      out->insert(out->end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> symbols;
  symbols.reserve(piece.size());
  if (ignore_merges) {
    // Some tokenizers take a whole piece that is itself a token without merging.
    std::string spelled;
    for (unsigned char b : piece) spelled += byte_level::byte_to_symbol()[b];
    if (const auto id = find(spelled)) symbols.push_back(*id);
  }
  if (symbols.empty()) {
    for (unsigned char b : piece) symbols.push_back(byte_ids[b]);
    merge_symbols(&symbols);
  }
  out->insert(out->end(), symbols.begin(), symbols.end());
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex);
    if (cache.size() >= kCacheCapacity) cache.clear();
    cache.emplace(std::string(piece), std::move(symbols));
  }
}

std::vector<int32_t> Tokenizer::encode(std::string_view text) const {
  const Impl& impl = *impl_;
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  std::vector<std::string_view> pieces;
  auto encode_plain = [&](std::string_view segment) {
    pieces.clear();
    byte_level::pre_tokenize(segment, &pieces);
    for (std::string_view piece : pieces) impl.bpe(piece, &out);
  };
  // Added tokens are cut out first (leftmost, then longest), as HF does.
  std::size_t start = 0;
  for (std::size_t pos = 0; pos < text.size(); ++pos) {
    if (!impl.added_first_byte[static_cast<unsigned char>(text[pos])]) continue;
    for (const Impl::Added& added : impl.added) {
      if (text.compare(pos, added.content.size(), added.content) != 0) continue;
      encode_plain(text.substr(start, pos - start));
      out.push_back(added.id);
      pos += added.content.size() - 1;
      start = pos + 1;
      break;
    }
  }
  encode_plain(text.substr(start));
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
  std::string bytes;
  for (int32_t id : ids) {
    if (id >= 0 && id < impl_->eot) bytes += impl_->bytes[id];
  }
  return unicode::to_utf8(unicode::decode_lossy(bytes));
}

std::string Tokenizer::decode_with_specials(std::span<const int32_t> ids) const {
  std::string out, bytes;
  for (int32_t id : ids) {
    if (id >= 0 && id < impl_->eot) {
      bytes += impl_->bytes[id];
    } else {
      // Each special is its own segment, as in faster-whisper's decode_with_timestamps.
      out += unicode::to_utf8(unicode::decode_lossy(bytes));
      bytes.clear();
      impl_->append_special(id, &out);
    }
  }
  return out + unicode::to_utf8(unicode::decode_lossy(bytes));
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  return impl_->find(token);
}

std::string Tokenizer::id_to_token(int32_t id) const {
  const Impl& impl = *impl_;
  if (id >= 0 && static_cast<std::size_t>(id) < impl.tokens.size()) return impl.tokens[id];
  if (!impl.timestamps_listed && id >= impl.timestamp_begin &&
      id < impl.timestamp_begin + Impl::kTimestampCount)
    return format_timestamp(id - impl.timestamp_begin);
  return "";
}

int32_t Tokenizer::vocab_size() const { return static_cast<int32_t>(impl_->tokens.size()); }

bool Tokenizer::multilingual() const { return impl_->multilingual; }

decoding::SpecialTokens Tokenizer::special_tokens() const {
  const Impl& impl = *impl_;
  decoding::SpecialTokens s;
  s.eot = impl.eot;
  s.sot = impl.sot;
  s.sot_prev = impl.sot_prev;
  s.sot_lm = impl.sot_lm;
  s.no_speech = impl.no_speech;
  s.no_timestamps = impl.no_timestamps;
  s.timestamp_begin = impl.timestamp_begin;
  s.transcribe = impl.transcribe;
  s.translate = impl.translate;
  s.lang_ids = impl.lang_ids;
  return s;
}

std::optional<int32_t> Tokenizer::language_token(std::string_view code) const {
  const Impl& impl = *impl_;
  for (std::size_t i = 0; i < impl.lang_codes.size(); ++i) {
    if (impl.lang_codes[i] == code) return impl.lang_ids[i];
  }
  return std::nullopt;
}

std::vector<std::string> Tokenizer::language_codes() const { return impl_->lang_codes; }

}  // namespace voiceman::tokenizer
