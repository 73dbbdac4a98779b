// sochdb/toon/detail/text.hpp — character classes, quoting, escaping and numbers of TOON text.
//
// Internal to the TOON codecs. Everything works on UTF-8 bytes: the structural characters of
// TOON are ASCII, and UTF-8 continuation bytes are never ASCII, so byte positions found here are
// the positions the spec talks about.
//
// "Whitespace" at the edges of tokens is the ECMAScript set (TAB, VT, FF, SP, NBSP, ZWNBSP,
// every Zs code point, and the line terminators LF, CR, LS, PS), because the reference
// implementation of spec 3.3 (npm @toon-format/toon 2.3.1) trims and quotes with
// String.prototype.trim; using the same set keeps our output and its output identical.
#pragma once

#include <sochdb/core/checksum.hpp>
#include <sochdb/toon/options.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

SOCHDB_BEGIN_NAMESPACE
namespace toon::detail {

inline constexpr std::size_t npos = std::string_view::npos;

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_ascii_space(unsigned char c) noexcept {
  return c == ' ' || (c >= '\t' && c <= '\r');  // TAB LF VT FF CR
}

/// Byte length of an ECMAScript whitespace or line-terminator code point at the start of `s`,
/// or 0.
inline std::size_t js_space_prefix(std::string_view s) noexcept {
  if (s.empty()) return 0;
  auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char c = b(0);
  if (c < 0x80) return is_ascii_space(c) ? 1 : 0;
  if (c == 0xC2) return s.size() >= 2 && b(1) == 0xA0 ? 2 : 0;  // U+00A0
  if (s.size() < 3) return 0;
  unsigned char c1 = b(1), c2 = b(2);
  switch (c) {
    case 0xE1:
      return c1 == 0x9A && c2 == 0x80 ? 3 : 0;  // U+1680
    case 0xE2:
      if (c1 == 0x80)  // U+2000..U+200A, U+2028, U+2029, U+202F
        return (c2 >= 0x80 && c2 <= 0x8A) || c2 == 0xA8 || c2 == 0xA9 || c2 == 0xAF ? 3 : 0;
      return c1 == 0x81 && c2 == 0x9F ? 3 : 0;  // U+205F
    case 0xE3:
      return c1 == 0x80 && c2 == 0x80 ? 3 : 0;  // U+3000
    case 0xEF:
      return c1 == 0xBB && c2 == 0xBF ? 3 : 0;  // U+FEFF
    default:
      return 0;
  }
}

/// Byte length of an ECMAScript whitespace code point at the end of `s`, or 0.
inline std::size_t js_space_suffix(std::string_view s) noexcept {
  std::size_t n = s.size();
  if (n == 0) return 0;
  auto last = static_cast<unsigned char>(s[n - 1]);
  if (last < 0x80) return is_ascii_space(last) ? 1 : 0;
  if (n >= 2 && static_cast<unsigned char>(s[n - 2]) == 0xC2 && last == 0xA0) return 2;
  if (n >= 3 && js_space_prefix(s.substr(n - 3)) == 3) return 3;
  return 0;
}

inline std::string_view trim_start(std::string_view s) noexcept {
  while (!s.empty()) {
    auto c = static_cast<unsigned char>(s.front());
    if (c == ' ') {
      s.remove_prefix(1);
      continue;
    }
    if (c > ' ' && c < 0x80) break;  // the common case: a visible ASCII character
    std::size_t k = js_space_prefix(s);
    if (k == 0) break;
    s.remove_prefix(k);
  }
  return s;
}

inline std::string_view trim_end(std::string_view s) noexcept {
  while (!s.empty()) {
    auto c = static_cast<unsigned char>(s.back());
    if (c > ' ' && c < 0x80) break;
    std::size_t k = js_space_suffix(s);
    if (k == 0) break;
    s.remove_suffix(k);
  }
  return s;
}

inline std::string_view trim(std::string_view s) noexcept { return trim_end(trim_start(s)); }

/// Index of the quote closing the string that opens at `s[start]` (a '"'), honouring
/// backslash escapes; npos if unterminated.
inline std::size_t find_closing_quote(std::string_view s, std::size_t start) noexcept {
  std::size_t i = start + 1;
  const std::size_t n = s.size();
  while (i < n) {
    char c = s[i];
    if (c == '\\' && i + 1 < n) {
      i += 2;
    } else if (c == '"') {
      return i;
    } else {
      ++i;
    }
  }
  return npos;
}

/// Index of the first `ch` at or after `from` outside double-quoted sections, or npos.
inline std::size_t find_unquoted(std::string_view s, char ch, std::size_t from = 0) noexcept {
  bool in_quotes = false;
  const std::size_t n = s.size();
  for (std::size_t i = from; i < n; ++i) {
    char c = s[i];
    if (in_quotes && c == '\\' && i + 1 < n) {
      ++i;
    } else if (c == '"') {
      in_quotes = !in_quotes;
    } else if (c == ch && !in_quotes) {
      return i;
    }
  }
  return npos;
}

// ---- keys ----

constexpr bool is_key_start(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
constexpr bool is_key_char(char c) noexcept { return is_key_start(c) || is_digit(c); }

/// TOON §7.3: a key may go unquoted when it matches ^[A-Za-z_][A-Za-z0-9_.]*$.
inline bool is_unquoted_key(std::string_view k) noexcept {
  if (k.empty() || !is_key_start(k[0])) return false;
  for (char c : k)
    if (!is_key_char(c) && c != '.') return false;
  return true;
}

/// TOON §1.9: IdentifierSegment, ^[A-Za-z_][A-Za-z0-9_]*$.
inline bool is_identifier_segment(std::string_view k) noexcept {
  if (k.empty() || !is_key_start(k[0])) return false;
  for (char c : k)
    if (!is_key_char(c)) return false;
  return true;
}

/// True when every '.'-separated segment of `k` is an IdentifierSegment and there are at least
/// two (the keys path expansion splits).
inline bool is_expandable_path(std::string_view k) noexcept {
  if (k.find('.') == npos) return false;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = k.find('.', start);
    if (!is_identifier_segment(k.substr(start, dot == npos ? npos : dot - start))) return false;
    if (dot == npos) return true;
    start = dot + 1;
  }
}

// ---- numbers ----

/// /^-?\d+(?:\.\d+)?(?:e[+-]?\d+)?$/i — a string an unquoted token would read as a number (or
/// as a leading-zero string the spec still quotes, TOON §7.2).
inline bool is_numeric_like(std::string_view s) noexcept {
  std::size_t i = 0, n = s.size();
  if (i < n && s[i] == '-') ++i;
  std::size_t d = i;
  while (i < n && is_digit(s[i])) ++i;
  if (i == d) return false;
  if (i < n && s[i] == '.') {
    d = ++i;
    while (i < n && is_digit(s[i])) ++i;
    if (i == d) return false;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    d = i;
    while (i < n && is_digit(s[i])) ++i;
    if (i == d) return false;
  }
  return i == n;
}

/// Writes `d` (finite) in TOON §2 canonical form — the digits of the shortest round-trip
/// representation laid out as ECMAScript Number::toString does: plain decimal for
/// 1e-6 <= |d| < 1e21, otherwise d[.ddd]e±x; -0 becomes 0. Needs 32 bytes; returns the end.
/// The shortest decimal digits of `a` (positive, finite) when `a` has at most 9 decimals and its
/// digits fit in 2^50: writes them to `digits`, sets `count` and the decimal exponent `n` (the
/// point sits after n digits) and returns true. Cheaper than a general shortest-representation
/// algorithm for the common case of prices, measurements and scores.
///
/// Why it is exact: for the smallest k where m = round(a * 10^k) satisfies m / 10^k == a (IEEE
/// division, correctly rounded: so parsing "m e-k" gives back `a`), m has the fewest digits of
/// any decimal that reads back as `a`; below 2^50 the product's rounding error (< 1/8) cannot
/// move m off the integer it should be, and two different m cannot both read back as `a`, so
/// this is the one string a shortest round-trip algorithm produces.
inline bool short_decimal_digits(double a, char* digits, int& count, int& n) noexcept {
  static constexpr double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
  constexpr double limit = 1125899906842624.0;  // 2^50
  for (int k = 0; k < 10; ++k) {
    double prod = a * pow10[k];
    if (!(prod < limit)) return false;
    auto m = static_cast<std::uint64_t>(prod + 0.5);
    if (m != 0 && static_cast<double>(m) / pow10[k] == a) {
      count = static_cast<int>(std::to_chars(digits, digits + 20, m).ptr - digits);
      while (count > 1 && digits[count - 1] == '0') {  // only when k == 0: 1230 -> "123", n = 4
        --count;
        ++n;
      }
      n += count - k;
      return true;
    }
  }
  return false;
}

inline char* format_double(char* out, double d) noexcept {
  if (d == 0) {
    *out++ = '0';
    return out;
  }
  char digits[24];
  int k = 0;
  int n = 0;  // the decimal point sits after n digits
  if (d < 0) *out++ = '-';
  if (!short_decimal_digits(std::fabs(d), digits, k, n)) {
    char tmp[40];
    auto r = std::to_chars(tmp, tmp + sizeof tmp, std::fabs(d), std::chars_format::scientific);
    const char* p = tmp;
    k = 0;
    for (; *p != 'e'; ++p)
      if (*p != '.') digits[k++] = *p;
    ++p;
    bool neg_exp = *p == '-';
    ++p;  // to_chars always writes the exponent sign
    int e = 0;
    for (; p < r.ptr; ++p) e = e * 10 + (*p - '0');
    if (neg_exp) e = -e;
    n = e + 1;
  }
  if (k <= n && n <= 21) {
    std::memcpy(out, digits, static_cast<std::size_t>(k));
    out += k;
    std::memset(out, '0', static_cast<std::size_t>(n - k));
    out += n - k;
  } else if (0 < n && n <= 21) {
    std::memcpy(out, digits, static_cast<std::size_t>(n));
    out += n;
    *out++ = '.';
    std::memcpy(out, digits + n, static_cast<std::size_t>(k - n));
    out += k - n;
  } else if (-6 < n && n <= 0) {
    *out++ = '0';
    *out++ = '.';
    std::memset(out, '0', static_cast<std::size_t>(-n));
    out += -n;
    std::memcpy(out, digits, static_cast<std::size_t>(k));
    out += k;
  } else {
    *out++ = digits[0];
    if (k > 1) {
      *out++ = '.';
      std::memcpy(out, digits + 1, static_cast<std::size_t>(k - 1));
      out += k - 1;
    }
    *out++ = 'e';
    int x = n - 1;
    *out++ = x < 0 ? '-' : '+';
    out = std::to_chars(out, out + 8, x < 0 ? -x : x).ptr;
  }
  return out;
}

/// Parses a token that reads as a number (TOON §4): -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?,
/// finite. Integers that fit int64 (or uint64) stay exact; other values become the nearest
/// double, normalized to an integer when integral and within ±2^53; -0 becomes 0. Returns false
/// (and leaves `out` alone) when the token is not such a number — leading zeros ("05"), forms
/// outside the grammar, or magnitudes that overflow a double ("1e999"): all are strings.
inline bool parse_number(std::string_view t, value& out) {
  const char* s = t.data();
  const std::size_t n = t.size();
  std::size_t i = 0;
  bool neg = false;
  if (i < n && s[i] == '-') {
    neg = true;
    ++i;
  }
  const std::size_t int_begin = i;
  if (i >= n || !is_digit(s[i])) return false;
  if (s[i] == '0') {
    ++i;
    if (i < n && is_digit(s[i])) return false;  // forbidden leading zero
  } else {
    while (i < n && is_digit(s[i])) ++i;
  }
  const std::size_t int_end = i;
  bool is_integer = true;
  if (i < n && s[i] == '.') {
    is_integer = false;
    std::size_t d = ++i;
    while (i < n && is_digit(s[i])) ++i;
    if (i == d) return false;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    is_integer = false;
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    std::size_t d = i;
    while (i < n && is_digit(s[i])) ++i;
    if (i == d) return false;
  }
  if (i != n) return false;

  if (is_integer) {
    std::size_t digits = int_end - int_begin;
    if (digits <= 18) {  // fits int64 without overflow checks
      std::int64_t v = 0;
      for (std::size_t j = int_begin; j < int_end; ++j) v = v * 10 + (s[j] - '0');
      out = neg ? -v : v;  // "-0" is 0
      return true;
    }
    std::uint64_t u = 0;
    auto r = std::from_chars(s + int_begin, s + int_end, u);
    if (r.ec == std::errc()) {
      if (!neg) {
        if (u <= static_cast<std::uint64_t>(INT64_MAX))
          out = static_cast<std::int64_t>(u);
        else
          out = u;
        return true;
      }
      if (u <= static_cast<std::uint64_t>(INT64_MAX) + 1) {
        out = static_cast<std::int64_t>(0 - u);  // two's complement: covers INT64_MIN
        return true;
      }
    }
    // Beyond 64 bits: fall through to the nearest double.
  }
  {
    // Clinger's fast path: with at most 15 significant digits (< 2^53) and a power of ten
    // that is itself exact (<= 1e22), one IEEE multiplication or division is correctly
    // rounded, so it gives the same double as a full conversion.
    static constexpr double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    std::uint64_t m = 0;
    int digits = 0;
    long long e10 = 0;
    std::size_t j = int_begin;
    for (; j < n && s[j] != 'e' && s[j] != 'E'; ++j) {
      if (s[j] == '.') continue;
      if (j > int_end) --e10;  // a fraction digit
      if (m == 0 && s[j] == '0') continue;
      if (++digits > 15) break;
      m = m * 10 + static_cast<std::uint64_t>(s[j] - '0');
    }
    if (digits <= 15) {
      if (j < n) {  // exponent part
        std::size_t k = j + 1;
        bool eneg = false;
        if (s[k] == '+' || s[k] == '-') eneg = s[k++] == '-';
        long long x = 0;
        for (; k < n && x < 100000; ++k) x = x * 10 + (s[k] - '0');
        e10 += eneg ? -x : x;
      }
      if (m == 0) {
        out = 0;
        return true;
      }
      if (e10 >= -22 && e10 <= 22) {
        double d = static_cast<double>(m);
        d = e10 < 0 ? d / pow10[-e10] : d * pow10[e10];
        if (neg) d = -d;
        if (d == std::floor(d) && std::fabs(d) <= 9007199254740992.0)
          out = static_cast<std::int64_t>(d);
        else
          out = d;
        return true;
      }
    }
  }
  double d = 0;
  auto r = std::from_chars(s, s + n, d);
  if (r.ec == std::errc::result_out_of_range) {
    // Overflow makes the token a string (it is not a finite number); underflow is zero. The
    // sign of the decimal exponent of the first significant digit tells them apart.
    long long exp10 = 0;
    std::size_t j = i;  // find the exponent part, if any
    for (j = int_begin; j < n && s[j] != 'e' && s[j] != 'E'; ++j) {
    }
    if (j < n) {
      bool eneg = false;
      std::size_t k = j + 1;
      if (s[k] == '+' || s[k] == '-') eneg = s[k++] == '-';
      for (; k < n && exp10 < 100000000; ++k) exp10 = exp10 * 10 + (s[k] - '0');
      if (eneg) exp10 = -exp10;
    }
    // Position of the first non-zero digit relative to the decimal point.
    long long lead = 0;
    std::size_t j2 = int_begin;
    bool seen_point = false, found = false;
    long long int_digits = static_cast<long long>(int_end - int_begin);
    long long frac_pos = 0;
    for (; j2 < j; ++j2) {
      if (s[j2] == '.') {
        seen_point = true;
        continue;
      }
      if (s[j2] != '0') {
        found = true;
        break;
      }
      if (seen_point) ++frac_pos;
    }
    if (!found) {
      out = 0;
      return true;
    }
    lead = seen_point ? -(frac_pos + 1) : int_digits - 1 - static_cast<long long>(j2 - int_begin);
    if (lead + exp10 > 0) return false;  // overflow: a string, like the reference
    out = 0;
    return true;
  }
  if (r.ec != std::errc() || r.ptr != s + n || !std::isfinite(d)) return false;
  if (d == 0) {
    out = 0;
    return true;
  }
  if (d == std::floor(d) && std::fabs(d) <= 9007199254740992.0) {
    out = static_cast<std::int64_t>(d);
    return true;
  }
  out = d;
  return true;
}

// ---- strings ----

/// Bytes that force quoting in any position (TOON §7.2): controls, ':', '"', '\', brackets and
/// braces. The delimiter is added per table.
inline constexpr std::array<bool, 256> make_quote_table(char delim) {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[static_cast<std::size_t>(c)] = true;
  for (char c : {':', '"', '\\', '[', ']', '{', '}'}) t[static_cast<unsigned char>(c)] = true;
  t[static_cast<unsigned char>(delim)] = true;
  return t;
}
inline constexpr std::array<bool, 256> quote_table_comma = make_quote_table(',');
inline constexpr std::array<bool, 256> quote_table_tab = make_quote_table('\t');
inline constexpr std::array<bool, 256> quote_table_pipe = make_quote_table('|');

inline const std::array<bool, 256>& quote_table(delimiter d) noexcept {
  return d == delimiter::comma ? quote_table_comma
         : d == delimiter::tab ? quote_table_tab
                               : quote_table_pipe;
}

#if defined(__SSE2__)
/// Bytes in [0x00, 0x1F] among the 16 at `x`.
inline __m128i sse_controls(__m128i x) noexcept {
  return _mm_cmpeq_epi8(_mm_max_epu8(x, _mm_set1_epi8(0x1F)), _mm_set1_epi8(0x1F));
}
#endif

/// Does `s` contain a byte of `table` (`delim` is the table's delimiter)? Sixteen bytes at a
/// time where SSE2 is available.
inline bool has_quote_byte(std::string_view s, const std::array<bool, 256>& table,
                           char delim) noexcept {
  const char* p = s.data();
  const char* end = p + s.size();
#if defined(__SSE2__)
  const __m128i colon = _mm_set1_epi8(':'), quote = _mm_set1_epi8('"'),
                bslash = _mm_set1_epi8('\\'), lbr = _mm_set1_epi8('['), rbr = _mm_set1_epi8(']'),
                lbrace = _mm_set1_epi8('{'), rbrace = _mm_set1_epi8('}'), dl = _mm_set1_epi8(delim);
  for (; end - p >= 16; p += 16) {
    __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i m = _mm_or_si128(
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, colon), _mm_cmpeq_epi8(x, quote)),
                     _mm_or_si128(_mm_cmpeq_epi8(x, bslash), _mm_cmpeq_epi8(x, dl))),
        _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(x, lbr), _mm_cmpeq_epi8(x, rbr)),
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, lbrace), _mm_cmpeq_epi8(x, rbrace)),
                         sse_controls(x))));
    if (_mm_movemask_epi8(m) != 0) return true;
  }
