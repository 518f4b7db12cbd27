// JSON.parse and JSON.stringify. The parser is a recursive descent with a depth limit; numbers go
// through std::from_chars/std::to_chars (exact round trip), then into JavaScript's number format.
#include "childproc/json.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <optional>
#include <unordered_map>

#include "internal/utf8.hpp"

namespace childproc::json {

namespace {

const char* type_name(Value::Type t) {
  static const char* const names[] = {"null", "boolean", "number", "string", "array", "object"};
  return names[static_cast<int>(t)];
}

[[noreturn]] void wrong_type(Value::Type want, Value::Type got) {
  throw std::logic_error(std::string("json::Value is ") + type_name(got) + ", not " +
                         type_name(want));
}

void append_utf8(std::string& out, std::uint32_t cp) {
  // Surrogates (from lone \u escapes) are written like any other code point: WTF-8.
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Parser {
 public:
  Parser(std::string_view text, const ParseLimits& limits) : s_(text), limits_(limits) {}

  Value parse_document() {
    skip_ws();
    Value v = parse_value(0);
    skip_ws();
    if (i_ != s_.size()) fail("Unexpected non-whitespace character after JSON");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    throw ParseError(what + " at byte " + std::to_string(i_), i_);
  }
  [[noreturn]] void unexpected() {
    if (i_ >= s_.size()) throw ParseError("Unexpected end of JSON input", i_);
    char c = s_[i_];
    std::string shown = (c >= 0x20 && c < 0x7F)
                            ? std::string("'") + c + "'"
                            : "byte " + std::to_string(static_cast<unsigned char>(c));
    fail("Unexpected token " + shown);
  }

  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }

  bool consume_literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }

  Value parse_value(std::size_t depth) {
    if (i_ >= s_.size()) unexpected();
    switch (s_[i_]) {
      case '{':
        return parse_object(depth + 1);
      case '[':
        return parse_array(depth + 1);
      case '"':
        return Value(parse_string());
      case 't':
        if (consume_literal("true")) return Value(true);
        break;
      case 'f':
        if (consume_literal("false")) return Value(false);
        break;
      case 'n':
        if (consume_literal("null")) return Value(nullptr);
        break;
      default:
        if (s_[i_] == '-' || (s_[i_] >= '0' && s_[i_] <= '9')) return Value(parse_number());
    }
    unexpected();
  }

  void enter(std::size_t depth) {
    if (depth > limits_.max_depth)
      fail("JSON nested deeper than " + std::to_string(limits_.max_depth) + " levels");
  }

  Value parse_array(std::size_t depth) {
    enter(depth);
    ++i_;  // '['
    Array items;
    skip_ws();
    if (i_ < s_.size() && s_[i_] == ']') {
      ++i_;
      return Value(std::move(items));
    }
    for (;;) {
      skip_ws();
      items.push_back(parse_value(depth));
      skip_ws();
      if (i_ < s_.size() && s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (i_ < s_.size() && s_[i_] == ']') {
        ++i_;
        return Value(std::move(items));
      }
      unexpected();
    }
  }

  Value parse_object(std::size_t depth) {
    enter(depth);
    ++i_;  // '{'
    Object members;
    std::unordered_map<std::string, std::size_t> index;  // built only for large objects
    skip_ws();
    if (i_ < s_.size() && s_[i_] == '}') {
      ++i_;
      return Value(std::move(members));
    }
    for (;;) {
      skip_ws();
      if (i_ >= s_.size() || s_[i_] != '"') unexpected();
      std::string key = parse_string();
      skip_ws();
      if (i_ >= s_.size() || s_[i_] != ':') unexpected();
      ++i_;
      skip_ws();
      Value v = parse_value(depth);
      if (std::optional<std::size_t> at = find_member(members, index, key)) {
        members[*at].second = std::move(v);
      } else {
        if (!index.empty()) index.emplace(key, members.size());
        members.emplace_back(std::move(key), std::move(v));
      }
      skip_ws();
      if (i_ < s_.size() && s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (i_ < s_.size() && s_[i_] == '}') {
        ++i_;
        return Value(std::move(members));
      }
      unexpected();
    }
  }

  std::uint32_t parse_hex4() {
    if (i_ + 4 > s_.size()) fail("Bad Unicode escape");
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s_[i_ + k];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        fail("Bad Unicode escape");
      }
    }
    i_ += 4;
    return v;
  }

  // Where `key` already is (a repeated key replaces in place), if it is. A message's objects
  // are small: a linear search, and a hash index only past kIndexFrom members.
  static std::optional<std::size_t> find_member(const Object& members,
                                                std::unordered_map<std::string, std::size_t>& index,
                                                const std::string& key) {
    constexpr std::size_t kIndexFrom = 16;
    if (members.size() < kIndexFrom) {
      for (std::size_t i = 0; i < members.size(); ++i)
        if (members[i].first == key) return i;
      return std::nullopt;
    }
    if (index.empty())
      for (std::size_t i = 0; i < members.size(); ++i)
        index.emplace(members[i].first, i);
    auto it = index.find(key);
    if (it == index.end()) return std::nullopt;
    return it->second;
  }

