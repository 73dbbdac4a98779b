// sochdb/toon/decode.hpp — the TOON text decoder (spec 3.3).
//
//   sochdb::toon::value doc = sochdb::toon::decode(text);
//   auto lenient = sochdb::toon::decode(text, {.strict = false,
//                                              .expand_paths = sochdb::toon::expand_paths::safe});
//
// Reads the whole text in one pass over its lines (no line array is built) and builds the
// document directly: objects are assembled on a scratch stack and moved into place once
// complete, so nothing is copied when containers grow. Errors are `sochdb::parse_error` with the
// 1-based line and column (in code points) of the offending token: "toon: line 3, column 5:
// array 'items' declares 3 rows, found 2".
//
// Behaviour follows the spec's decoder rules (§4 tokens and numbers, §5 root form, §6 headers,
// §7 strings and keys, §8–11 objects, arrays, delimiters, §12 indentation, §13.4 path
// expansion, §14 strict-mode errors). Where the spec is loose, it does what the reference
// implementation (npm @toon-format/toon 2.3.1) does, with these deliberate differences (see
// docs/toon.md):
//   - header-shaped text after a key's colon (`key: foo [2]: bar`) is the key's string value,
//     as the spec's fixtures require (2.3.1 reads `key: foo` as an array key);
//   - lines that belong to no structure (indented past their parent, or after a root array)
//     are an error; 2.3.1 drops them silently;
//   - quoted tabular field names stay literal under path expansion (§13.4), as quoted keys do;
//   - integers are exact over int64 and uint64 (2.3.1 rounds beyond 2^53).
// Numbers: integer tokens that fit int64/uint64 are exact; others become the nearest double
// (normalized to an integer when integral and within ±2^53); a token that overflows a double is
// a string, as in 2.3.1.
//
// Hostile input: nesting deeper than `decode_options::max_depth` (containers, counted from the
// root) is a parse error, so recursion is bounded; declared lengths never drive allocation
// beyond a fixed reserve; every scan is linear in the input.
//
// Thread-safety: a pure function of its arguments.
#pragma once

#include <sochdb/core/error.hpp>
#include <sochdb/toon/detail/text.hpp>
#include <sochdb/toon/options.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

SOCHDB_BEGIN_NAMESPACE
namespace toon {
namespace detail {

class text_decoder {
  using object_t = value::object_t;
  using array_t = value::array_t;

  struct line {
    const char* content = nullptr;  // after the leading spaces
    std::size_t size = 0;           // bytes up to the newline (exclusive)
    std::size_t depth = 0;
    [[nodiscard]] std::string_view view() const noexcept { return {content, size}; }
  };

  struct header {
    bool has_key = false;
    bool key_quoted = false;
    std::string key;
    std::uint64_t length = 0;
    char delim = ',';
    bool has_fields = false;
    std::vector<std::string> fields;
    std::vector<char> field_quoted;
    std::string_view inline_values;  // trimmed text after the colon; empty if none
    const char* where = nullptr;     // the line content, for messages
  };

  // A field of an object under construction (on the scratch stack).
  struct field {
    std::string key;
    value val;
    const char* where = nullptr;
    bool quoted = false;
  };

  // An object under construction: its fields are scratch_[start, scratch_.size()).
  struct object_frame {
    std::size_t start = 0;
    key_index index;
  };

 public:
  text_decoder(std::string_view text, const decode_options& o)
      : in_(text),
        indent_(static_cast<std::size_t>(o.indent)),
        strict_(o.strict),
        expand_(o.expand_paths == expand_paths::safe),
        max_depth_(o.max_depth) {}

