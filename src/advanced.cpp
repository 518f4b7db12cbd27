// V8's value serialization format (ValueSerializer / ValueDeserializer), as Node 20 writes it
// with v8.serialize() and on an 'advanced' IPC channel: written here from the format's tags and
// from Node's own output, byte for byte.
//
// The choices V8 makes from a value's hidden representation are made here from the value:
//   - a number is an int32 ('I', zig-zag varint) when it is a Smi-sized integer and not -0, else
//     a double ('N');
//   - an array whose elements are all numbers, one of them not Smi-sized, is a double array: V8
//     then writes every element as a double;
//   - a string whose characters all fit in Latin-1 is one-byte ('"'), else two-byte ('c', aligned
//     to two bytes by a padding tag);
//   - an array with a hole, or with fewer elements than its length, is sparse ('a').
#include "childproc/advanced.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "childproc/json.hpp"
#include "internal/utf8.hpp"
#include "internal/wtf8.hpp"

namespace childproc::advanced {

namespace {

// The format's tags (v8/src/objects/value-serializer.cc).
enum Tag : std::uint8_t {
  kVersion = 0xFF,
  kPadding = 0x00,
  kVerifyObjectCount = '?',
  kTheHole = '-',
  kUndefined = '_',
  kNull = '0',
  kTrue = 'T',
  kFalse = 'F',
  kInt32 = 'I',
  kUint32 = 'U',
  kDouble = 'N',
  kBigInt = 'Z',
  kUtf8String = 'S',
  kOneByteString = '"',
  kTwoByteString = 'c',
  kObjectReference = '^',
  kBeginJSObject = 'o',
  kEndJSObject = '{',
  kBeginSparseJSArray = 'a',
  kEndSparseJSArray = '@',
  kBeginDenseJSArray = 'A',
  kEndDenseJSArray = '$',
  kDate = 'D',
  kTrueObject = 'y',
  kFalseObject = 'x',
  kNumberObject = 'n',
  kBigIntObject = 'z',
  kStringObject = 's',
  kRegExp = 'R',
  kBeginJSMap = ';',
  kEndJSMap = ':',
  kBeginJSSet = '\'',
  kEndJSSet = ',',
  kArrayBuffer = 'B',
  kArrayBufferView = 'V',
  kHostObject = '\\',
};

constexpr std::uint32_t kLatestVersion = 15;
constexpr std::uint32_t kOldestVersionRead = 13;  // the first with explicit host-object tags
constexpr std::uint32_t kMaxArrayIndex = 4294967294u;
constexpr std::uint32_t kRegExpFlagsMask = 0x1FF;

std::size_t element_size(ViewType type) {
  switch (type) {
    case ViewType::kInt16Array:
    case ViewType::kUint16Array:
      return 2;
    case ViewType::kInt32Array:
    case ViewType::kUint32Array:
    case ViewType::kFloat32Array:
      return 4;
    case ViewType::kFloat64Array:
    case ViewType::kBigInt64Array:
    case ViewType::kBigUint64Array:
      return 8;
    default:
      return 1;
  }
}

// A number V8 would hold as a Smi (31-bit Smis would differ; Node 20's 64-bit builds have 32-bit
// ones): written as kInt32.
bool is_smi(double d) {
  return d >= -2147483648.0 && d <= 2147483647.0 && d == std::trunc(d) &&
         !(d == 0 && std::signbit(d));
}

// The key is an array index ("0" .. "4294967294" in canonical form); its value in `index`.
bool array_index(std::string_view key, std::uint32_t& index) {
  if (key.empty() || key.size() > 10 || (key.size() > 1 && key[0] == '0')) return false;
  std::uint64_t v = 0;
  for (char c : key) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > kMaxArrayIndex) return false;
  index = static_cast<std::uint32_t>(v);
  return true;
}

// ---- writing --------------------------------------------------------------------------------

class Writer {
 public:
  Writer(std::string& out, HostObjects host, const Limits& limits)
      : out_(out), host_(host), limits_(limits) {}

  void write_header() {
    out_.push_back(static_cast<char>(kVersion));
    write_varint(kLatestVersion);
  }

  void write_value(const Value& v) {
    switch (v.type()) {
      case Value::Type::kUndefined:
        return tag(kUndefined);
      case Value::Type::kNull:
        return tag(kNull);
      case Value::Type::kBool:
        return tag(v.as_bool() ? kTrue : kFalse);
      case Value::Type::kNumber:
        return write_number(v.as_number());
      case Value::Type::kBigInt:
        tag(kBigInt);
        return write_bigint(v.as_bigint());
      case Value::Type::kString:
        return write_string(v.as_string());
      case Value::Type::kHole:
        throw std::invalid_argument("advanced::serialize: a Hole outside an array's elements");
      case Value::Type::kObject:
        return write_receiver(v);
    }
  }

 private:
  void tag(Tag t) { out_.push_back(static_cast<char>(t)); }

  void write_varint(std::uint64_t v) {
    do {
      auto byte = static_cast<std::uint8_t>(v & 0x7F);
      v >>= 7;
      if (v != 0) byte |= 0x80;
      out_.push_back(static_cast<char>(byte));
    } while (v != 0);
  }

  static std::size_t varint_size(std::uint64_t v) {
    std::size_t n = 1;
    while (v >= 0x80) {
      v >>= 7;
      ++n;
    }
    return n;
  }

  void write_raw_double(double d) {
    char bytes[8];
    std::memcpy(bytes, &d, 8);  // little-endian hosts only (see the static_assert below)
    out_.append(bytes, 8);
  }

  void write_number(double d) {
    if (is_smi(d)) {
      auto i = static_cast<std::int32_t>(d);
      tag(kInt32);
      write_varint((static_cast<std::uint32_t>(i) << 1) ^ static_cast<std::uint32_t>(i >> 31));
    } else {
      tag(kDouble);
      write_raw_double(d);
    }
  }

  void write_bigint(const BigInt& b) {
    std::size_t n = b.digits.size();
    while (n > 0 && b.digits[n - 1] == 0)
      --n;
    bool negative = b.negative && n > 0;
    write_varint((static_cast<std::uint64_t>(n) * 8 << 1) | (negative ? 1 : 0));
    for (std::size_t i = 0; i < n; ++i)
      for (int k = 0; k < 8; ++k)
        out_.push_back(static_cast<char>((b.digits[i] >> (8 * k)) & 0xFF));
  }

