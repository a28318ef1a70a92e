// Reading tokenizer.json. A SAX pass fills the tables directly: building the DOM of the
// 2 MB file (50k-key object, 50k merges) costs several times more than the tables do.
#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "voiceman/core/errors.h"
#include "voiceman/tokenizer/byte_level.h"
#include "voiceman/tokenizer/tokenizer.h"
#include "voiceman/tokenizer/tokenizer_impl.h"

namespace voiceman::tokenizer {
namespace {

using json = nlohmann::json;
using Impl = Tokenizer::Impl;

constexpr int64_t kMaxTokenId = 1 << 22;  // Whisper needs ~52k; leave room for other BPEs

[[noreturn]] void fail(const std::filesystem::path& file, const std::string& what) {
  throw ModelError(file.string() + ": " + what);
}

// What tokenizer.json says, before cross-checking.
struct Parsed {
  std::string model_type;
  bool has_model = false, has_vocab = false, has_merges = false;
  bool ignore_merges = false;
  std::string pre_type;
  bool add_prefix_space = false, use_regex = true;
  bool has_normalizer = false;
  std::vector<std::pair<std::string, std::string>> merges;
  std::vector<Impl::Added> added;
};

// Where in the document an event happens; only the parts we read get their own context.
enum class Ctx { other, root, model, vocab, merges, merge_pair, added, added_token, pre };

class Handler : public nlohmann::json_sax<json> {
 public:
  // The sentinel frame stands for "outside everything", so top() is always valid.
  Handler(Impl& impl, Parsed& out) : impl_(impl), out_(out), stack_{{Ctx::other, {}}} {}

  bool null() override { return true; }
  bool boolean(bool v) override {
    const Ctx ctx = top().ctx;
    if (ctx == Ctx::model && top().key == "ignore_merges") out_.ignore_merges = v;
    if (ctx == Ctx::pre && top().key == "add_prefix_space") out_.add_prefix_space = v;
    if (ctx == Ctx::pre && top().key == "use_regex") out_.use_regex = v;
    return true;
  }
  bool number_integer(number_integer_t v) override { return number(v); }
  bool number_unsigned(number_unsigned_t v) override { return number(static_cast<int64_t>(v)); }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool string(string_t& v) override {
    Frame& f = top();
    if (f.ctx == Ctx::model && f.key == "type") out_.model_type = v;
    if (f.ctx == Ctx::pre && f.key == "type") out_.pre_type = v;
    if (f.ctx == Ctx::added_token && f.key == "content") token_.content = std::move(v);
    if (f.ctx == Ctx::merges) {
      // Older files write "left right"; the left part is never empty.
      const auto space = v.find(' ', 1);
      if (space == std::string::npos) fail(impl_.file, "malformed merge \"" + v + "\"");
      out_.merges.emplace_back(v.substr(0, space), v.substr(space + 1));
    }
    if (f.ctx == Ctx::merge_pair) pair_.push_back(std::move(v));
    return true;
  }
  bool key(string_t& v) override {
    top().key = std::move(v);
    return true;
  }
  bool start_object(std::size_t) override {
    Ctx ctx = Ctx::other;
    if (stack_.size() == 1) {
      ctx = Ctx::root;
    } else if (top().ctx == Ctx::root) {
      if (top().key == "model") {
        ctx = Ctx::model;
        out_.has_model = true;
      }
      if (top().key == "pre_tokenizer") ctx = Ctx::pre;
      if (top().key == "normalizer") out_.has_normalizer = true;
    } else if (top().ctx == Ctx::model && top().key == "vocab") {
      ctx = Ctx::vocab;
      out_.has_vocab = true;
    } else if (top().ctx == Ctx::added) {
      ctx = Ctx::added_token;
      token_ = {"", -1};
    }
    stack_.push_back({ctx, {}});
    return true;
  }
  bool end_object() override {
    if (top().ctx == Ctx::added_token) {
      if (token_.id < 0) fail(impl_.file, "added token without an id");
      out_.added.push_back(std::move(token_));
    }
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    Ctx ctx = Ctx::other;
    if (top().ctx == Ctx::root && top().key == "added_tokens") ctx = Ctx::added;
    if (top().ctx == Ctx::model && top().key == "merges") {
      ctx = Ctx::merges;
      out_.has_merges = true;
    }
    if (top().ctx == Ctx::merges) {
      ctx = Ctx::merge_pair;
      pair_.clear();
    }
    stack_.push_back({ctx, {}});
    return true;
  }
  bool end_array() override {
    if (top().ctx == Ctx::merge_pair) {
      if (pair_.size() != 2) fail(impl_.file, "malformed merge entry");
      out_.merges.emplace_back(std::move(pair_[0]), std::move(pair_[1]));
    }
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    fail(impl_.file, std::string("invalid JSON: ") + e.what());
  }

 private:
  struct Frame {
    Ctx ctx;
    std::string key;
  };
  Frame& top() { return stack_.back(); }
  bool number(int64_t v) {
    Frame& f = top();
    const bool is_id = f.ctx == Ctx::vocab || (f.ctx == Ctx::added_token && f.key == "id");
    if (!is_id) return true;
    // Ids index dense tables; a wild one must not turn into a huge allocation.
    if (v < 0 || v >= kMaxTokenId) fail(impl_.file, "bad token id " + std::to_string(v));
    if (f.ctx == Ctx::vocab) {
      impl_.set_token(static_cast<int32_t>(v), std::move(f.key));
    } else {
      token_.id = static_cast<int32_t>(v);
    }
    return true;
  }