  value run() {
    const line* first = peek();
    if (first == nullptr) return value::object();
    line ln = *first;
    std::string_view content = ln.view();
    if (trim(content) == "[]") {
      advance();
      nest guard(*this, ln.content);
      expect_end();
      return value::array();
    }
    if (is_array_header_content(content)) {
      header h;
      if (parse_header(content, h)) {
        advance();
        value v = decode_array(h, 0);
        expect_end();
        return v;
      }
    }
    advance();
    const line* next = peek();
    bool kv = is_key_value_line(content);
    if (next == nullptr && !kv) {
      return primitive(trim(content));
    }
    if (!kv && next != nullptr && next->depth == 0)
      fail(ln.content,
           "a document of several lines must be an object or an array; this line is neither a "
           "key-value line nor an array header");
    nest guard(*this, ln.content);
    object_frame frame{scratch_.size(), {}};
    decode_key_value(content, 0, frame);
    while (const line* l = peek()) {
      if (l->depth != 0) break;
      line cur = *l;
      advance();
      decode_key_value(cur.view(), 0, frame);
    }
    value root = finish(frame);
    expect_end();
    return root;
  }

 private:
  // ---- errors ----

  [[noreturn]] void fail(const char* at, const std::string& what) const {
    // Line and column are computed only here, from the position in the input.
    const char* begin = in_.data();
    if (at < begin || at > begin + in_.size()) at = begin + in_.size();
    std::size_t line_no = 1;
    const char* line_start = begin;
    for (const char* p = begin; p < at; ++p) {
      if (*p == '\n') {
        ++line_no;
        line_start = p + 1;
      }
    }
    std::size_t col = 1;
    for (const char* p = line_start; p < at; ++p)
      if ((static_cast<unsigned char>(*p) & 0xC0) != 0x80) ++col;
    throw parse_error("toon", line_no, col, what);
  }

  static std::string name(std::string_view key) { return printable_key(key, 60); }

  // ---- nesting ----

  class nest {
   public:
    nest(text_decoder& d, const char* where) : d_(d) {
      if (++d_.level_ > d_.max_depth_)
        d_.fail(where, "nesting deeper than max_depth (" + std::to_string(d_.max_depth_) + ")");
    }
    ~nest() { --d_.level_; }
    nest(const nest&) = delete;
    nest& operator=(const nest&) = delete;

   private:
    text_decoder& d_;
  };

  // ---- lines ----

  static bool is_blank(std::string_view content) noexcept {
    if (content.empty()) return true;
    auto c = static_cast<unsigned char>(content[0]);
    if (c > ' ' && c < 0x80) return false;
    return trim(content).empty();
  }

  /// The next non-blank line, or null at the end. Strict mode checks its indentation here.
  const line* peek() {
    if (peeked_) return &next_;
    while (pos_ <= in_.size()) {
      const char* raw = in_.data() + pos_;
      std::size_t rest = in_.size() - pos_;
      const void* nl = rest == 0 ? nullptr : std::memchr(raw, '\n', rest);
      std::size_t len =
          nl != nullptr ? static_cast<std::size_t>(static_cast<const char*>(nl) - raw) : rest;
      pos_ += len + 1;  // past the newline; past the end for the last line
      std::size_t sp = 0;
      while (sp < len && raw[sp] == ' ') ++sp;
      std::string_view content(raw + sp, len - sp);
      if (is_blank(content)) {
        if (blank_ == nullptr) blank_ = raw;
        continue;
      }
      if (strict_) {
        if (content[0] == '\t') fail(raw + sp, "tab in indentation (strict mode)");
        if (sp % indent_ != 0)
          fail(raw + sp, "indentation of " + std::to_string(sp) + " spaces is not a multiple of " +
                             std::to_string(indent_) + " (strict mode)");
      }
      next_ = {content.data(), content.size(), sp / indent_};
      peeked_ = true;
      return &next_;
    }
    return nullptr;
  }

  /// Consumes the peeked line. Inside an array (after its first item), strict mode rejects the
  /// blank lines skipped to reach it (§12).
  void advance() {
    peeked_ = false;
    if (blank_ != nullptr && strict_ && open_arrays_ > 0)
      fail(blank_, "blank line inside an array (strict mode)");
    blank_ = nullptr;
  }

  void expect_end() {
    if (const line* l = peek())
      fail(l->content, l->depth > 0 ? "unexpected indentation: this line belongs to no structure"
                                    : "unexpected content after the root array");
  }

  // ---- tokens ----

  static bool starts_with(std::string_view s, std::string_view p) noexcept {
    return s.size() >= p.size() && std::memcmp(s.data(), p.data(), p.size()) == 0;
  }