  void write_string(std::string_view s) {
    if (std::all_of(s.begin(), s.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
      tag(kOneByteString);
      write_varint(s.size());
      out_.append(s);
      return;
    }
    std::u16string units = detail::wtf8_to_utf16<char16_t>(s);
    if (std::all_of(units.begin(), units.end(), [](char16_t u) { return u <= 0xFF; })) {
      tag(kOneByteString);
      write_varint(units.size());
      for (char16_t u : units)
        out_.push_back(static_cast<char>(u));
      return;
    }
    // Two-byte data starts at an even offset of the whole buffer (V8 reads it in place).
    std::size_t byte_length = units.size() * 2;
    if ((out_.size() + 1 + varint_size(byte_length)) & 1) tag(kPadding);
    tag(kTwoByteString);
    write_varint(byte_length);
    for (char16_t u : units) {
      out_.push_back(static_cast<char>(u & 0xFF));
      out_.push_back(static_cast<char>(u >> 8));
    }
  }

  void write_key(std::string_view key) {
    std::uint32_t index;
    if (array_index(key, index))
      write_number(static_cast<double>(index));
    else
      write_string(key);
  }

  // Properties in JavaScript's enumeration order: integer indices ascending, then the rest as
  // inserted. `extra` are (index, value) pairs to merge in (a sparse array's elements).
  std::uint32_t write_properties(const Properties& props,
                                 std::vector<std::pair<std::uint32_t, const Value*>> indexed = {}) {
    std::uint32_t unused;
    if (indexed.empty() && std::none_of(props.begin(), props.end(), [&](const auto& p) {
          return array_index(p.first, unused);
        })) {
      // The common case, no index keys: insertion order is the order, nothing to sort.
      for (const auto& [key, value] : props) {
        write_string(key);
        write_value(value);
      }
      return static_cast<std::uint32_t>(props.size());
    }
    std::vector<const std::pair<std::string, Value>*> named;
    for (const auto& p : props) {
      std::uint32_t index;
      if (array_index(p.first, index))
        indexed.emplace_back(index, &p.second);
      else
        named.push_back(&p);
    }
    std::stable_sort(indexed.begin(), indexed.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [index, value] : indexed) {
      write_number(static_cast<double>(index));
      write_value(*value);
    }
    for (const auto* p : named) {
      write_string(p->first);
      write_value(p->second);
    }
    return static_cast<std::uint32_t>(indexed.size() + named.size());
  }

  // The id `object` was written with, or nullopt (and it gets the next one). Most messages hold a
  // few objects: a linear table, then a hash map past kLinearIds.
  std::optional<std::uint32_t> seen_or_assign(const HeapObject* object) {
    constexpr std::size_t kLinearIds = 32;
    if (ids_.empty()) {
      for (std::size_t i = 0; i < few_ids_.size(); ++i)
        if (few_ids_[i] == object) return static_cast<std::uint32_t>(i);
      if (few_ids_.size() < kLinearIds) {
        few_ids_.push_back(object);
        ++next_id_;
        return std::nullopt;
      }
      for (std::size_t i = 0; i < few_ids_.size(); ++i)
        ids_.emplace(few_ids_[i], static_cast<std::uint32_t>(i));
    }
    auto [it, inserted] = ids_.try_emplace(object, next_id_);
    if (!inserted) return it->second;
    ++next_id_;
    return std::nullopt;
  }

  void write_receiver(const Value& v) {
    std::shared_ptr<HeapObject> object = v.heap();
    if (std::optional<std::uint32_t> id = seen_or_assign(object.get())) {
      tag(kObjectReference);
      write_varint(*id);
      return;
    }
    if (++depth_ > limits_.max_depth)
      throw std::invalid_argument("advanced::serialize: nesting deeper than " +
                                  std::to_string(limits_.max_depth));
    std::visit([this](const auto& kind) { write_kind(kind); }, object->kind);
    --depth_;
  }

  void write_kind(const Object& o) {
    tag(kBeginJSObject);
    std::uint32_t n = write_properties(o.properties);
    tag(kEndJSObject);
    write_varint(n);
  }

  void write_kind(const Array& a) {
    if (a.elements.size() > 0xFFFFFFFFu)
      throw std::invalid_argument("advanced::serialize: an array longer than 2^32 - 1");
    auto length = std::max<std::uint32_t>(a.length, static_cast<std::uint32_t>(a.elements.size()));
    bool holey =
        length != a.elements.size() || std::any_of(a.elements.begin(), a.elements.end(),
                                                   [](const Value& e) { return e.is_hole(); });
    std::uint32_t unused;
    bool indexed_properties =
        std::any_of(a.properties.begin(), a.properties.end(),
                    [&](const auto& p) { return array_index(p.first, unused); });
    if (holey || indexed_properties) {
      tag(kBeginSparseJSArray);
      write_varint(length);
      std::vector<std::pair<std::uint32_t, const Value*>> elements;
      for (std::size_t i = 0; i < a.elements.size(); ++i)
        if (!a.elements[i].is_hole())
          elements.emplace_back(static_cast<std::uint32_t>(i), &a.elements[i]);
      std::uint32_t n = write_properties(a.properties, std::move(elements));
      tag(kEndSparseJSArray);
      write_varint(n);
      write_varint(length);
      return;
    }
    tag(kBeginDenseJSArray);
    write_varint(length);
    // All numbers, one not a Smi: V8 holds the array as doubles and writes each as one.
    bool doubles = !a.elements.empty() &&
                   std::all_of(a.elements.begin(), a.elements.end(),
                               [](const Value& e) { return e.is_number(); }) &&
                   std::any_of(a.elements.begin(), a.elements.end(),
                               [](const Value& e) { return !is_smi(e.as_number()); });
    for (const Value& e : a.elements) {
      if (doubles) {
        tag(kDouble);
        write_raw_double(e.as_number());
      } else {
        write_value(e);
      }
    }
    std::uint32_t n = write_properties(a.properties);
    tag(kEndDenseJSArray);
    write_varint(n);
    write_varint(length);
  }

  void write_kind(const Date& d) {
    tag(kDate);
    write_raw_double(d.time);
  }

  void write_kind(const RegExp& r) {
    tag(kRegExp);
    write_string(r.source);
    write_varint(r.flags & kRegExpFlagsMask);
  }

  void write_kind(const Map& m) {
    tag(kBeginJSMap);
    for (const auto& [key, value] : m.entries) {
      write_value(key);
      write_value(value);
    }
    tag(kEndJSMap);
    write_varint(m.entries.size() * 2);
  }

  void write_kind(const Set& s) {
    tag(kBeginJSSet);
    for (const Value& v : s.values)
      write_value(v);
    tag(kEndJSSet);
    write_varint(s.values.size());
  }

  void write_kind(const BooleanObject& b) { tag(b.value ? kTrueObject : kFalseObject); }

  void write_kind(const NumberObject& n) {
    tag(kNumberObject);
    write_raw_double(n.value);
  }

  void write_kind(const BigIntObject& b) {
    tag(kBigIntObject);
    write_bigint(b.value);
  }

  void write_kind(const StringObject& s) {
    tag(kStringObject);
    write_string(s.value);
  }

  void write_kind(const ArrayBuffer& b) {
    tag(kArrayBuffer);
    write_varint(b.bytes.size());
    out_.append(b.bytes);
  }

  void write_kind(const View& v) {
    tag(kHostObject);
    if (host_ == HostObjects::kChildProcess) write_varint(0);  // "an ArrayBufferView follows"
    write_varint(static_cast<std::uint32_t>(v.type));
    write_varint(v.bytes.size());
    out_.append(v.bytes);
  }

  std::string& out_;
  HostObjects host_;
  const Limits& limits_;
  std::vector<const HeapObject*> few_ids_;                    // ids 0..31, by position
  std::unordered_map<const HeapObject*, std::uint32_t> ids_;  // every id, once past those
  std::uint32_t next_id_ = 0;
  std::size_t depth_ = 0;
};

// ---- reading --------------------------------------------------------------------------------

class Reader {
 public:
  Reader(std::string_view in, HostObjects host, const Limits& limits)
      : in_(in), host_(host), limits_(limits), hole_budget_(in.size() + 1024) {}