#else
  (void)delim;
#endif
  for (; p < end; ++p)
    if (table[static_cast<unsigned char>(*p)]) return true;
  return false;
}

/// The first byte in [p, end) that TOON §7.1 escapes (controls, '"', '\\'), or `end`.
inline const char* find_escape(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
  for (; end - p >= 16; p += 16) {
    __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
                             sse_controls(x));
    int bits = _mm_movemask_epi8(m);
    if (bits != 0) return p + __builtin_ctz(static_cast<unsigned>(bits));
  }
#endif
  for (; p < end; ++p) {
    auto c = static_cast<unsigned char>(*p);
    if (c < 0x20 || c == '"' || c == '\\') return p;
  }
  return end;
}

/// TOON §7.2: must `s` be quoted as a value where `table`'s delimiter (`delim`) is the
/// relevant one?
inline bool needs_quotes(std::string_view s, const std::array<bool, 256>& table,
                         char delim) noexcept {
  if (s.empty()) return true;
  const char c0 = s[0];
  if (c0 == '-') return true;
  if (has_quote_byte(s, table, delim)) return true;
  auto f = static_cast<unsigned char>(c0);
  auto l = static_cast<unsigned char>(s.back());
  if (!(f > ' ' && f < 0x80) && js_space_prefix(s) != 0) return true;
  if (!(l > ' ' && l < 0x80) && js_space_suffix(s) != 0) return true;
  switch (s.size()) {
    case 4:
      if (s == "true" || s == "null") return true;
      break;
    case 5:
      if (s == "false") return true;
      break;
    default:
      break;
  }
  return is_digit(c0) && is_numeric_like(s);
}