  std::string parse_string() {
    ++i_;  // opening quote
    std::string out;
    for (;;) {
      // Copy the plain run in one go.
      std::size_t start = i_;
      while (i_ < s_.size()) {
        auto c = static_cast<unsigned char>(s_[i_]);
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
        ++i_;
      }
      out.append(s_.substr(start, i_ - start));
      if (i_ >= s_.size()) throw ParseError("Unterminated string in JSON", i_);
      auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        ++i_;
        return out;
      }
      if (c < 0x20) fail("Bad control character in string literal");
      if (c >= 0x80) {
        detail::Utf8Step step = detail::next_utf8(s_, i_);
        if (step.valid) {
          out.append(s_.substr(i_, step.length));
        } else {
          out.append(detail::kReplacementChar);
        }
        i_ += step.length;
        continue;
      }
      // A backslash escape.
      if (++i_ >= s_.size()) throw ParseError("Unterminated string in JSON", i_);
      char e = s_[i_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          std::uint32_t cu = parse_hex4();
          if (cu >= 0xD800 && cu <= 0xDBFF && s_.substr(i_, 2) == "\\u") {
            std::size_t save = i_;
            i_ += 2;
            std::uint32_t low = parse_hex4();
            if (low >= 0xDC00 && low <= 0xDFFF) {
              cu = 0x10000 + ((cu - 0xD800) << 10) + (low - 0xDC00);
            } else {
              i_ = save;  // not a pair: the high surrogate stands alone
            }
          }
          append_utf8(out, cu);
          break;
        }
        default:
          --i_;
          fail("Bad escaped character in JSON");
      }
    }
  }

  double parse_number() {
    std::size_t start = i_;
    if (s_[i_] == '-') ++i_;
    auto digits = [&] {
      std::size_t from = i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9')
        ++i_;
      return i_ - from;
    };
    if (i_ < s_.size() && s_[i_] == '0') {
      ++i_;
    } else if (digits() == 0) {
      unexpected();
    }
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (digits() == 0) unexpected();
    }
    std::size_t mantissa_end = i_;
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (digits() == 0) unexpected();
    }
    double v = 0;
    auto [end, ec] = std::from_chars(s_.data() + start, s_.data() + i_, v);
    if (ec == std::errc::result_out_of_range) {
      // Too large is Infinity, too small is 0, as JSON.parse gives them. Which one depends on the
      // value's magnitude, not on the exponent's sign: 1000...0e-1 is huge, 0.000...01e+1 tiny.
      bool negative = s_[start] == '-';
      bool huge = decimal_magnitude(start + (negative ? 1 : 0), mantissa_end) > 0;
      v = huge ? (negative ? -HUGE_VAL : HUGE_VAL) : (negative ? -0.0 : 0.0);
    }
    return v;
  }

  // The power of ten of the number's leading nonzero digit (123 -> 2, 0.05 -> -2), exponent
  // included, saturated far beyond any double's range.
  long long decimal_magnitude(std::size_t digits_begin, std::size_t mantissa_end) const {
    constexpr long long kFar = 1'000'000'000'000LL;
    long long exponent = 0;
    if (mantissa_end < i_) {  // [eE][+-]?digits
      std::size_t k = mantissa_end + 1;
      bool negative = s_[k] == '-';
      if (s_[k] == '+' || s_[k] == '-') ++k;
      for (; k < i_; ++k)
        exponent = std::min(kFar, exponent * 10 + (s_[k] - '0'));
      if (negative) exponent = -exponent;
    }
    long long position = 0;  // of the digit being read: 0 for the units
    // Within the mantissa only: a search to the end of the input would make a document of many
    // out-of-range numbers quadratic.
    std::size_t point = s_.substr(digits_begin, mantissa_end - digits_begin).find('.');
    std::size_t int_end = point == std::string_view::npos ? mantissa_end : digits_begin + point;
    position = static_cast<long long>(int_end - digits_begin) - 1;
    for (std::size_t k = digits_begin; k < mantissa_end; ++k) {
      if (s_[k] == '.') continue;
      if (s_[k] != '0') return position + exponent;
      --position;
    }
    return -kFar;  // all zeros: zero, never out of range
  }

  std::string_view s_;
  const ParseLimits& limits_;
  std::size_t i_ = 0;
};