  void read_header() {
    if (pos_ >= in_.size() || static_cast<std::uint8_t>(in_[pos_]) != kVersion)
      fail("no serialization header (0xFF)");
    ++pos_;
    std::uint32_t version = read_varint32();
    if (version < kOldestVersionRead || version > kLatestVersion)
      fail("unsupported serialization version " + std::to_string(version) + " (13 to 15 are read)");
  }

  Value read_value(bool in_dense_array = false) {
    std::size_t at = pos_;
    std::uint8_t t = read_tag();
    switch (t) {
      case kUndefined:
        return Undefined{};
      case kNull:
        return nullptr;
      case kTrue:
        return true;
      case kFalse:
        return false;
      case kInt32: {
        std::uint32_t z = read_varint32();
        return static_cast<double>(static_cast<std::int32_t>((z >> 1) ^ (0u - (z & 1))));
      }
      case kUint32:
        return static_cast<double>(read_varint32());
      case kDouble:
        return read_raw_double();
      case kBigInt:
        return read_bigint();
      case kOneByteString:
      case kTwoByteString:
      case kUtf8String:
        return read_string_body(t);
      case kObjectReference:
        return read_reference(at);
      case kTheHole:
        if (!in_dense_array) fail_at(at, "a hole ('-') outside a dense array");
        return Hole{};
      case kBeginJSObject:
      case kBeginDenseJSArray:
      case kBeginSparseJSArray:
      case kDate:
      case kTrueObject:
      case kFalseObject:
      case kNumberObject:
      case kBigIntObject:
      case kStringObject:
      case kRegExp:
      case kBeginJSMap:
      case kBeginJSSet:
      case kArrayBuffer:
      case kHostObject:
        return read_receiver(t, at);
      default:
        fail_at(at, "unsupported tag " + describe_tag(t));
    }
  }

 private:
  struct Slot {
    std::shared_ptr<HeapObject> object;
    bool open;  // still being read: a reference to it is a cycle
  };

  [[noreturn]] void fail(const std::string& what) const { fail_at(pos_, what); }
  [[noreturn]] static void fail_at(std::size_t at, const std::string& what) {
    throw DeserializeError("bad serialized value at byte " + std::to_string(at) + ": " + what, at);
  }

  static std::string describe_tag(std::uint8_t t) {
    static const char* hex = "0123456789abcdef";
    std::string s = "0x";
    s += hex[t >> 4];
    s += hex[t & 15];
    if (t >= 0x20 && t < 0x7F) {
      s += " ('";
      s += static_cast<char>(t);
      s += "')";
    }
    if (t == 'r') s += ": an Error, which this side does not read";
    if (t == kArrayBufferView) s += ": a V8 ArrayBufferView, which Node never writes";
    return s;
  }

  std::uint8_t read_byte() {
    if (pos_ >= in_.size()) fail("the input ends inside a value");
    return static_cast<std::uint8_t>(in_[pos_++]);
  }

  // The next tag, past padding and (old writers') object-count checks.
  std::uint8_t read_tag() {
    for (;;) {
      std::uint8_t t = read_byte();
      if (t == kPadding) continue;
      if (t == kVerifyObjectCount) {
        read_varint64();
        continue;
      }
      return t;
    }
  }

  std::uint8_t peek_tag() {
    std::size_t save = pos_;
    std::uint8_t t = read_tag();
    pos_ = save;
    return t;
  }

  std::uint64_t read_varint64() {
    std::uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      if (shift >= 70) fail("a varint longer than 10 bytes");
      std::uint8_t b = read_byte();
      if (shift < 64) v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return v;
    }
  }

  std::uint32_t read_varint32() {
    // As V8: bits past 32 are dropped.
    return static_cast<std::uint32_t>(read_varint64());
  }