/// Appends `s` escaped per TOON §7.1 (no surrounding quotes) to `out`, which must have room for
/// 6 * s.size() bytes; returns the end.
inline char* escape_into(char* out, std::string_view s) noexcept {
  static constexpr char hex[] = "0123456789abcdef";
  const char* p = s.data();
  const char* end = p + s.size();
  while (p < end) {
    const char* run = p;
    p = find_escape(p, end);
    std::memcpy(out, run, static_cast<std::size_t>(p - run));
    out += p - run;
    if (p == end) break;
    auto c = static_cast<unsigned char>(*p++);
    *out++ = '\\';
    switch (c) {
      case '"':
        *out++ = '"';
        break;
      case '\\':
        *out++ = '\\';
        break;
      case '\n':
        *out++ = 'n';
        break;
      case '\r':
        *out++ = 'r';
        break;
      case '\t':
        *out++ = 't';
        break;
      default:
        *out++ = 'u';
        *out++ = '0';
        *out++ = '0';
        *out++ = hex[c >> 4];
        *out++ = hex[c & 15];
    }
  }
  return out;
}

/// Appends the UTF-8 encoding of a BMP code point (not a surrogate).
inline void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Why unescaping failed, and where (offset into the escaped text).
struct unescape_failure {
  std::size_t offset = 0;
  const char* what = nullptr;
};