  Impl& impl_;
  Parsed& out_;
  std::vector<Frame> stack_;
  Impl::Added token_;
  std::vector<std::string> pair_;
};

void check_structure(const Impl& impl, const Parsed& p) {
  if (!p.has_model || !p.has_vocab || !p.has_merges)
    fail(impl.file, "no BPE model (model.vocab and model.merges)");
  if (!p.model_type.empty() && p.model_type != "BPE") fail(impl.file, "model.type is not BPE");
  if (p.pre_type != "ByteLevel")
    fail(impl.file, "pre_tokenizer is not ByteLevel (only GPT-2 style tokenizers are supported)");
  if (p.add_prefix_space || !p.use_regex)
    fail(impl.file, "ByteLevel add_prefix_space/use_regex variant is not supported");
  if (p.has_normalizer) fail(impl.file, "normalizers are not supported");
}

void build_tables(Impl& impl, Parsed& p) {
  const auto& symbols = byte_level::byte_to_symbol();
  for (int b = 0; b < 256; ++b) {
    const auto id = impl.find(symbols[b]);
    if (!id) fail(impl.file, "vocab lacks the byte-level symbol for byte " + std::to_string(b));
    impl.byte_ids[b] = *id;
  }
  impl.ignore_merges = p.ignore_merges;
  impl.merges.reserve(p.merges.size());
  std::string joined;
  for (std::size_t rank = 0; rank < p.merges.size(); ++rank) {
    const auto& [left, right] = p.merges[rank];
    joined.assign(left).append(right);
    const auto a = impl.find(left), b = impl.find(right), ab = impl.find(joined);
    if (!a || !b || !ab) fail(impl.file, "merge \"" + left + " " + right + "\" not in vocab");
    const uint64_t key = (static_cast<uint64_t>(*a) << 32) | static_cast<uint32_t>(*b);
    impl.merges.emplace(key, Impl::Merge{static_cast<int32_t>(rank), *ab});  // best rank wins
  }
  for (Impl::Added& token : p.added) {
    impl.set_token(token.id, token.content);
    if (token.content.empty()) continue;
    impl.added_first_byte[static_cast<unsigned char>(token.content[0])] = true;
    impl.added.push_back(std::move(token));
  }
  // Longest first: HF splits added tokens leftmost-longest.
  std::stable_sort(impl.added.begin(), impl.added.end(),
                   [](const Impl::Added& a, const Impl::Added& b) {
                     return a.content.size() > b.content.size();
                   });
}

void resolve_specials(Impl& impl) {
  auto need = [&](const char* name) {
    const auto id = impl.find(name);
    if (!id) fail(impl.file, std::string("missing special token ") + name);
    return *id;
  };
  impl.eot = need("<|endoftext|>");
  impl.sot = need("<|startoftranscript|>");
  impl.translate = need("<|translate|>");
  impl.transcribe = need("<|transcribe|>");
  impl.sot_lm = need("<|startoflm|>");
  impl.sot_prev = need("<|startofprev|>");
  impl.no_timestamps = need("<|notimestamps|>");
  const auto no_speech = impl.find("<|nospeech|>");
  impl.no_speech = no_speech ? *no_speech : need("<|nocaptions|>");
  const auto zero = impl.find("<|0.00|>");
  impl.timestamps_listed = zero.has_value();
  impl.timestamp_begin = zero ? *zero : impl.no_timestamps + 1;

  const auto listed = static_cast<int64_t>(impl.tokens.size());
  const int64_t full = impl.timestamps_listed ? listed : listed + Impl::kTimestampCount;
  impl.multilingual = full >= 51865;
  if (!impl.multilingual) return;
  // Language tokens sit between <|startoftranscript|> and <|translate|>.
  for (int32_t id = impl.sot + 1; id < impl.translate; ++id) {
    const std::string& token = impl.tokens[id];
    if (token.size() < 5 || token.rfind("<|", 0) != 0 || token.substr(token.size() - 2) != "|>")
      fail(impl.file, "unexpected token \"" + token + "\" among the language tokens");
    impl.lang_ids.push_back(id);
    impl.lang_codes.push_back(token.substr(2, token.size() - 4));
  }
}

}  // namespace

std::optional<int32_t> Impl::find(std::string_view token) const {
  const auto it = ids.find(token);
  if (it == ids.end()) return std::nullopt;
  return it->second;
}

void Impl::set_token(int32_t id, std::string token) {
  if (static_cast<std::size_t>(id) >= tokens.size()) {
    tokens.resize(id + 1);
    bytes.resize(id + 1);
  }
  bytes[id] = byte_level::symbols_to_bytes(token);
  ids[token] = id;
  tokens[id] = std::move(token);
}

Tokenizer Tokenizer::load(const std::filesystem::path& model_dir) {
  auto impl = std::make_shared<Impl>();
  impl->file = model_dir / "tokenizer.json";
  std::ifstream in(impl->file, std::ios::binary);
  if (!in || !std::filesystem::is_regular_file(impl->file))
    throw ModelError("tokenizer file not found or unreadable: " + impl->file.string());
  std::ostringstream text;
  text << in.rdbuf();
  const std::string data = text.str();

  impl->tokens.reserve(52000);
  impl->bytes.reserve(52000);
  impl->ids.reserve(52000);
  Parsed parsed;
  Handler handler(*impl, parsed);
  json::sax_parse(data, &handler);
  check_structure(*impl, parsed);
  build_tables(*impl, parsed);
  resolve_specials(*impl);
  return Tokenizer(std::move(impl));
}

}  // namespace voiceman::tokenizer