  // A length that the rest of the input must hold `unit` bytes of.
  std::size_t read_length(std::size_t unit, const char* what) {
    std::size_t at = pos_;
    std::uint64_t n = read_varint64();
    if (n > (in_.size() - pos_) / unit)
      fail_at(at,
              std::string(what) + " of " + std::to_string(n) + " runs past the end of the input");
    return static_cast<std::size_t>(n);
  }

  std::string_view read_raw(std::size_t n) {
    std::string_view s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }

  double read_raw_double() {
    if (in_.size() - pos_ < 8) fail("the input ends inside a double");
    double d;
    std::memcpy(&d, in_.data() + pos_, 8);
    pos_ += 8;
    return d;
  }

  BigInt read_bigint() {
    std::size_t at = pos_;
    std::uint64_t bitfield = read_varint64();
    std::uint64_t bytes = bitfield >> 1;
    if (bytes % 8 != 0)
      fail_at(at, "a BigInt of " + std::to_string(bytes) + " bytes (not whole digits)");
    if (bytes > in_.size() - pos_) fail_at(at, "a BigInt runs past the end of the input");
    BigInt b;
    b.negative = (bitfield & 1) != 0;
    b.digits.resize(static_cast<std::size_t>(bytes / 8));
    for (auto& digit : b.digits) {
      std::uint64_t d = 0;
      for (int k = 0; k < 8; ++k)
        d |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(in_[pos_ + k])) << (8 * k);
      pos_ += 8;
      digit = d;
    }
    while (!b.digits.empty() && b.digits.back() == 0)
      b.digits.pop_back();
    if (b.digits.empty()) b.negative = false;
    return b;
  }

  std::string read_string_body(std::uint8_t t) {
    if (t == kOneByteString) {
      std::string_view latin1 = read_raw(read_length(1, "a string"));
      std::u16string units(latin1.begin(), latin1.end());
      for (std::size_t i = 0; i < latin1.size(); ++i)
        units[i] = static_cast<unsigned char>(latin1[i]);
      return detail::utf16_to_wtf8<char16_t>(units);
    }
    if (t == kUtf8String) return detail::sanitize_utf8(read_raw(read_length(1, "a string")));
    std::size_t at = pos_;
    std::size_t byte_length = read_length(1, "a two-byte string");
    if (byte_length % 2 != 0)
      fail_at(at, "a two-byte string of an odd byte length (" + std::to_string(byte_length) + ")");
    std::string_view raw = read_raw(byte_length);
    std::u16string units(byte_length / 2, u'\0');
    for (std::size_t i = 0; i < units.size(); ++i)
      units[i] = static_cast<char16_t>(static_cast<unsigned char>(raw[2 * i]) |
                                       (static_cast<unsigned char>(raw[2 * i + 1]) << 8));
    return detail::utf16_to_wtf8<char16_t>(units);  // a lone surrogate becomes WTF-8
  }

  std::string read_string() {
    std::size_t at = pos_;
    std::uint8_t t = read_tag();
    if (t != kOneByteString && t != kTwoByteString && t != kUtf8String)
      fail_at(at, "expected a string, found tag " + describe_tag(t));
    return read_string_body(t);
  }

  Value read_reference(std::size_t at) {
    std::uint32_t id = read_varint32();
    if (id >= slots_.size())
      fail_at(at, "a reference to object " + std::to_string(id) + " of " +
                      std::to_string(slots_.size()));
    const Slot& slot = slots_[id];
    return slot.open ? Value::back_reference(slot.object) : Value::reference(slot.object);
  }

  template <typename Kind>
  std::pair<Value, Kind*> open_object(Kind kind) {
    auto object = std::make_shared<HeapObject>(HeapObject{std::move(kind)});
    slots_.push_back({object, true});
    return {Value::reference(object), &std::get<Kind>(object->kind)};
  }

  Value read_receiver(std::uint8_t t, std::size_t at) {
    if (++depth_ > limits_.max_depth)
      fail_at(at, "nesting deeper than " + std::to_string(limits_.max_depth));
    std::size_t id = slots_.size();
    Value v = read_receiver_body(t, at);
    slots_[id].open = false;
    --depth_;
    return v;
  }

  Value read_receiver_body(std::uint8_t t, std::size_t at) {
    switch (t) {
      case kBeginJSObject: {
        auto [v, o] = open_object(Object{});
        std::uint32_t n = read_properties(o->properties, nullptr, kEndJSObject);
        check_count(n, "object");
        return v;
      }
      case kBeginDenseJSArray: {
        std::uint32_t length = read_varint32();
        auto [v, a] = open_object(Array{});
        a->length = length;
        a->elements.reserve(std::min<std::size_t>(length, in_.size() - pos_));
        for (std::uint32_t i = 0; i < length; ++i)
          a->elements.push_back(read_value(true));
        std::uint32_t n = read_properties(a->properties, a, kEndDenseJSArray);
        check_count(n, "dense array");
        check_count(length, "dense array length");
        return v;
      }
      case kBeginSparseJSArray: {
        std::uint32_t length = read_varint32();
        auto [v, a] = open_object(Array{});
        a->length = length;
        std::uint32_t n = read_properties(a->properties, a, kEndSparseJSArray);
        check_count(n, "sparse array");
        check_count(length, "sparse array length");
        return v;
      }
      case kDate:
        return open_object(Date{read_raw_double()}).first;
      case kTrueObject:
        return open_object(BooleanObject{true}).first;
      case kFalseObject:
        return open_object(BooleanObject{false}).first;
      case kNumberObject:
        return open_object(NumberObject{read_raw_double()}).first;
      case kBigIntObject: {
        auto [v, b] = open_object(BigIntObject{});
        b->value = read_bigint();
        return v;
      }
      case kStringObject: {
        auto [v, s] = open_object(StringObject{});
        s->value = read_string();
        return v;
      }
      case kRegExp: {
        auto [v, r] = open_object(RegExp{});
        r->source = read_string();
        std::size_t flags_at = pos_;
        r->flags = read_varint32();
        if ((r->flags & ~kRegExpFlagsMask) != 0)
          fail_at(flags_at, "RegExp flags " + std::to_string(r->flags) + " have unknown bits");
        return v;
      }
      case kBeginJSMap: {
        auto [v, m] = open_object(Map{});
        while (peek_tag() != kEndJSMap) {
          Value key = read_value();
          m->entries.emplace_back(std::move(key), read_value());
        }
        read_tag();
        check_count(m->entries.size() * 2, "Map");
        return v;
      }
      case kBeginJSSet: {
        auto [v, s] = open_object(Set{});
        while (peek_tag() != kEndJSSet)
          s->values.push_back(read_value());
        read_tag();
        check_count(s->values.size(), "Set");
        return v;
      }
      case kArrayBuffer: {
        auto [v, b] = open_object(ArrayBuffer{});
        b->bytes = std::string(read_raw(read_length(1, "an ArrayBuffer")));
        if (pos_ < in_.size() && peek_tag() == kArrayBufferView)
          fail("a V8 ArrayBufferView, which Node never writes");
        return v;
      }
      case kHostObject: {
        if (host_ == HostObjects::kChildProcess) {
          std::uint32_t kind = read_varint32();
          if (kind != 0)
            fail_at(at, "a host object of kind " + std::to_string(kind) +
                            " (only ArrayBufferViews, kind 0, are read)");
        }
        std::uint32_t type = read_varint32();
        if (type > static_cast<std::uint32_t>(ViewType::kBigUint64Array))
          fail_at(at, "an ArrayBufferView of unknown type " + std::to_string(type));
        auto [v, view] = open_object(View{static_cast<ViewType>(type), {}});
        std::size_t n = read_length(1, "an ArrayBufferView");
        if (n % element_size(view->type) != 0)
          fail_at(at, "a typed array of " + std::to_string(n) + " bytes, not whole elements");
        view->bytes = std::string(read_raw(n));
        return v;
      }
      default:
        fail_at(at, "unsupported tag " + describe_tag(t));
    }
  }