  static bool is_array_header_content(std::string_view c) noexcept {
    std::string_view t = trim_start(c);
    return !t.empty() && t[0] == '[' && find_unquoted(c, ':') != npos;
  }

  static bool is_key_value_line(std::string_view c) noexcept {
    if (!c.empty() && c[0] == '"') {
      std::size_t q = find_closing_quote(c, 0);
      return q != npos && c.find(':', q + 1) != npos;
    }
    return c.find(':') != npos;
  }

  /// A quoted token that must be exactly one string literal (§7.1).
  std::string string_literal(std::string_view t) const {
    std::size_t q = find_closing_quote(t, 0);
    if (q == npos) fail(t.data(), "unterminated string");
    if (q != t.size() - 1) fail(t.data() + q + 1, "unexpected characters after the closing quote");
    std::string_view inner = t.substr(1, q - 1);
    std::string out;
    if (inner.find('\\') == npos) {
      out.assign(inner);
      return out;
    }
    unescape_failure f;
    if (!unescape(inner, out, f)) fail(inner.data() + f.offset, f.what);
    return out;
  }

  /// A token in value position (§4): quoted string, literal, number, or unquoted string.
  value primitive(std::string_view token) const {
    std::string_view t = trim(token);
    if (t.empty()) return value::string_t();
    char c = t[0];
    switch (c) {
      case '"':
        return string_literal(t);
      case 't':
        if (t == "true") return true;
        break;
      case 'f':
        if (t == "false") return false;
        break;
      case 'n':
        if (t == "null") return nullptr;
        break;
      default:
        if (c == '-' || is_digit(c)) {
          value v;
          if (parse_number(t, v)) return v;
        }
        break;
    }
    return value::string_t(t);
  }

  /// Splits `s` on unquoted `delim` into trimmed tokens (§11.2, Appendix B.3). With
  /// `row_check`, returns false as soon as an unquoted ':' comes before any unquoted delimiter:
  /// the line is a key-value line, not a tabular row (§9.3).
  static bool split(std::string_view s, char delim, bool row_check,
                    std::vector<std::string_view>& out) {
    // Bytes that matter outside quotes: the delimiter, '"' and ':' (one table per delimiter).
    static constexpr auto make = [](char d) {
      std::array<bool, 256> t{};
      t[static_cast<unsigned char>(d)] = t['"'] = t[':'] = true;
      return t;
    };
    static constexpr std::array<bool, 256> comma = make(','), tab = make('\t'), pipe = make('|');
    const std::array<bool, 256>& special = delim == ',' ? comma : delim == '\t' ? tab : pipe;
    out.clear();
    bool seen_delim = false;
    std::size_t start = 0, i = 0;
    const std::size_t n = s.size();
    const auto* d = reinterpret_cast<const unsigned char*>(s.data());
    while (true) {
      while (i < n && !special[d[i]]) ++i;
      if (i >= n) break;
      const char c = static_cast<char>(d[i]);
      if (c == delim) {
        seen_delim = true;
        out.push_back(trim(s.substr(start, i - start)));
        start = ++i;
      } else if (c == '"') {
        // Skip the quoted section, honouring backslash escapes (Appendix B.3).
        for (++i; i < n; ++i) {
          if (d[i] == '\\' && i + 1 < n) {
            ++i;
          } else if (d[i] == '"') {
            ++i;
            break;
          }
        }
      } else {  // ':'
        if (row_check && !seen_delim) return false;
        ++i;
      }
    }
    if (start < n || !out.empty()) out.push_back(trim(s.substr(start)));
    return true;
  }

  // ---- headers (§6, Appendix B.2) ----

