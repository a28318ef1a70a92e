#include "voiceman/engine/models/torch_pickle.h"

#include <cstdio>
#include <cstring>

namespace voiceman::models::detail {

using Ptr = PickleValue::Ptr;
using Kind = PickleValue::Kind;

namespace {

Ptr make(Kind kind) {
  auto v = std::make_shared<PickleValue>();
  v->kind = kind;
  return v;
}
Ptr make_int(int64_t i) {
  auto v = make(Kind::integer);
  v->integer = i;
  return v;
}
Ptr make_text(Kind kind, std::string s) {
  auto v = make(kind);
  v->text = std::move(s);
  return v;
}

StorageType storage_type(const std::string& global) {
  static const std::map<std::string, StorageType> kTypes = {
      {"FloatStorage", {"float32", 4}}, {"DoubleStorage", {"float64", 8}},
      {"HalfStorage", {"float16", 2}},  {"BFloat16Storage", {"bfloat16", 2}},
      {"LongStorage", {"int64", 8}},    {"IntStorage", {"int32", 4}},
      {"ShortStorage", {"int16", 2}},   {"CharStorage", {"int8", 1}},
      {"ByteStorage", {"uint8", 1}},    {"BoolStorage", {"bool", 1}}};
  const auto dot = global.rfind('.');
  const auto it = kTypes.find(global.substr(dot == std::string::npos ? 0 : dot + 1));
  if (it == kTypes.end()) throw ParseError{"unsupported storage type " + global};
  return it->second;
}

float half_to_float(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      int e = -1;
      uint32_t m = mant;
      do {
        ++e;
        m <<= 1;
      } while (!(m & 0x400));
      bits = sign | ((127 - 15 - e) << 23) | ((m & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Reads one element of the storage as double (floats) or int64 (integers).
template <typename T>
T load_as(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

}  // namespace

void materialise(PendingTensor& p) {
  const Storage& s = *p.storage;
  const size_t es = s.type.size;
  const int64_t numel = shape_numel(p.size);
  // Bounds: the furthest element any index can reach.
  int64_t last = p.offset + s.offset;
  for (size_t d = 0; d < p.size.size(); ++d)
    if (p.size[d] > 0) last += (p.size[d] - 1) * p.stride[d];
  if (numel > 0 && (last < 0 || static_cast<size_t>(last + 1) * es > s.bytes->size()))
    throw ParseError{"tensor reaches past its storage " + s.key + " (truncated?)"};
  const bool floating = s.type.dtype.find("float") != std::string::npos;
  Tensor t(p.size, floating ? DType::f32 : DType::i32);
  std::vector<int64_t> index(p.size.size(), 0);
  for (int64_t i = 0; i < numel; ++i) {
    int64_t e = p.offset + s.offset;
    for (size_t d = 0; d < index.size(); ++d) e += index[d] * p.stride[d];
    const uint8_t* src = s.bytes->data() + e * es;
    const std::string& dt = s.type.dtype;
    if (floating) {
      float v;
      if (dt == "float32") {
        v = load_as<float>(src);
      } else if (dt == "float64") {
        v = static_cast<float>(load_as<double>(src));
      } else if (dt == "float16") {
        v = half_to_float(load_as<uint16_t>(src));
      } else {  // bfloat16: the top half of a float32
        const uint32_t bits = uint32_t{load_as<uint16_t>(src)} << 16;
        std::memcpy(&v, &bits, 4);
      }
      t.data<float>()[i] = v;
    } else {
      int64_t v = 0;
      if (dt == "int64")
        v = load_as<int64_t>(src);
      else if (dt == "int32")
        v = load_as<int32_t>(src);
      else if (dt == "int16")
        v = load_as<int16_t>(src);
      else if (dt == "int8")
        v = load_as<int8_t>(src);
      else
        v = *src;  // uint8, bool
      t.data<int32_t>()[i] = static_cast<int32_t>(v);
    }
    for (int d = static_cast<int>(index.size()) - 1; d >= 0; --d) {
      if (++index[d] < p.size[d]) break;
      index[d] = 0;
    }
  }
  p.value->tensor = std::move(t);
  p.value->source_dtype = s.type.dtype;
}

namespace {

// The pickle virtual machine, restricted to what torch.save writes.
class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, StorageMap& st, std::vector<PendingTensor>& pending)
      : p_(data), end_(data + size), storages_(st), pending_(pending) {}

  Ptr load();
  size_t consumed(const uint8_t* base) const { return p_ - base; }

 private:
  uint8_t byte() {
    need(1);
    return *p_++;
  }
  void need(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) throw ParseError{"pickle is truncated"};
  }
  template <typename T>
  T num() {
    need(sizeof(T));
    T v = load_as<T>(p_);
    p_ += sizeof(T);
    return v;
  }
  std::string bytes(size_t n) {
    need(n);
    std::string s(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return s;
  }
  std::string line() {
    const uint8_t* nl = static_cast<const uint8_t*>(std::memchr(p_, '\n', end_ - p_));
    if (!nl) throw ParseError{"pickle is truncated"};
    std::string s(reinterpret_cast<const char*>(p_), nl - p_);
    p_ = nl + 1;
    return s;
  }
  Ptr pop() {
    if (stack_.empty()) throw ParseError{"pickle stack underflow"};
    Ptr v = stack_.back();
    stack_.pop_back();
    return v;
  }
  Ptr& top() {
    if (stack_.empty()) throw ParseError{"pickle stack underflow"};
    return stack_.back();
  }
  std::vector<Ptr> pop_mark() {
    if (marks_.empty()) throw ParseError{"pickle mark missing"};
    const size_t m = marks_.back();
    marks_.pop_back();
    if (m > stack_.size()) throw ParseError{"pickle mark past the stack"};
    std::vector<Ptr> items(stack_.begin() + m, stack_.end());
    stack_.resize(m);
    return items;
  }
  Ptr memo_get(int64_t i) {
    const auto it = memo_.find(i);
    if (it == memo_.end()) throw ParseError{"pickle memo " + std::to_string(i) + " missing"};
    return it->second;
  }
  Ptr tuple(std::vector<Ptr> items) {
    auto v = make(Kind::tuple);
    v->items = std::move(items);
    return v;
  }
  static Ptr long_from_bytes(const std::string& b) {
    int64_t v = 0;
    for (size_t i = 0; i < b.size() && i < 8; ++i)
      v |= int64_t{static_cast<uint8_t>(b[i])} << (8 * i);
    if (!b.empty() && b.size() < 8 && (static_cast<uint8_t>(b.back()) & 0x80))
      v -= int64_t{1} << (8 * b.size());  // two's complement sign
    // Beyond int64 (the legacy magic number) only the low 64 bits are kept.
    return make_int(v);
  }
  void set_items(const Ptr& dict, const std::vector<Ptr>& kv);
  Ptr call(const Ptr& callable, const Ptr& args);
  Ptr persistent(const Ptr& pid);

  const uint8_t* p_;
  const uint8_t* end_;
  std::vector<Ptr> stack_;
  std::vector<size_t> marks_;
  std::map<int64_t, Ptr> memo_;
  StorageMap& storages_;
  std::vector<PendingTensor>& pending_;
};

void Unpickler::set_items(const Ptr& dict, const std::vector<Ptr>& kv) {
  if (kv.size() % 2) throw ParseError{"odd SETITEMS"};
  if (dict->kind != Kind::dict) return;  // items of an opaque mapping: ignored
  for (size_t i = 0; i < kv.size(); i += 2) {
    bool replaced = false;
    if (kv[i]->kind == Kind::string)
      for (auto& e : dict->entries)
        if (e.first->kind == Kind::string && e.first->text == kv[i]->text) {
          e.second = kv[i + 1];
          replaced = true;
        }
    if (!replaced) dict->entries.emplace_back(kv[i], kv[i + 1]);
  }
}

Shape shape_of(const Ptr& v) {
  if (!v || (v->kind != Kind::tuple && v->kind != Kind::list)) throw ParseError{"bad tensor shape"};
  Shape s;
  for (const Ptr& i : v->items) {
    if (i->kind != Kind::integer) throw ParseError{"bad tensor shape"};
    s.push_back(i->integer);
  }
  return s;
}

Ptr Unpickler::call(const Ptr& callable, const Ptr& args) {
  const std::string name = callable->kind == Kind::global ? callable->text : "";
  const std::vector<Ptr> no_args;
  const std::vector<Ptr>& a =
      args && (args->kind == Kind::tuple || args->kind == Kind::list) ? args->items : no_args;
  if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
    if (a.size() < 4 || a[0]->kind != Kind::storage || a[1]->kind != Kind::integer)
      throw ParseError{"bad " + name + " arguments"};
    PendingTensor p;
    p.value = make(Kind::tensor);
    p.storage = storages_.at(a[0]->text);
    p.offset = a[1]->integer;
    p.size = shape_of(a[2]);
    p.stride = shape_of(a[3]);
    if (p.size.size() != p.stride.size()) throw ParseError{"tensor size and stride disagree"};
    pending_.push_back(p);
    return p.value;
  }
  if (name == "torch._utils._rebuild_parameter" ||
      name == "torch._utils._rebuild_parameter_with_state") {
    if (a.empty() || a[0]->kind != Kind::tensor) throw ParseError{"bad " + name + " arguments"};
    return a[0];
  }
  if (name == "collections.OrderedDict" || name == "builtins.dict" || name == "__builtin__.dict" ||
      name == "collections.defaultdict") {
    auto d = make(Kind::dict);
    // dict(iterable of pairs) as written for OrderedDict by protocol 0/1 pickles.
    if (name != "collections.defaultdict" && !a.empty() && a[0]->kind == Kind::list)
      for (const Ptr& pair : a[0]->items)
        if (pair->items.size() == 2) d->entries.emplace_back(pair->items[0], pair->items[1]);
    return d;
  }
  if ((name == "builtins.int" || name == "__builtin__.long" || name == "__builtin__.int") &&
      a.size() == 1 && a[0]->is_number())
    return make_int(static_cast<int64_t>(a[0]->number()));
  if ((name == "builtins.list" || name == "__builtin__.list" || name == "builtins.set" ||
       name == "builtins.frozenset" || name == "builtins.tuple")) {
    auto l = make(name == "builtins.tuple" ? Kind::tuple : Kind::list);
    if (!a.empty() && (a[0]->kind == Kind::list || a[0]->kind == Kind::tuple))
      l->items = a[0]->items;
    return l;
  }
  // Anything else (omegaconf nodes, enums, pyannote's task objects): opaque.
  auto o = make(Kind::object);
  o->text = name.empty() ? "<call>" : name;
  o->items = a;
  return o;
}

Ptr Unpickler::persistent(const Ptr& pid) {
  // ('storage', storage_type, key, location, numel[, view_metadata])
  if (pid->kind != Kind::tuple || pid->items.size() < 5 || pid->items[0]->text != "storage")
    throw ParseError{"unsupported persistent id"};
  const auto& it = pid->items;
  if (it[1]->kind != Kind::global) throw ParseError{"bad storage type"};
  const std::string key =
      it[2]->kind == Kind::integer ? std::to_string(it[2]->integer) : it[2]->text;
  auto& s = storages_[key];
  if (!s) {
    s = std::make_shared<Storage>();
    s->key = key;
    s->type = storage_type(it[1]->text);
  }
  auto ref = make_text(Kind::storage, key);
  // Legacy view of a root storage: (view_key, offset, view_size).
  if (it.size() >= 6 && it[5]->kind == Kind::tuple && it[5]->items.size() == 3) {
    const std::string view_key = it[5]->items[0]->text;
    auto& v = storages_[view_key];
    if (!v) {
      v = std::make_shared<Storage>(*s);
      v->key = view_key;
      v->offset = it[5]->items[1]->integer;
    }
    ref->text = view_key;
  }
  return ref;
}

Ptr Unpickler::load() {
  for (;;) {
    const uint8_t op = byte();
    switch (op) {
      case 0x80:
        byte();
        break;  // PROTO
      case 0x95:
        num<uint64_t>();
        break;  // FRAME
      case '.':
        return pop();  // STOP
      case '(':
        marks_.push_back(stack_.size());
        break;  // MARK
      case '0':
        pop();
        break;  // POP
      case '1':
        pop_mark();
        break;  // POP_MARK
      case '2':
        stack_.push_back(top());
        break;  // DUP
      case 'N':
        stack_.push_back(make(Kind::none));
        break;
      case 0x88:
      case 0x89: {  // NEWTRUE / NEWFALSE
        auto v = make(Kind::boolean);
        v->flag = op == 0x88;
        v->integer = v->flag;
        stack_.push_back(v);
        break;
      }
      case 'J':
        stack_.push_back(make_int(num<int32_t>()));
        break;  // BININT
      case 'K':
        stack_.push_back(make_int(num<uint8_t>()));
        break;  // BININT1
      case 'M':
        stack_.push_back(make_int(num<uint16_t>()));
        break;  // BININT2
      case 0x8a:
        stack_.push_back(long_from_bytes(bytes(num<uint8_t>())));
        break;      // LONG1
      case 0x8b: {  // LONG4
        const int32_t n = num<int32_t>();
        if (n < 0) throw ParseError{"negative LONG4"};
        stack_.push_back(long_from_bytes(bytes(n)));
        break;
      }
      case 'I':
      case 'L': {  // INT / LONG (text)
        std::string s = line();
        if (!s.empty() && s.back() == 'L') s.pop_back();
        if (s == "01" || s == "00") {
          auto v = make(Kind::boolean);
          v->flag = s == "01";
          v->integer = v->flag;
          stack_.push_back(v);
        } else {
          stack_.push_back(make_int(std::stoll(s)));
        }
        break;
      }
      case 'G': {  // BINFLOAT (big-endian double)
        need(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | p_[i];
        p_ += 8;
        auto v = make(Kind::real);
        std::memcpy(&v->real, &bits, 8);
        stack_.push_back(v);
        break;
      }
      case 'F': {
        auto v = make(Kind::real);
        v->real = std::stod(line());
        stack_.push_back(v);
        break;
      }
      case 0x8c:
        stack_.push_back(make_text(Kind::string, bytes(num<uint8_t>())));
        break;
      case 'X':
        stack_.push_back(make_text(Kind::string, bytes(num<uint32_t>())));
        break;
      case 0x8d:
        stack_.push_back(make_text(Kind::string, bytes(num<uint64_t>())));
        break;
      case 'U':
        stack_.push_back(make_text(Kind::string, bytes(num<uint8_t>())));
        break;  // SHORT_BINSTRING
      case 'T':
        stack_.push_back(make_text(Kind::string, bytes(num<uint32_t>())));
        break;  // BINSTRING
      case 'C':
        stack_.push_back(make_text(Kind::bytes, bytes(num<uint8_t>())));
        break;
      case 'B':
        stack_.push_back(make_text(Kind::bytes, bytes(num<uint32_t>())));
        break;
      case 0x8e:
        stack_.push_back(make_text(Kind::bytes, bytes(num<uint64_t>())));
        break;
      case 0x96:
        stack_.push_back(make_text(Kind::bytes, bytes(num<uint64_t>())));
        break;  // BYTEARRAY8
      case 'V':
        stack_.push_back(make_text(Kind::string, line()));
        break;  // UNICODE (raw)
      case ']':
        stack_.push_back(make(Kind::list));
        break;
      case '}':
        stack_.push_back(make(Kind::dict));
        break;
      case ')':
        stack_.push_back(make(Kind::tuple));
        break;
      case 0x8f:
        stack_.push_back(make(Kind::list));
        break;  // EMPTY_SET
      case 'l': {
        auto v = make(Kind::list);
        v->items = pop_mark();
        stack_.push_back(v);
        break;
      }
      case 't':
        stack_.push_back(tuple(pop_mark()));
        break;
      case 0x85:
        stack_.push_back(tuple({pop()}));
        break;
      case 0x86: {
        Ptr b = pop(), a = pop();
        stack_.push_back(tuple({a, b}));
        break;
      }
      case 0x87: {
        Ptr c = pop(), b = pop(), a = pop();
        stack_.push_back(tuple({a, b, c}));
        break;
      }
      case 0x91: {  // FROZENSET
        auto v = make(Kind::list);
        v->items = pop_mark();
        stack_.push_back(v);
        break;
      }
      case 'd': {
        auto v = make(Kind::dict);
        set_items(v, pop_mark());
        stack_.push_back(v);
        break;
      }
      case 'a': {  // APPEND
        Ptr v = pop();
        if (top()->kind == Kind::list) top()->items.push_back(v);
        break;
      }
      case 'e':
      case 0x90: {  // APPENDS / ADDITEMS
        auto items = pop_mark();
        Ptr& l = top();
        if (l->kind == Kind::list) l->items.insert(l->items.end(), items.begin(), items.end());
        break;
      }
      case 's': {  // SETITEM
        Ptr v = pop(), k = pop();
        set_items(top(), {k, v});
        break;
      }
      case 'u': {  // SETITEMS
        auto kv = pop_mark();
        set_items(top(), kv);
        break;
      }
      case 'q':
        memo_[num<uint8_t>()] = top();
        break;  // BINPUT
      case 'r':
        memo_[num<uint32_t>()] = top();
        break;  // LONG_BINPUT
      case 'p':
        memo_[std::stoll(line())] = top();
        break;
      case 0x94:
        memo_[static_cast<int64_t>(memo_.size())] = top();
        break;  // MEMOIZE
      case 'h':
        stack_.push_back(memo_get(num<uint8_t>()));
        break;
      case 'j':
        stack_.push_back(memo_get(num<uint32_t>()));
        break;
      case 'g':
        stack_.push_back(memo_get(std::stoll(line())));
        break;
      case 'c': {  // GLOBAL "module\nname\n"
        std::string module = line();
        stack_.push_back(make_text(Kind::global, module + "." + line()));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        Ptr name = pop(), module = pop();
        stack_.push_back(make_text(Kind::global, module->text + "." + name->text));
        break;
      }
      case 'R': {  // REDUCE
        Ptr args = pop(), fn = pop();
        stack_.push_back(call(fn, args));
        break;
      }
      case 0x81: {  // NEWOBJ
        Ptr args = pop(), cls = pop();
        stack_.push_back(call(cls, args));
        break;
      }
      case 0x92: {  // NEWOBJ_EX
        pop();      // kwargs
        Ptr args = pop(), cls = pop();
        stack_.push_back(call(cls, args));
        break;
      }
      case 'b': {  // BUILD
        Ptr state = pop();
        Ptr& obj = top();
        if (obj->kind == Kind::object || obj->kind == Kind::dict) obj->state = state;
        break;
      }
      case 'Q':
        stack_.push_back(persistent(pop()));
        break;     // BINPERSID
      case 'P': {  // PERSID (text): legacy keys are not tuples here, unsupported
        throw ParseError{"text persistent ids are not supported"};
      }
      default: {
        char buf[8];
        std::snprintf(buf, sizeof buf, "0x%02x", op);
        throw ParseError{std::string("unsupported pickle opcode ") + buf};
      }
    }
  }
}

}  // namespace

PickleValue::Ptr unpickle(const uint8_t* data, size_t size, StorageMap& storages,
                          std::vector<PendingTensor>& pending, size_t* consumed) {
  Unpickler u(data, size, storages, pending);
  Ptr v = u.load();
  if (consumed) *consumed = u.consumed(data);
  return v;
}

int64_t load_int64(const uint8_t* p) { return load_as<int64_t>(p); }

}  // namespace voiceman::models::detail