  // The count an end tag is followed by, which must be what was read.
  void check_count(std::size_t got, const char* what) {
    std::size_t at = pos_;
    std::uint32_t said = read_varint32();
    if (got != said)
      fail_at(at, std::string(what) + " says " + std::to_string(said) + ", found " +
                      std::to_string(got));
  }

  // key/value pairs up to `end`; returns how many. With `array`: index keys become elements
  // where that keeps memory bounded by the input (see Array), others stay properties.
  std::uint32_t read_properties(Properties& props, Array* array, std::uint8_t end) {
    std::uint32_t count = 0;
    // Repeated keys: a linear look for small objects, a map once one grows past kLinear.
    constexpr std::size_t kLinear = 16;
    std::unordered_map<std::string, std::size_t> where;
    auto find_key = [&](const std::string& key) -> std::optional<std::size_t> {
      if (props.size() <= kLinear) {
        for (std::size_t i = 0; i < props.size(); ++i)
          if (props[i].first == key) return i;
        return std::nullopt;
      }
      if (where.empty())
        for (std::size_t i = 0; i < props.size(); ++i)
          where.emplace(props[i].first, i);
      auto it = where.find(key);
      if (it == where.end()) return std::nullopt;
      return it->second;
    };
    while (peek_tag() != end) {
      std::size_t at = pos_;
      Value key_value = read_value();
      std::string key;
      if (key_value.is_string())
        key = key_value.as_string();
      else if (key_value.is_number())
        key = json::number_to_string(key_value.as_number());
      else
        fail_at(at, "a property key that is neither a string nor a number");
      Value value = read_value();
      ++count;
      std::uint32_t index;
      if (array != nullptr && array_index(key, index) && index < array->length &&
          place_element(*array, index, value))
        continue;
      if (std::optional<std::size_t> at_index = find_key(key)) {
        props[*at_index].second = std::move(value);  // a repeated key: the last one wins
        continue;
      }
      if (!where.empty()) where.emplace(key, props.size());
      props.emplace_back(std::move(key), std::move(value));
    }
    read_tag();
    return count;
  }

  bool place_element(Array& array, std::uint32_t index, Value& value) {
    if (index < array.elements.size()) {
      array.elements[index] = std::move(value);
      return true;
    }
    std::size_t holes = index - array.elements.size();
    if (holes > hole_budget_) return false;
    hole_budget_ -= holes;
    array.elements.resize(index, Hole{});
    array.elements.push_back(std::move(value));
    return true;
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  HostObjects host_;
  const Limits& limits_;
  std::vector<Slot> slots_;
  std::size_t depth_ = 0;
  std::size_t hole_budget_;  // holes materialized in elements, across the whole input
};

static_assert(std::numeric_limits<double>::is_iec559, "doubles are written as IEEE 754 bytes");
static_assert(std::endian::native == std::endian::little,
              "the format is little-endian, as read here");

// ---- deep equality --------------------------------------------------------------------------

class DeepEqual {
 public:
  bool values(const Value& a, const Value& b) {
    if (a.type() != b.type()) return false;
    switch (a.type()) {
      case Value::Type::kNumber:
        return same_number(a.as_number(), b.as_number());
      case Value::Type::kObject:
        return objects(a.heap().get(), b.heap().get());
      default:
        return a == b;
    }
  }

 private:
  static bool same_number(double x, double y) {
    if (std::isnan(x)) return std::isnan(y);
    return x == y && std::signbit(x) == std::signbit(y);
  }