  /// Parses an array header at the start of `c`. Returns false when `c` is not a header; in
  /// strict mode, a malformed bracket or fields segment is an error instead.
  bool parse_header(std::string_view c, header& h) const {
    const std::size_t n = c.size();
    std::string_view t = trim_start(c);
    std::size_t bs = npos;
    if (!t.empty() && t[0] == '"') {
      std::size_t q = find_closing_quote(t, 0);
      if (q == npos || q + 1 >= t.size() || t[q + 1] != '[') return false;
      bs = (n - t.size()) + q + 1;
    } else {
      // The first unquoted '['; an unquoted ':' before it makes the line a key-value line whose
      // value merely looks like a header (`key: foo [2]: bar`, spec fixtures objects.json).
      bool in_quotes = false;
      for (std::size_t i = 0; i < n; ++i) {
        char ch = c[i];
        if (in_quotes) {
          if (ch == '\\' && i + 1 < n)
            ++i;
          else if (ch == '"')
            in_quotes = false;
          continue;
        }
        if (ch == '"') {
          in_quotes = true;
        } else if (ch == ':') {
          return false;
        } else if (ch == '[') {
          bs = i;
          break;
        }
      }
      if (bs == npos) return false;
    }
    const std::size_t be = find_unquoted(c, ']', bs);
    if (be == npos) return false;
    std::size_t brace_end = be + 1;
    const std::size_t brs = find_unquoted(c, '{', be);
    const std::size_t colon_after = find_unquoted(c, ':', be);
    if (brs != npos && colon_after != npos && brs < colon_after) {
      std::string_view gap = c.substr(be + 1, brs - (be + 1));
      if (!gap.empty()) {
        if (strict_)
          fail(gap.data(), trim(gap).empty()
                               ? "whitespace between the bracket segment and the fields segment"
                               : "unexpected content between the bracket segment and the fields "
                                 "segment");
        return false;
      }
      std::size_t fbe = find_unquoted(c, '}', brs);
      if (fbe != npos) brace_end = fbe + 1;
    }
    const std::size_t colon = find_unquoted(c, ':', std::max(be, brace_end));
    if (colon == npos) return false;
    const std::size_t gs = std::max(be + 1, brace_end);
    if (colon > gs) {
      std::string_view gap = c.substr(gs, colon - gs);
      if (strict_)
        fail(gap.data(), trim(gap).empty()
                             ? "whitespace between the array header and its colon"
                             : "unexpected content between the array header and its colon");
      return false;
    }
    h.where = c.data();
    h.has_key = bs > 0;
    h.key_quoted = false;
    h.key.clear();
    if (bs > 0) {
      std::string_view raw = trim(c.substr(0, bs));
      if (!raw.empty() && raw[0] == '"') {
        h.key = string_literal(raw);
        h.key_quoted = true;
      } else {
        h.key.assign(raw);
      }
    }
    h.inline_values = trim(c.substr(colon + 1));
    std::string_view bracket = c.substr(bs + 1, be - bs - 1);
    h.delim = ',';
    if (!bracket.empty() && (bracket.back() == '\t' || bracket.back() == '|')) {
      h.delim = bracket.back();
      bracket.remove_suffix(1);
    }
    bool valid = !bracket.empty() && (bracket == "0" || (bracket[0] >= '1' && bracket[0] <= '9'));
    for (char ch : bracket) valid = valid && is_digit(ch);
    if (!valid) {
      if (strict_)
        fail(c.data() + bs + 1, "invalid array length '" +
                                    std::string(c.substr(bs + 1, be - bs - 1)) +
                                    "' (expected a non-negative integer without leading zeros)");
      return false;
    }
    h.length = 0;
    for (char ch : bracket) {
      auto digit = static_cast<std::uint64_t>(ch - '0');
      h.length = h.length > (UINT64_MAX - digit) / 10 ? UINT64_MAX : h.length * 10 + digit;
    }
    h.has_fields = false;
    h.fields.clear();
    h.field_quoted.clear();
    if (brs != npos && brs < colon) {
      std::size_t fbe = find_unquoted(c, '}', brs);
      if (fbe != npos && fbe < colon) {
        std::string_view fc = c.substr(brs + 1, fbe - brs - 1);
        for (char other : {',', '\t', '|'}) {
          if (other == h.delim) continue;
          std::size_t at = find_unquoted(fc, other);
          if (at != npos) {
            if (strict_)
              fail(fc.data() + at, std::string("delimiter mismatch: the bracket declares ") +
                                       delimiter_name(h.delim) + " but the fields use " +
                                       delimiter_name(other));
            return false;
          }
        }
        std::vector<std::string_view> toks;
        split(fc, h.delim, false, toks);
        for (std::string_view f : toks) {
          if (!f.empty() && f[0] == '"') {
            h.fields.push_back(string_literal(f));
            h.field_quoted.push_back(1);
          } else {
            h.fields.emplace_back(f);
            h.field_quoted.push_back(0);
          }
        }
        h.has_fields = true;
      }
    }
    return true;
  }

