// JSON as the IPC channel speaks it: JSON.parse / JSON.stringify, byte for byte.
//
//   json::Value msg = json::Value::object();
//   msg["cmd"] = "run";
//   msg["n"] = 3;
//   std::string wire = json::stringify(msg);          // {"cmd":"run","n":3}
//   json::Value back = json::parse(wire);             // throws json::ParseError with an offset
//
// Objects keep insertion order (as JS objects with string keys do); numbers are doubles and print
// as JavaScript prints them (1e21, 5e-324, 0.30000000000000004, -0 as 0; NaN and Infinity as
// null); strings are UTF-8 (a lone surrogate from a \u escape is kept as WTF-8 and written back as
// the same escape).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace childproc::json {

class Value;
using Array = std::vector<Value>;
using Member = std::pair<std::string, Value>;
using Object = std::vector<Member>;

class Value {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  Value() = default;
  Value(std::nullptr_t) {}
  Value(bool b) : v_(b) {}
  Value(double d) : v_(d) {}
  Value(int i) : v_(static_cast<double>(i)) {}
  Value(long i) : v_(static_cast<double>(i)) {}
  Value(long long i) : v_(static_cast<double>(i)) {}
  Value(unsigned i) : v_(static_cast<double>(i)) {}
  Value(unsigned long i) : v_(static_cast<double>(i)) {}
  Value(unsigned long long i) : v_(static_cast<double>(i)) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(std::string_view s) : v_(std::string(s)) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(Array a) : v_(std::move(a)) {}
  Value(Object o) : v_(std::move(o)) {}

  static Value array(std::initializer_list<Value> items = {}) { return Value(Array(items)); }
  static Value object(std::initializer_list<Member> members = {}) { return Value(Object(members)); }

  Type type() const { return static_cast<Type>(v_.index()); }
  bool is_null() const { return type() == Type::kNull; }
  bool is_bool() const { return type() == Type::kBool; }
  bool is_number() const { return type() == Type::kNumber; }
  bool is_string() const { return type() == Type::kString; }
  bool is_array() const { return type() == Type::kArray; }
  bool is_object() const { return type() == Type::kObject; }

  // Checked access: throw std::logic_error naming the expected and the actual type.
  bool as_bool() const;
  double as_number() const;
  const std::string& as_string() const;
  const Array& as_array() const;
  Array& as_array();
  const Object& as_object() const;
  Object& as_object();

  // Object members: operator[] on a non-const null turns it into an object and inserts the key
  // (appended, keeping order); find() returns nullptr when absent.
  Value& operator[](std::string_view key);
  const Value* find(std::string_view key) const;
  // Array elements (checked: std::out_of_range).
  Value& operator[](std::size_t index) { return as_array().at(index); }
  const Value& operator[](std::size_t index) const { return as_array().at(index); }
  void push_back(Value v) { as_array().push_back(std::move(v)); }
  std::size_t size() const;

  friend bool operator==(const Value& a, const Value& b) { return a.v_ == b.v_; }

 private:
  std::variant<std::nullptr_t, bool, double, std::string, Array, Object> v_{nullptr};
};

class ParseError : public std::runtime_error {
 public:
  ParseError(const std::string& what, std::size_t offset)
      : std::runtime_error(what), offset_(offset) {}
  // Byte offset in the input where the problem was found.
  std::size_t offset() const noexcept { return offset_; }

 private:
  std::size_t offset_;
};

struct ParseLimits {
  std::size_t max_depth = 512;  // nested arrays/objects: hostile input cannot exhaust the stack
};

// JSON.parse: strict RFC 8259 (no comments, no trailing commas, whitespace is space, tab, CR, LF).
// Invalid UTF-8 in strings becomes U+FFFD, as when Node decodes the channel's bytes.
Value parse(std::string_view text, const ParseLimits& limits = {});

// JSON.stringify, compact (no spaces), as Node's channel writes a message.
std::string stringify(const Value& value);
void stringify_to(const Value& value, std::string& out);

// A number as JavaScript's Number.prototype.toString prints it (NaN -> "NaN"; stringify writes
// non-finite numbers as null).
std::string number_to_string(double d);

}  // namespace childproc::json