  bool objects(const HeapObject* a, const HeapObject* b) {
    // Each object of a pairs with one object of b, for the whole comparison: that covers sharing
    // and cycles.
    auto [it, inserted] = pairs_.try_emplace(a, b);
    if (!inserted) return it->second == b;
    auto [back, fresh] = reverse_.try_emplace(b, a);
    if (!fresh && back->second != a) return false;
    if (a->kind.index() != b->kind.index()) return false;
    return std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          return kinds(x, std::get<T>(b->kind));
        },
        a->kind);
  }

  // Property lists compare in JavaScript's enumeration order: index keys ascending, then the
  // named ones as inserted.
  bool properties(const Properties& a, const Properties& b) {
    if (a.size() != b.size()) return false;
    auto ia = index_properties(a), ib = index_properties(b);
    if (ia.size() != ib.size()) return false;
    for (std::size_t i = 0; i < ia.size(); ++i)
      if (ia[i].first != ib[i].first || !values(*ia[i].second, *ib[i].second)) return false;
    return named_equal(a, b);
  }
  bool named_equal(const Properties& a, const Properties& b) {
    Properties na = named(a), nb = named(b);
    if (na.size() != nb.size()) return false;
    for (std::size_t i = 0; i < na.size(); ++i)
      if (na[i].first != nb[i].first || !values(na[i].second, nb[i].second)) return false;
    return true;
  }
  static std::vector<std::pair<std::uint32_t, const Value*>> index_properties(
      const Properties& props, std::vector<std::pair<std::uint32_t, const Value*>> out = {}) {
    std::uint32_t index;
    for (const auto& [key, value] : props)
      if (array_index(key, index)) out.emplace_back(index, &value);
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& l, const auto& r) { return l.first < r.first; });
    return out;
  }
  bool kinds(const Object& a, const Object& b) { return properties(a.properties, b.properties); }
  // Arrays compare as JavaScript sees them: the same elements at the same indices, whether an
  // index is held in `elements` or (far out, sparse) in `properties`.
  bool kinds(const Array& a, const Array& b) {
    auto effective_length = [](const Array& x) {
      return std::max<std::size_t>(x.length, x.elements.size());
    };
    if (effective_length(a) != effective_length(b)) return false;
    auto ea = indexed(a), eb = indexed(b);
    if (ea.size() != eb.size()) return false;
    for (std::size_t i = 0; i < ea.size(); ++i)
      if (ea[i].first != eb[i].first || !values(*ea[i].second, *eb[i].second)) return false;
    return named_equal(a.properties, b.properties);
  }
  static std::vector<std::pair<std::uint32_t, const Value*>> indexed(const Array& x) {
    std::vector<std::pair<std::uint32_t, const Value*>> out;
    for (std::size_t i = 0; i < x.elements.size(); ++i)
      if (!x.elements[i].is_hole()) out.emplace_back(static_cast<std::uint32_t>(i), &x.elements[i]);
    return index_properties(x.properties, std::move(out));
  }
  static Properties named(const Properties& props) {
    Properties out;
    std::uint32_t index;
    for (const auto& p : props)
      if (!array_index(p.first, index)) out.push_back(p);
    return out;
  }
  bool kinds(const Date& a, const Date& b) { return same_number(a.time, b.time); }
  bool kinds(const RegExp& a, const RegExp& b) {
    return a.source == b.source && a.flags == b.flags;
  }
  bool kinds(const Map& a, const Map& b) {
    if (a.entries.size() != b.entries.size()) return false;
    for (std::size_t i = 0; i < a.entries.size(); ++i)
      if (!values(a.entries[i].first, b.entries[i].first) ||
          !values(a.entries[i].second, b.entries[i].second))
        return false;
    return true;
  }
  bool kinds(const Set& a, const Set& b) {
    if (a.values.size() != b.values.size()) return false;
    for (std::size_t i = 0; i < a.values.size(); ++i)
      if (!values(a.values[i], b.values[i])) return false;
    return true;
  }
  bool kinds(const BooleanObject& a, const BooleanObject& b) { return a.value == b.value; }
  bool kinds(const NumberObject& a, const NumberObject& b) { return same_number(a.value, b.value); }
  bool kinds(const BigIntObject& a, const BigIntObject& b) { return a.value == b.value; }
  bool kinds(const StringObject& a, const StringObject& b) { return a.value == b.value; }
  bool kinds(const ArrayBuffer& a, const ArrayBuffer& b) { return a.bytes == b.bytes; }
  bool kinds(const View& a, const View& b) { return a.type == b.type && a.bytes == b.bytes; }

  std::unordered_map<const HeapObject*, const HeapObject*> pairs_, reverse_;
};

const char* const kHeapKindNames[] = {
    "Object",        "Array",        "Date",         "RegExp",       "Map",         "Set",
    "BooleanObject", "NumberObject", "BigIntObject", "StringObject", "ArrayBuffer", "View"};
static_assert(std::size(kHeapKindNames) == std::variant_size_v<HeapKind>);

const char* type_name(Value::Type t) {
  switch (t) {
    case Value::Type::kUndefined:
      return "undefined";
    case Value::Type::kNull:
      return "null";
    case Value::Type::kBool:
      return "boolean";
    case Value::Type::kNumber:
      return "number";
    case Value::Type::kBigInt:
      return "bigint";
    case Value::Type::kString:
      return "string";
    case Value::Type::kObject:
      return "object";
    case Value::Type::kHole:
      return "hole";
  }
  return "?";
}

}  // namespace

// ---- BigInt ---------------------------------------------------------------------------------

BigInt::BigInt(std::int64_t v) : negative(v < 0) {
  std::uint64_t magnitude =
      v < 0 ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
  if (magnitude != 0) digits.push_back(magnitude);
}

BigInt BigInt::from_unsigned(std::uint64_t v) {
  BigInt b;
  if (v != 0) b.digits.push_back(v);
  return b;
}

std::string BigInt::to_string() const {
  std::vector<std::uint64_t> rest = digits;
  while (!rest.empty() && rest.back() == 0)
    rest.pop_back();
  if (rest.empty()) return "0";
  // Repeated division by 10^9 over 32-bit halves (the remainder times 2^32 fits in 64 bits),
  // least significant chunk first.
  std::vector<std::uint32_t> halves;
  for (std::uint64_t d : rest) {
    halves.push_back(static_cast<std::uint32_t>(d));
    halves.push_back(static_cast<std::uint32_t>(d >> 32));
  }
  constexpr std::uint32_t kChunk = 1000000000u;
  std::vector<std::uint32_t> chunks;
  while (!halves.empty()) {
    std::uint64_t remainder = 0;
    for (std::size_t i = halves.size(); i-- > 0;) {
      std::uint64_t cur = (remainder << 32) | halves[i];
      halves[i] = static_cast<std::uint32_t>(cur / kChunk);
      remainder = cur % kChunk;
    }
    chunks.push_back(static_cast<std::uint32_t>(remainder));
    while (!halves.empty() && halves.back() == 0)
      halves.pop_back();
  }
  std::string out = negative ? "-" : "";
  out += std::to_string(chunks.back());
  for (std::size_t i = chunks.size() - 1; i-- > 0;) {
    std::string part = std::to_string(chunks[i]);
    out.append(9 - part.size(), '0');
    out += part;
  }
  return out;
}