  static const char* delimiter_name(char d) noexcept {
    return d == ',' ? "comma" : d == '\t' ? "tab" : "pipe";
  }

  static std::string what_array(const header& h) {
    return h.has_key ? "array " + name(h.key) : std::string("array");
  }

  // ---- objects ----

  std::size_t find_field(object_frame& f, std::string_view key) {
    std::size_t n = scratch_.size() - f.start;
    return f.index.find(
        key, n, [&](std::size_t i) -> std::string_view { return scratch_[f.start + i].key; });
  }

  /// Looks `key` up before its value is decoded: strict mode rejects a duplicate (§14.4).
  std::size_t claim(object_frame& f, std::string_view key, const char* where) {
    std::size_t slot = find_field(f, key);
    if (slot != npos && strict_) fail(where, "duplicate key " + name(key) + " (strict mode)");
    return slot;
  }

  /// Stores a field: appended when new, otherwise last write wins in place (§14.4).
  void store(object_frame& f, std::size_t slot, std::string&& key, value&& v, const char* where,
             bool quoted) {
    if (slot == npos) {
      scratch_.push_back(field{std::move(key), std::move(v), where, quoted});
    } else {
      field& old = scratch_[f.start + slot];
      old.val = std::move(v);
      old.quoted = old.quoted || quoted;
    }
  }

  /// Moves the frame's fields into a new object (expanding dotted keys when asked).
  value finish(object_frame& f) {
    const std::size_t n = scratch_.size() - f.start;
    if (expand_) {
      for (std::size_t i = f.start; i < scratch_.size(); ++i) {
        if (!scratch_[i].quoted && is_expandable_path(scratch_[i].key)) {
          value v = expand_object(f.start);
          scratch_.resize(f.start);
          return v;
        }
      }
    }
    value obj(value::value_t::object);
    auto& m = obj.get_ref<object_t&>();
    m.reserve(n);
    for (std::size_t i = f.start; i < scratch_.size(); ++i)
      m.emplace_back(std::move(scratch_[i].key), std::move(scratch_[i].val));
    scratch_.resize(f.start);
    return obj;
  }

  /// A key-value line or a keyed array header (§8, §9), at `base` depth, into `f`.
  void decode_key_value(std::string_view content, std::size_t base, object_frame& f) {
    header h;
    if (parse_header(content, h) && h.has_key) {
      std::size_t slot = claim(f, h.key, content.data());
      value v = decode_array(h, base);
      store(f, slot, std::move(h.key), std::move(v), content.data(), h.key_quoted);
      return;
    }
    std::string key;
    bool quoted = false;
    std::size_t end;
    if (!content.empty() && content[0] == '"') {
      std::size_t q = find_closing_quote(content, 0);
      if (q == npos) fail(content.data(), "unterminated quoted key");
      std::string_view inner = content.substr(1, q - 1);
      if (inner.find('\\') == npos) {
        key.assign(inner);
      } else {
        unescape_failure uf;
        if (!unescape(inner, key, uf)) fail(inner.data() + uf.offset, uf.what);
      }
      if (q + 1 >= content.size() || content[q + 1] != ':')
        fail(content.data() + q + 1, "missing colon after key " + name(key));
      end = q + 2;
      quoted = true;
    } else {
      std::size_t colon = content.find(':');
      if (colon == npos)
        fail(content.data(), "missing colon: expected 'key: value' or an array header");
      key.assign(trim(content.substr(0, colon)));
      end = colon + 1;
    }
    std::string_view rest = trim(content.substr(end));
    std::size_t slot = claim(f, key, content.data());
    value v;
    if (rest.empty()) {
      const line* next = peek();
      nest guard(*this, content.data());
      if (next != nullptr && next->depth > base)
        v = decode_object_fields(base + 1);
      else
        v = value::object();
    } else if (rest == "[]") {
      nest guard(*this, rest.data());
      v = value::array();
    } else {
      v = primitive(rest);
    }
    store(f, slot, std::move(key), std::move(v), content.data(), quoted);
  }