/// Unescapes the inside of a quoted string per TOON §7.1 into `out` (replacing its contents).
/// Returns false and fills `fail` on an escape the spec does not allow.
inline bool unescape(std::string_view in, std::string& out, unescape_failure& fail) {
  out.clear();
  std::size_t i = 0;
  const std::size_t n = in.size();
  while (i < n) {
    std::size_t bs = in.find('\\', i);
    if (bs == npos) {
      out.append(in.data() + i, n - i);
      break;
    }
    out.append(in.data() + i, bs - i);
    if (bs + 1 >= n) {
      fail = {bs, "backslash at the end of a string"};
      return false;
    }
    char e = in[bs + 1];
    switch (e) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case '\\':
        out += '\\';
        break;
      case '"':
        out += '"';
        break;
      case 'u': {
        if (bs + 6 > n) {
          fail = {bs, "truncated \\u escape (needs 4 hex digits)"};
          return false;
        }
        std::uint32_t cp = 0;
        for (std::size_t k = 0; k < 4; ++k) {
          int h = hex_value(in[bs + 2 + k]);
          if (h < 0) {
            fail = {bs, "\\u must be followed by 4 hex digits"};
            return false;
          }
          cp = cp * 16 + static_cast<std::uint32_t>(h);
        }
        if (cp >= 0xD800 && cp <= 0xDFFF) {
          fail = {bs, "\\u escape of a surrogate (supplementary characters must be literal UTF-8)"};
          return false;
        }
        append_utf8(out, cp);
        i = bs + 6;
        continue;
      }
      default:
        fail = {bs, "invalid escape sequence"};
        return false;
    }
    i = bs + 2;
  }
  return true;
}