void stringify_string(std::string_view s, std::string& out) {
  static const char hex[] = "0123456789abcdef";
  out.reserve(out.size() + s.size() + 2);
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    // Copy the run that needs no escaping in one go.
    std::size_t run = i;
    while (run < s.size()) {
      auto r = static_cast<unsigned char>(s[run]);
      if (r < 0x20 || r >= 0x80 || r == '"' || r == '\\') break;
      ++run;
    }
    if (run > i) {
      out.append(s.data() + i, run - i);
      i = run;
      continue;
    }
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 0xF];
      }
      ++i;
      continue;
    }
    // A WTF-8 surrogate (ED A0..BF xx) is a lone surrogate: JSON.stringify escapes it.
    if (c == 0xED && i + 2 < s.size() && (static_cast<unsigned char>(s[i + 1]) & 0xE0) == 0xA0 &&
        (static_cast<unsigned char>(s[i + 2]) & 0xC0) == 0x80) {
      std::uint32_t cu = 0xD000 | ((static_cast<unsigned char>(s[i + 1]) & 0x3F) << 6) |
                         (static_cast<unsigned char>(s[i + 2]) & 0x3F);
      out += "\\u";
      for (int shift = 12; shift >= 0; shift -= 4)
        out += hex[(cu >> shift) & 0xF];
      i += 3;
      continue;
    }
    detail::Utf8Step step = detail::next_utf8(s, i);
    if (step.valid) {
      out.append(s.substr(i, step.length));
    } else {
      out.append(detail::kReplacementChar);
    }
    i += step.length;
  }
  out += '"';
}

}  // namespace

bool Value::as_bool() const {
  if (!is_bool()) wrong_type(Type::kBool, type());
  return std::get<bool>(v_);
}
double Value::as_number() const {
  if (!is_number()) wrong_type(Type::kNumber, type());
  return std::get<double>(v_);
}
const std::string& Value::as_string() const {
  if (!is_string()) wrong_type(Type::kString, type());
  return std::get<std::string>(v_);
}
const Array& Value::as_array() const {
  if (!is_array()) wrong_type(Type::kArray, type());
  return std::get<Array>(v_);
}
Array& Value::as_array() {
  if (!is_array()) wrong_type(Type::kArray, type());
  return std::get<Array>(v_);
}
const Object& Value::as_object() const {
  if (!is_object()) wrong_type(Type::kObject, type());
  return std::get<Object>(v_);
}
Object& Value::as_object() {
  if (!is_object()) wrong_type(Type::kObject, type());
  return std::get<Object>(v_);
}

Value& Value::operator[](std::string_view key) {
  if (is_null()) v_ = Object{};
  Object& members = as_object();
  for (auto& m : members)
    if (m.first == key) return m.second;
  members.emplace_back(std::string(key), Value());
  return members.back().second;
}

const Value* Value::find(std::string_view key) const {
  if (!is_object()) return nullptr;
  for (const auto& m : std::get<Object>(v_))
    if (m.first == key) return &m.second;
  return nullptr;
}

std::size_t Value::size() const {
  if (is_array()) return std::get<Array>(v_).size();
  if (is_object()) return std::get<Object>(v_).size();
  if (is_string()) return std::get<std::string>(v_).size();
  return 0;
}

std::string number_to_string(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d < 0 ? "-Infinity" : "Infinity";
  if (d == 0) return "0";  // -0 too, as JavaScript prints it
  // Shortest round-trip digits, then JavaScript's layout (ECMA-262 Number::toString).
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<std::size_t>(res.ptr - buf));
  std::string out;
  if (sci[0] == '-') {
    out += '-';
    sci.remove_prefix(1);
  }
  auto e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos))
    if (c != '.') digits += c;
  int exp10 = 0;
  std::from_chars(sci.data() + e_pos + 1 + (sci[e_pos + 1] == '+'), sci.data() + sci.size(), exp10);
  const int k = static_cast<int>(digits.size());
  const int n = exp10 + 1;  // value = 0.digits x 10^n
  if (k <= n && n <= 21) {
    out += digits;
    out.append(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, static_cast<std::size_t>(n));
    out += '.';
    out += digits.substr(static_cast<std::size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-n), '0');
    out += digits;
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out += digits.substr(1);
    }
    out += 'e';
    out += n - 1 >= 0 ? '+' : '-';
    out += std::to_string(std::abs(n - 1));
  }
  return out;
}

void stringify_to(const Value& value, std::string& out) {
  switch (value.type()) {
    case Value::Type::kNull:
      out += "null";
      break;
    case Value::Type::kBool:
      out += value.as_bool() ? "true" : "false";
      break;
    case Value::Type::kNumber: {
      double d = value.as_number();
      out += std::isfinite(d) ? number_to_string(d) : "null";
      break;
    }
    case Value::Type::kString:
      stringify_string(value.as_string(), out);
      break;
    case Value::Type::kArray: {
      out += '[';
      bool first = true;
      for (const auto& item : value.as_array()) {
        if (!first) out += ',';
        first = false;
        stringify_to(item, out);
      }
      out += ']';
      break;
    }
    case Value::Type::kObject: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : value.as_object()) {
        if (!first) out += ',';
        first = false;
        stringify_string(key, out);
        out += ':';
        stringify_to(item, out);
      }
      out += '}';
      break;
    }
  }
}

std::string stringify(const Value& value) {
  std::string out;
  stringify_to(value, out);
  return out;
}

Value parse(std::string_view text, const ParseLimits& limits) {
  return Parser(text, limits).parse_document();
}

}  // namespace childproc::json