  /// The fields of a nested object whose lines sit deeper than `base` - 1 (the first line
  /// fixes the depth of all of them).
  value decode_object_fields(std::size_t base) {
    object_frame f{scratch_.size(), {}};
    std::size_t depth = npos;
    while (const line* l = peek()) {
      if (l->depth < base) break;
      if (depth == npos) depth = l->depth;
      if (l->depth != depth) break;
      line cur = *l;
      advance();
      decode_key_value(cur.view(), depth, f);
    }
    return finish(f);
  }

  /// Fields that follow the first field of a list-item object, at `depth` (§10).
  void decode_follow_fields(std::size_t depth, object_frame& f) {
    while (const line* l = peek()) {
      if (l->depth != depth) break;
      std::string_view c = l->view();
      if (starts_with(c, "- ")) break;
      line cur = *l;
      advance();
      decode_key_value(cur.view(), depth, f);
    }
  }

  // ---- arrays ----

  value decode_array(const header& h, std::size_t base) {
    nest guard(*this, h.where);
    if (!h.inline_values.empty()) return decode_inline(h);
    if (h.has_fields && !h.fields.empty()) return decode_tabular(h, base);
    return decode_list(h, base);
  }

  void check_count(const header& h, std::uint64_t got, const char* what) const {
    if (strict_ && got != h.length)
      fail(h.where, what_array(h) + " declares " + std::to_string(h.length) + " " + what +
                        ", found " + std::to_string(got));
  }

  static std::size_t initial_reserve(std::uint64_t declared) {
    return static_cast<std::size_t>(std::min<std::uint64_t>(declared, 4096));
  }

  value decode_inline(const header& h) {
    split(h.inline_values, h.delim, false, tokens_);
    check_count(h, tokens_.size(), "values");
    value arr(value::value_t::array);
    auto& a = arr.get_ref<array_t&>();
    a.reserve(tokens_.size());
    for (std::string_view t : tokens_) a.push_back(primitive(t));
    return arr;
  }

  value decode_tabular(const header& h, std::size_t base) {
    if (level_ + 1 > max_depth_)
      fail(h.where, "nesting deeper than max_depth (" + std::to_string(max_depth_) + ")");
    const std::size_t row_depth = base + 1;
    const std::size_t nf = h.fields.size();
    // Rows are built directly unless field names repeat or need expansion.
    bool direct = true;
    for (std::size_t i = 0; i < nf && direct; ++i) {
      if (expand_ && !h.field_quoted[i] && is_expandable_path(h.fields[i])) direct = false;
      for (std::size_t j = 0; j < i && direct; ++j)
        if (h.fields[i] == h.fields[j]) direct = false;
    }
    value arr(value::value_t::array);
    auto& a = arr.get_ref<array_t&>();
    a.reserve(initial_reserve(h.length));
    std::uint64_t rows = 0;
    bool started = false;
    std::vector<std::string_view> cells;
    while (rows < h.length) {
      const line* l = peek();
      if (l == nullptr || l->depth != row_depth) break;
      line cur = *l;
      if (!split(cur.view(), h.delim, true, cells)) break;  // a key-value line ends the rows
      advance();
      if (!started) {
        started = true;
        ++open_arrays_;
      }
      if (strict_ && cells.size() != nf)
        fail(cur.content, what_array(h) + ": row has " + std::to_string(cells.size()) +
                              " values, the header declares " + std::to_string(nf) + " fields");
      const std::size_t nv = std::min(nf, cells.size());
      if (direct) {
        value row(value::value_t::object);
        auto& m = row.get_ref<object_t&>();
        m.reserve(nv);
        for (std::size_t i = 0; i < nv; ++i) m.emplace_back(h.fields[i], primitive(cells[i]));
        a.push_back(std::move(row));
      } else {
        object_frame f{scratch_.size(), {}};
        for (std::size_t i = 0; i < nv; ++i) {
          std::size_t slot = find_field(f, h.fields[i]);
          store(f, slot, std::string(h.fields[i]), primitive(cells[i]), cur.content,
                h.field_quoted[i] != 0);
        }
        nest row_guard(*this, cur.content);
        a.push_back(finish(f));
      }
      ++rows;
    }
    if (started) --open_arrays_;
    check_count(h, rows, "rows");
    if (strict_) {
      if (const line* l = peek()) {
        if (l->depth == row_depth && !starts_with(l->view(), "- ") &&
            split(l->view(), h.delim, true, cells))
          fail(l->content,
               what_array(h) + " declares " + std::to_string(h.length) + " rows, found more");
      }
    }
    return arr;
  }