// ---- Value ----------------------------------------------------------------------------------

Value Value::object(std::initializer_list<std::pair<std::string, Value>> members) {
  return Value(Object{Properties(members)});
}

Value Value::array(std::initializer_list<Value> items) {
  Array a;
  a.elements.assign(items);
  a.length = static_cast<std::uint32_t>(a.elements.size());
  return Value(std::move(a));
}

Value::Type Value::type() const {
  switch (v_.index()) {
    case 0:
      return Type::kUndefined;
    case 1:
      return Type::kNull;
    case 2:
      return Type::kBool;
    case 3:
      return Type::kNumber;
    case 4:
      return Type::kBigInt;
    case 5:
      return Type::kString;
    case 6:
    case 7:
      return Type::kObject;
    default:
      return Type::kHole;
  }
}

namespace {
[[noreturn]] void wrong_type(const char* wanted, Value::Type actual) {
  throw std::logic_error(std::string("advanced::Value: expected ") + wanted + ", have " +
                         type_name(actual));
}
}  // namespace

bool Value::as_bool() const {
  if (!is_bool()) wrong_type("boolean", type());
  return std::get<bool>(v_);
}
double Value::as_number() const {
  if (!is_number()) wrong_type("number", type());
  return std::get<double>(v_);
}
const BigInt& Value::as_bigint() const {
  if (!is_bigint()) wrong_type("bigint", type());
  return std::get<BigInt>(v_);
}
const std::string& Value::as_string() const {
  if (!is_string()) wrong_type("string", type());
  return std::get<std::string>(v_);
}

std::shared_ptr<HeapObject> Value::heap() const {
  if (const auto* strong = std::get_if<std::shared_ptr<HeapObject>>(&v_)) return *strong;
  if (const auto* weak = std::get_if<Weak>(&v_)) {
    if (auto p = weak->p.lock()) return p;
    throw std::logic_error("advanced::Value: a back reference whose object is gone");
  }
  wrong_type("object", type());
}

HeapObject& Value::object_ref() const {
  if (const auto* strong = std::get_if<std::shared_ptr<HeapObject>>(&v_)) return **strong;
  return *heap();  // a back reference: its object is kept alive by whoever holds the cycle
}

void Value::throw_wrong_kind(std::size_t wanted_index) const {
  throw std::logic_error(
      std::string("advanced::Value: expected ") + kHeapKindNames[wanted_index] + ", have " +
      (is_object() ? kHeapKindNames[object_ref().kind.index()] : type_name(type())));
}

Value& Value::operator[](std::string_view key) {
  if (is_undefined()) *this = Value(Object{});
  Properties* props = nullptr;
  if (is<Object>())
    props = &as<Object>().properties;
  else if (is<Array>())
    props = &as<Array>().properties;
  else
    throw std::logic_error("advanced::Value: operator[] on a value that is not an object or array");
  for (auto& [k, v] : *props)
    if (k == key) return v;
  props->emplace_back(std::string(key), Value());
  return props->back().second;
}

const Value* Value::find(std::string_view key) const {
  const Properties* props = nullptr;
  if (is<Object>())
    props = &as<Object>().properties;
  else if (is<Array>())
    props = &as<Array>().properties;
  else
    return nullptr;
  for (const auto& [k, v] : *props)
    if (k == key) return &v;
  return nullptr;
}

bool operator==(const Value& a, const Value& b) {
  if (a.is_object() && b.is_object()) return &a.object_ref() == &b.object_ref();
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Value::Type::kBool:
      return a.as_bool() == b.as_bool();
    case Value::Type::kNumber:
      return a.as_number() == b.as_number();
    case Value::Type::kBigInt:
      return a.as_bigint() == b.as_bigint();
    case Value::Type::kString:
      return a.as_string() == b.as_string();
    default:
      return true;  // undefined, null, hole
  }
}

bool deep_equal(const Value& a, const Value& b) {
  return DeepEqual().values(a, b);
}

// ---- JSON ------------------------------------------------------------------------------------

namespace {

// Date.prototype.toISOString: YYYY-MM-DDTHH:mm:ss.sssZ, a six-digit signed year outside 0..9999.
std::string iso_date(double time) {
  auto ms = static_cast<std::int64_t>(time);
  std::int64_t days = ms / 86400000;
  std::int64_t in_day = ms % 86400000;
  if (in_day < 0) {
    in_day += 86400000;
    --days;
  }
  // Civil date from days since 1970-01-01 (proleptic Gregorian).
  std::int64_t z = days + 719468;
  std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  std::int64_t doe = z - era * 146097;
  std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  std::int64_t mp = (5 * doy + 2) / 153;
  std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
  std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  std::int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  auto pad = [](std::int64_t v, int width) {
    std::string digits = std::to_string(v);
    return std::string(digits.size() < static_cast<std::size_t>(width) ? width - digits.size() : 0,
                       '0') +
           digits;
  };
  std::string out;
  if (year >= 0 && year <= 9999)
    out = pad(year, 4);
  else
    out = (year < 0 ? "-" : "+") + pad(year < 0 ? -year : year, 6);
  out += "-" + pad(month, 2) + "-" + pad(day, 2) + "T" + pad(in_day / 3600000, 2) + ":" +
         pad(in_day / 60000 % 60, 2) + ":" + pad(in_day / 1000 % 60, 2) + "." +
         pad(in_day % 1000, 3) + "Z";
  return out;
}

json::Value json_number(double d) {
  return std::isfinite(d) ? json::Value(d) : json::Value();
}

// One typed-array element as a number (a BigInt element cannot become JSON).
double view_element(const View& v, std::size_t i) {
  const char* p = v.bytes.data() + i * element_size(v.type);
  auto load = [p](auto sample) {
    std::memcpy(&sample, p, sizeof sample);
    return sample;
  };
  switch (v.type) {
    case ViewType::kInt8Array:
      return load(std::int8_t{});
    case ViewType::kInt16Array:
      return load(std::int16_t{});
    case ViewType::kUint16Array:
      return load(std::uint16_t{});
    case ViewType::kInt32Array:
      return load(std::int32_t{});
    case ViewType::kUint32Array:
      return load(std::uint32_t{});
    case ViewType::kFloat32Array:
      return load(float{});
    case ViewType::kFloat64Array:
      return load(double{});
    case ViewType::kBigInt64Array:
    case ViewType::kBigUint64Array:
      throw std::invalid_argument("Do not know how to serialize a BigInt");
    default:
      return load(std::uint8_t{});
  }
}

class ToJson {
 public:
  json::Value value(const Value& v) {
    switch (v.type()) {
      case Value::Type::kUndefined:
      case Value::Type::kNull:
      case Value::Type::kHole:
        return nullptr;
      case Value::Type::kBool:
        return v.as_bool();
      case Value::Type::kNumber:
        return json_number(v.as_number());
      case Value::Type::kBigInt:
        throw std::invalid_argument("Do not know how to serialize a BigInt");
      case Value::Type::kString:
        return v.as_string();
      case Value::Type::kObject:
        break;
    }
    std::shared_ptr<HeapObject> object = v.heap();
    if (!open_.insert(object.get()).second)
      throw std::invalid_argument("Converting circular structure to JSON");
    json::Value out = std::visit([this](const auto& kind) { return convert(kind); }, object->kind);
    open_.erase(object.get());
    return out;
  }

