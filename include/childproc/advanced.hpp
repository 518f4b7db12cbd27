// Node's 'advanced' IPC serialization: the values V8's structured-clone format carries, and that
// format as Node 20 writes it (v8.serialize, and the channel's own host-object encoding).
//
//   advanced::Value msg = advanced::Value::object({{"when", advanced::Date{0}}});
//   msg["ids"] = advanced::Set{{1, 2, 3}};
//   std::string bytes = advanced::serialize(msg);     // what v8.serialize(msg) gives in Node
//   advanced::Value back = advanced::deserialize(bytes);  // throws DeserializeError with an offset
//
// Primitives (undefined, null, booleans, numbers, BigInts, strings) are held by value. Objects
// (plain objects, arrays, Map, Set, Date, RegExp, primitive wrappers, ArrayBuffer, Buffer and
// typed arrays) are held by reference, as in JavaScript: two Values may name one object, and an
// object may contain itself. Such a link back to an object that contains it is held weakly
// (Value::back_reference), so a cyclic graph is freed when its root is; deserialize() makes
// exactly that shape. Strings are UTF-8 (a lone UTF-16 surrogate is kept as WTF-8).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "childproc/json.hpp"

namespace childproc::advanced {

class Value;
struct HeapObject;

struct Undefined {
  friend bool operator==(Undefined, Undefined) { return true; }
};
// An array element that does not exist (the gap in [1, , 3]); only meaningful in Array::elements.
struct Hole {
  friend bool operator==(Hole, Hole) { return true; }
};

// An arbitrary-precision integer: sign and magnitude in 64-bit digits, least significant first,
// with no leading zero digit (zero has none).
struct BigInt {
  bool negative = false;
  std::vector<std::uint64_t> digits;

  BigInt() = default;
  BigInt(std::int64_t v);  // NOLINT(google-explicit-constructor): 5n reads as BigInt(5)
  static BigInt from_unsigned(std::uint64_t v);
  // Decimal, as BigInt.prototype.toString() (no 'n').
  std::string to_string() const;
  friend bool operator==(const BigInt&, const BigInt&) = default;
};

// Property lists keep insertion order; serialize() writes integer-index keys first, ascending, as
// JavaScript enumerates them.
using Properties = std::vector<std::pair<std::string, Value>>;

struct Object {
  Properties properties;
};
// elements: the dense part (a Hole where an index has no element); length >= elements.size() (a
// longer length is the trailing holes); properties: named ones, and index keys beyond the dense
// part (what a very sparse array's elements become, so memory stays bounded by the input).
struct Array {
  std::vector<Value> elements;
  std::uint32_t length = 0;
  Properties properties;
};
struct Date {
  double time = 0;  // ms since the epoch; NaN for an invalid Date
};
struct RegExp {
  // V8's flag bits, in flags' order: g i m y u s, then d (hasIndices) and v (unicodeSets).
  enum Flag : std::uint32_t {
    kGlobal = 1,
    kIgnoreCase = 2,
    kMultiline = 4,
    kSticky = 8,
    kUnicode = 16,
    kDotAll = 32,
    kHasIndices = 128,
    kUnicodeSets = 256,
  };
  std::string source;
  std::uint32_t flags = 0;
};
struct Map {
  std::vector<std::pair<Value, Value>> entries;
};
struct Set {
  std::vector<Value> values;
};
struct BooleanObject {
  bool value = false;
};
struct NumberObject {
  double value = 0;
};
struct BigIntObject {
  BigInt value;
};
struct StringObject {
  std::string value;
};
struct ArrayBuffer {
  std::string bytes;
};
// Buffer, the typed arrays and DataView: Node sends the bytes they view (a copy), tagged with the
// view's type; the receiver gets a view of its own buffer.
enum class ViewType : std::uint8_t {
  kInt8Array = 0,
  kUint8Array = 1,
  kUint8ClampedArray = 2,
  kInt16Array = 3,
  kUint16Array = 4,
  kInt32Array = 5,
  kUint32Array = 6,
  kFloat32Array = 7,
  kFloat64Array = 8,
  kDataView = 9,
  kBuffer = 10,  // Node's Buffer (a Uint8Array subclass)
  kBigInt64Array = 11,
  kBigUint64Array = 12,
};
struct View {
  ViewType type = ViewType::kBuffer;
  std::string bytes;  // a whole number of elements for a typed array
};

using HeapKind = std::variant<Object, Array, Date, RegExp, Map, Set, BooleanObject, NumberObject,
                              BigIntObject, StringObject, ArrayBuffer, View>;
struct HeapObject {
  HeapKind kind;
};

class Value {
 public:
  enum class Type { kUndefined, kNull, kBool, kNumber, kBigInt, kString, kObject, kHole };

  Value() = default;  // undefined
  Value(Undefined) {}
  Value(std::nullptr_t) : v_(nullptr) {}
  Value(bool b) : v_(b) {}
  Value(double d) : v_(d) {}
  Value(int i) : v_(static_cast<double>(i)) {}
  Value(long i) : v_(static_cast<double>(i)) {}
  Value(long long i) : v_(static_cast<double>(i)) {}
  Value(unsigned i) : v_(static_cast<double>(i)) {}
  Value(unsigned long i) : v_(static_cast<double>(i)) {}
  Value(unsigned long long i) : v_(static_cast<double>(i)) {}
  Value(BigInt b) : v_(std::move(b)) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(std::string_view s) : v_(std::string(s)) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(Hole h) : v_(h) {}
  // A new object of any heap kind: Value(Date{0}), Value(Map{...}).
  template <typename T, typename = std::enable_if_t<std::is_constructible_v<HeapKind, T&&> &&
                                                    !std::is_same_v<std::decay_t<T>, HeapKind>>>
  Value(T&& heap)  // NOLINT(google-explicit-constructor)
      : v_(std::make_shared<HeapObject>(HeapObject{HeapKind(std::forward<T>(heap))})) {}