  value decode_list(const header& h, std::size_t base) {
    const std::size_t item_depth = base + 1;
    value arr(value::value_t::array);
    auto& a = arr.get_ref<array_t&>();
    a.reserve(initial_reserve(h.length));
    std::uint64_t items = 0;
    bool started = false;
    while (items < h.length) {
      const line* l = peek();
      if (l == nullptr || l->depth != item_depth) break;
      std::string_view c = l->view();
      if (!(starts_with(c, "- ") || c == "-")) break;
      line cur = *l;
      advance();
      if (!started) {
        started = true;
        ++open_arrays_;
      }
      a.push_back(decode_list_item(cur, item_depth));
      ++items;
    }
    if (started) --open_arrays_;
    check_count(h, items, "items");
    if (strict_) {
      if (const line* l = peek())
        if (l->depth == item_depth && starts_with(l->view(), "- "))
          fail(l->content,
               what_array(h) + " declares " + std::to_string(h.length) + " items, found more");
    }
    return arr;
  }

  /// One list item (§9.4, §10), whose line `ln` is already consumed.
  value decode_list_item(const line& ln, std::size_t base) {
    std::string_view c = ln.view();
    if (c == "-") {
      nest guard(*this, ln.content);
      return value::object();
    }
    std::string_view after = c.substr(2);
    std::string_view ta = trim(after);
    if (ta.empty()) {
      nest guard(*this, ln.content);
      return value::object();
    }
    if (ta == "[]") {
      nest guard(*this, ln.content);
      return value::array();
    }
    header h;
    bool is_header = parse_header(after, h);
    if (is_header && is_array_header_content(after)) return decode_array(h, base);
    if (is_header && h.has_key && h.has_fields) {
      nest guard(*this, ln.content);
      object_frame f{scratch_.size(), {}};
      value v = decode_array(h, base + 1);
      store(f, npos, std::move(h.key), std::move(v), after.data(), h.key_quoted);
      decode_follow_fields(base + 1, f);
      return finish(f);
    }
    if (find_unquoted(after, ':') != npos) {
      nest guard(*this, ln.content);
      object_frame f{scratch_.size(), {}};
      decode_key_value(after, base + 1, f);
      decode_follow_fields(base + 1, f);
      return finish(f);
    }
    return primitive(after);
  }

  // ---- path expansion (§13.4) ----

  struct exp_object;
  struct exp_entry {
    std::string key;
    value val;
    std::unique_ptr<exp_object> obj;  // set: an object being merged into (val unused)
    [[nodiscard]] bool is_object() const noexcept { return obj != nullptr || val.is_object(); }
  };
  struct exp_object {
    std::vector<exp_entry> entries;
    key_index index;
    std::size_t find(std::string_view k) {
      return index.find(k, entries.size(),
                        [&](std::size_t i) -> std::string_view { return entries[i].key; });
    }
  };

  /// Nesting of `v` in containers (0 for a primitive).
  static std::size_t height(const value& v) {
    if (!v.is_structured()) return 0;
    std::size_t h = 0;
    if (v.is_object()) {
      for (const auto& kv : v.get_ref<const object_t&>()) h = std::max(h, height(kv.second));
    } else {
      for (const auto& e : v.get_ref<const array_t&>()) h = std::max(h, height(e));
    }
    return h + 1;
  }

  [[noreturn]] void conflict(const char* where, std::string_view key) const {
    fail(where, "path expansion conflict at key " + name(key) + " (strict mode)");
  }