 private:
  // Members in enumeration order; undefined ones are left out, as JSON.stringify does.
  json::Value members(const Properties& props,
                      std::vector<std::pair<std::uint32_t, const Value*>> indexed = {}) {
    json::Value out = json::Value::object();
    std::uint32_t index;
    for (const auto& [key, value] : props)
      if (array_index(key, index)) indexed.emplace_back(index, &value);
    std::stable_sort(indexed.begin(), indexed.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [i, value] : indexed)
      if (!value->is_undefined()) out[std::to_string(i)] = this->value(*value);
    for (const auto& [key, value] : props)
      if (!array_index(key, index) && !value.is_undefined()) out[key] = this->value(value);
    return out;
  }

  json::Value convert(const Object& o) { return members(o.properties); }
  json::Value convert(const Array& a) {
    constexpr std::size_t kMaxHoles = 1u << 20;  // Node would fail past a string's size anyway
    std::size_t length = std::max<std::size_t>(a.length, a.elements.size());
    std::vector<const Value*> at(a.elements.size());
    for (std::size_t i = 0; i < a.elements.size(); ++i)
      at[i] = &a.elements[i];
    std::uint32_t index;
    std::size_t far = 0;
    for (const auto& [key, value] : a.properties)
      if (array_index(key, index) && index < length) far = std::max<std::size_t>(far, index + 1);
    if (std::max(far, length) - a.elements.size() > kMaxHoles)
      throw std::invalid_argument("Invalid string length");
    at.resize(length, nullptr);
    for (const auto& [key, value] : a.properties)
      if (array_index(key, index) && index < length) at[index] = &value;
    json::Value out = json::Value::array();
    for (const Value* e : at)
      out.push_back(e == nullptr || e->is_undefined() ? json::Value() : value(*e));
    return out;
  }
  json::Value convert(const Date& d) {
    return std::isnan(d.time) ? json::Value() : json::Value(iso_date(d.time));
  }
  json::Value convert(const RegExp&) { return json::Value::object(); }
  json::Value convert(const Map&) { return json::Value::object(); }
  json::Value convert(const Set&) { return json::Value::object(); }
  json::Value convert(const BooleanObject& b) { return b.value; }
  json::Value convert(const NumberObject& n) { return json_number(n.value); }
  json::Value convert(const BigIntObject&) {
    throw std::invalid_argument("Do not know how to serialize a BigInt");
  }
  json::Value convert(const StringObject& s) { return s.value; }
  json::Value convert(const ArrayBuffer&) { return json::Value::object(); }
  json::Value convert(const View& v) {
    if (v.type == ViewType::kDataView) return json::Value::object();
    if (v.type == ViewType::kBuffer) {
      json::Value data = json::Value::array();
      for (unsigned char c : v.bytes)
        data.push_back(static_cast<int>(c));
      return json::Value::object({{"type", "Buffer"}, {"data", std::move(data)}});
    }
    json::Value out = json::Value::object();
    std::size_t n = v.bytes.size() / element_size(v.type);
    for (std::size_t i = 0; i < n; ++i)
      out[std::to_string(i)] = json_number(view_element(v, i));
    return out;
  }

  std::unordered_set<const HeapObject*> open_;  // being converted: seen again, a cycle
};

}  // namespace

Value from_json(const json::Value& v) {
  switch (v.type()) {
    case json::Value::Type::kNull:
      return nullptr;
    case json::Value::Type::kBool:
      return v.as_bool();
    case json::Value::Type::kNumber:
      return v.as_number();
    case json::Value::Type::kString:
      return v.as_string();
    case json::Value::Type::kArray: {
      Array a;
      for (const json::Value& e : v.as_array())
        a.elements.push_back(from_json(e));
      a.length = static_cast<std::uint32_t>(a.elements.size());
      return Value(std::move(a));
    }
    case json::Value::Type::kObject: {
      Object o;
      for (const auto& [key, value] : v.as_object())
        o.properties.emplace_back(key, from_json(value));
      return Value(std::move(o));
    }
  }
  return Value();
}

json::Value to_json(const Value& value) {
  return ToJson().value(value);
}

// ---- entry points ---------------------------------------------------------------------------

void serialize_to(const Value& value, std::string& out, HostObjects host, const Limits& limits) {
  Writer writer(out, host, limits);
  writer.write_header();
  writer.write_value(value);
}

std::string serialize(const Value& value, HostObjects host, const Limits& limits) {
  std::string out;
  serialize_to(value, out, host, limits);
  return out;
}

Value deserialize(std::string_view bytes, HostObjects host, const Limits& limits) {
  Reader reader(bytes, host, limits);
  reader.read_header();
  return reader.read_value();
}

}  // namespace childproc::advanced