  static Value object(std::initializer_list<std::pair<std::string, Value>> members = {});
  static Value array(std::initializer_list<Value> items = {});
  // Another name for an existing object (shared: both see one object).
  static Value reference(std::shared_ptr<HeapObject> object) {
    return Value(Strong{std::move(object)});
  }
  // A link to an object that contains this one (a cycle): held weakly, so the cycle is freed.
  static Value back_reference(const std::shared_ptr<HeapObject>& object) {
    return Value(Weak{object});
  }

  Type type() const;
  bool is_undefined() const { return type() == Type::kUndefined; }
  bool is_null() const { return type() == Type::kNull; }
  bool is_bool() const { return type() == Type::kBool; }
  bool is_number() const { return type() == Type::kNumber; }
  bool is_bigint() const { return type() == Type::kBigInt; }
  bool is_string() const { return type() == Type::kString; }
  bool is_object() const { return type() == Type::kObject; }
  bool is_hole() const { return type() == Type::kHole; }
  // Whether this Value is a weak back_reference.
  bool is_back_reference() const { return std::holds_alternative<Weak>(v_); }

  // Checked access: std::logic_error naming the expected and the actual type.
  bool as_bool() const;
  double as_number() const;
  const BigInt& as_bigint() const;
  const std::string& as_string() const;
  // The object (through a back reference too; std::logic_error once that object is gone).
  std::shared_ptr<HeapObject> heap() const;
  // The object as one kind: as<Map>(), as<Array>()... (std::logic_error if it is another).
  template <typename T>
  T& as() const {
    auto* p = std::get_if<T>(&object_ref().kind);
    if (p == nullptr) throw_wrong_kind(heap_index<T>());
    return *p;
  }
  template <typename T>
  bool is() const {
    return is_object() && std::holds_alternative<T>(object_ref().kind);
  }

  // Plain-object (and array property) members: operator[] on undefined makes it an object and
  // appends the key; find() returns nullptr when absent.
  Value& operator[](std::string_view key);
  const Value* find(std::string_view key) const;

  // Same primitive, or the same object (identity, as ===; deep_equal() compares contents).
  friend bool operator==(const Value& a, const Value& b);

 private:
  struct Strong {
    std::shared_ptr<HeapObject> p;
  };
  struct Weak {
    std::weak_ptr<HeapObject> p;
  };
  explicit Value(Strong s) : v_(std::move(s.p)) {}
  explicit Value(Weak w) : v_(std::move(w)) {}
  HeapObject& object_ref() const;
  [[noreturn]] void throw_wrong_kind(std::size_t wanted_index) const;
  template <typename T, std::size_t I = 0>
  static constexpr std::size_t heap_index() {
    if constexpr (std::is_same_v<T, std::variant_alternative_t<I, HeapKind>>)
      return I;
    else
      return heap_index<T, I + 1>();
  }

  std::variant<Undefined, std::nullptr_t, bool, double, BigInt, std::string,
               std::shared_ptr<HeapObject>, Weak, Hole>
      v_;
};

// Structural equality, as util.isDeepStrictEqual: same kinds, same contents, same shape of
// sharing and cycles (NaN equals NaN; 0 and -0 differ).
bool deep_equal(const Value& a, const Value& b);

class DeserializeError : public std::runtime_error {
 public:
  DeserializeError(const std::string& what, std::size_t offset)
      : std::runtime_error(what), offset_(offset) {}
  std::size_t offset() const noexcept { return offset_; }  // where in the input

 private:
  std::size_t offset_;
};

// Which host-object encoding: v8.serialize's (Node's DefaultSerializer), or the IPC channel's
// (child_process's serializer, which puts one more number, 0, before each Buffer or typed array).
enum class HostObjects { kNodeDefault, kChildProcess };

struct Limits {
  std::size_t max_depth = 512;  // nesting: hostile input cannot exhaust the stack
};

// v8.serialize(value): the header (version 15) and the value. Throws std::invalid_argument for a
// value JavaScript cannot hold (a back reference whose object is gone, a Hole outside an array,
// an array longer than 2^32 - 1, nesting deeper than limits.max_depth).
std::string serialize(const Value& value, HostObjects host = HostObjects::kNodeDefault,
                      const Limits& limits = {});
void serialize_to(const Value& value, std::string& out,
                  HostObjects host = HostObjects::kNodeDefault, const Limits& limits = {});

// v8.deserialize(bytes): versions 13 to 15 (Node 16 to 22). Unknown tags, truncation, bad
// references and too deep nesting throw DeserializeError with the byte offset.
Value deserialize(std::string_view bytes, HostObjects host = HostObjects::kNodeDefault,
                  const Limits& limits = {});

// A JSON value as the same object in JavaScript: objects, arrays, numbers, strings, booleans
// and null, one-to-one.
Value from_json(const json::Value& value);

// What JSON.parse(JSON.stringify(value)) gives in Node: Date -> its ISO string (null when
// invalid), Buffer -> {type: 'Buffer', data: [...]}, typed arrays -> objects of their elements,
// Map, Set, RegExp, ArrayBuffer and DataView -> {}, wrappers -> their primitive, NaN and
// Infinity -> null, undefined -> left out of objects and null in arrays (a top-level undefined
// is null). Throws std::invalid_argument with JSON.stringify's TypeError message for a BigInt
// ("Do not know how to serialize a BigInt") or a cycle ("Converting circular structure to
// JSON").
json::Value to_json(const Value& value);

}  // namespace childproc::advanced