  static void make_mutable(exp_entry& e) {
    if (e.obj) return;
    e.obj = std::make_unique<exp_object>();
    auto& m = e.val.get_ref<object_t&>();
    e.obj->entries.reserve(m.size());
    for (auto& kv : m) e.obj->entries.push_back(exp_entry{kv.first, std::move(kv.second), {}});
    e.val = nullptr;
  }

  /// Inserts key → v into `target`: new keys append, objects deep-merge, anything else is a
  /// conflict (strict) or last write wins.
  void insert(exp_object& target, std::string_view key, value&& v, const char* where) {
    std::size_t i = target.find(key);
    if (i == npos) {
      target.entries.push_back(exp_entry{std::string(key), std::move(v), {}});
      return;
    }
    exp_entry& e = target.entries[i];
    if (e.is_object() && v.is_object()) {
      make_mutable(e);
      for (auto& kv : v.get_ref<object_t&>()) insert(*e.obj, kv.first, std::move(kv.second), where);
      return;
    }
    if (strict_) conflict(where, key);
    e.obj.reset();
    e.val = std::move(v);
  }

  void insert_path(exp_object& target, std::string_view key, value&& v, const char* where) {
    exp_object* cur = &target;
    std::size_t start = 0;
    std::size_t segments = 1;
    for (char ch : key) segments += ch == '.' ? 1 : 0;
    // The object being finished sits at level_; the leaf lands `segments` levels below it.
    if (level_ + segments - 1 + height(v) > max_depth_)
      fail(where, "nesting deeper than max_depth (" + std::to_string(max_depth_) +
                      ") after path expansion of " + name(key));
    while (true) {
      std::size_t dot = key.find('.', start);
      std::string_view seg = key.substr(start, dot == npos ? npos : dot - start);
      if (dot == npos) {
        insert(*cur, seg, std::move(v), where);
        return;
      }
      std::size_t i = cur->find(seg);
      if (i == npos) {
        cur->entries.push_back(
            exp_entry{std::string(seg), value(), std::make_unique<exp_object>()});
        cur = cur->entries.back().obj.get();
      } else {
        exp_entry& e = cur->entries[i];
        if (e.is_object()) {
          make_mutable(e);
        } else {
          if (strict_) conflict(where, seg);
          e.obj = std::make_unique<exp_object>();
          e.val = nullptr;
        }
        cur = e.obj.get();
      }
      start = dot + 1;
    }
  }

  static value to_value(exp_object& o) {
    value obj(value::value_t::object);
    auto& m = obj.get_ref<object_t&>();
    m.reserve(o.entries.size());
    for (auto& e : o.entries)
      m.emplace_back(std::move(e.key), e.obj ? to_value(*e.obj) : std::move(e.val));
    return obj;
  }

  value expand_object(std::size_t start) {
    exp_object root;
    for (std::size_t i = start; i < scratch_.size(); ++i) {
      field& f = scratch_[i];
      if (!f.quoted && is_expandable_path(f.key))
        insert_path(root, f.key, std::move(f.val), f.where);
      else
        insert(root, f.key, std::move(f.val), f.where);
    }
    return to_value(root);
  }

  std::string_view in_;
  std::size_t indent_;
  bool strict_;
  bool expand_;
  std::size_t max_depth_;

  std::size_t pos_ = 0;          // start of the next unscanned line
  bool peeked_ = false;          // next_ holds the next non-blank line
  line next_;                    //
  const char* blank_ = nullptr;  // first blank line skipped before next_
  std::size_t open_arrays_ = 0;  // arrays whose first item has been read
  std::size_t level_ = 0;        // containers entered and not yet left
  std::vector<field> scratch_;   // fields of the objects under construction
  std::vector<std::string_view> tokens_;
};

}  // namespace detail

/// Decodes TOON text into a document. Throws `parse_error` (line and column) on malformed
/// input and `invalid_argument` on bad options.
inline value decode(std::string_view text, const decode_options& opt = {}) {
  detail::validate(opt);
  detail::text_decoder d(text, opt);
  return d.run();
}

}  // namespace toon
SOCHDB_END_NAMESPACE