/// An object's entries as the plain vector they are stored in (ordered_map's own operator[]
/// looks keys up; these index positions).
inline const value::object_t::Container& entries(const value::object_t& o) noexcept { return o; }
inline value::object_t::Container& entries(value::object_t& o) noexcept { return o; }

// ---- a hash index of keys kept elsewhere ----

/// Finds keys among `n` keys stored elsewhere (an object under construction), so duplicate
/// checks and merges stay linear on wide objects. Below `linear_limit` keys it scans; above, it
/// keeps an open-addressing table of indices. `key_of(i)` returns the i-th key.
class key_index {
 public:
  static constexpr std::size_t linear_limit = 12;

  template <class KeyOf>
  std::size_t find(std::string_view key, std::size_t n, const KeyOf& key_of) {
    if (n <= linear_limit) {
      for (std::size_t i = 0; i < n; ++i)
        if (key_of(i) == key) return i;
      return npos;
    }
    sync(n, key_of);
    std::size_t mask = slots_.size() - 1;
    for (std::size_t s = hash64(key) & mask;; s = (s + 1) & mask) {
      std::uint32_t v = slots_[s];
      if (v == 0) return npos;
      if (key_of(v - 1) == key) return v - 1;
    }
  }

 private:
  // Brings the table up to the first `n` keys (keys are only ever appended).
  template <class KeyOf>
  void sync(std::size_t n, const KeyOf& key_of) {
    if (slots_.size() < 2 * n + 2) {
      std::size_t cap = 64;
      while (cap < 4 * n) cap *= 2;
      slots_.assign(cap, 0);
      indexed_ = 0;
    }
    std::size_t mask = slots_.size() - 1;
    for (; indexed_ < n; ++indexed_) {
      std::size_t s = hash64(key_of(indexed_)) & mask;
      while (slots_[s] != 0) s = (s + 1) & mask;
      slots_[s] = static_cast<std::uint32_t>(indexed_ + 1);
    }
  }
  std::vector<std::uint32_t> slots_;
  std::size_t indexed_ = 0;
};

}  // namespace toon::detail
SOCHDB_END_NAMESPACE
