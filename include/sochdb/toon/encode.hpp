// sochdb/toon/encode.hpp — the TOON text encoder (spec 3.3).
//
//   std::string text = sochdb::toon::encode(doc);                          // defaults
//   sochdb::toon::encode_to(out, doc, {.delimiter = sochdb::toon::delimiter::tab});
//
// One pass over the document, straight into the sink: no intermediate lines or strings. The
// output follows the spec's encoder rules (§2 numbers, §7 quoting and keys, §9–10 array forms,
// §11 delimiters, §12 whitespace, §13.4 key folding) and, where the spec leaves a choice, does
// what the reference implementation (npm @toon-format/toon 2.3.1) does: the output is
// byte-identical to it on every document whose numbers it represents the same way.
//
// Data model mapping (§3): objects keep their key order; int64 and uint64 are written exactly;
// doubles canonically (NaN and infinities as null); binary values are not part of the JSON
// model and throw `invalid_argument`. Strings are written as given (expected UTF-8).
//
// Nesting deeper than `encode_options::max_depth` throws `invalid_argument` (the encoder
// recurses once per level). Thread-safety: a pure function of its arguments.
#pragma once

#include <sochdb/toon/concepts.hpp>
#include <sochdb/toon/detail/text.hpp>
#include <sochdb/toon/options.hpp>

#include <algorithm>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

SOCHDB_BEGIN_NAMESPACE
namespace toon {
namespace detail {

/// The output buffer of the encoders: a fixed block that is handed to the sink whenever it
/// fills, so output of any size costs one pass of copying into the sink and no regrowth. A
/// single token larger than the block (a long string) grows it.
///
/// Output can be made provisional (`mark`, then `release` or `rollback`). A sink that can be
/// cut back (`truncate_fn`, a std::string) keeps receiving blocks and is truncated on rollback;
/// for any other sink the marked bytes stay in the buffer, which grows.
class out_buffer {
 public:
  using flush_fn = void (*)(void* ctx, const char* p, std::size_t n);
  using truncate_fn = void (*)(void* ctx, std::size_t size);

  out_buffer(flush_fn flush, void* ctx, truncate_fn truncate = nullptr)
      : buf_(block), flush_(flush), truncate_(truncate), ctx_(ctx) {}

  /// Room for `n` more bytes; returns where to write them (commit with `advance`/`commit_to`).
  char* room(std::size_t n) {
    if (buf_.size() - pos_ < n) make_room(n);
    return buf_.data() + pos_;
  }
  void advance(std::size_t n) noexcept { pos_ += n; }
  void commit_to(char* end) noexcept { pos_ = static_cast<std::size_t>(end - buf_.data()); }

  void put(char c) {
    *room(1) = c;
    ++pos_;
  }
  void put(std::string_view v) {
    // Long strings go in block-sized pieces, so the buffer does not grow to their size.
    while (v.size() > block) {
      std::memcpy(room(block), v.data(), block);
      pos_ += block;
      v.remove_prefix(block);
    }
    std::memcpy(room(v.size()), v.data(), v.size());
    pos_ += v.size();
  }

  /// Hands everything written so far to the sink.
  void flush() {
    if (pos_ != 0) flush_(ctx_, buf_.data(), pos_);
    flushed_ += pos_;
    pos_ = 0;
  }

  /// Flushes, and returns the buffer to one block after provisional output grew it.
  void flush_and_shrink() {
    flush();
    if (buf_.size() > block) buf_.resize(block);
  }

  /// Starts output that may be taken back with `rollback` (or kept with `release`).
  void mark() noexcept { mark_ = flushed_ + pos_; }
  void release() noexcept { mark_ = none; }
  [[nodiscard]] bool marked() const noexcept { return mark_ != none; }
  /// True when provisional output never has to be held in memory (the sink can be cut back).
  [[nodiscard]] bool can_truncate() const noexcept { return truncate_ != nullptr; }
  /// Bytes written since `mark`.
  [[nodiscard]] std::size_t since_mark() const noexcept { return flushed_ + pos_ - mark_; }
  /// Discards everything written since `mark`.
  void rollback() {
    if (mark_ >= flushed_) {
      pos_ = mark_ - flushed_;
    } else {
      truncate_(ctx_, mark_);
      flushed_ = mark_;
      pos_ = 0;
    }
    mark_ = none;
  }

  static constexpr std::size_t block = 64 * 1024;

 private:
  static constexpr std::size_t none = static_cast<std::size_t>(-1);

  void make_room(std::size_t n) {
    if (mark_ == none || truncate_ != nullptr) {
      flush();
    } else if (mark_ > flushed_) {  // keep what follows the mark; the rest may go
      std::size_t keep_from = mark_ - flushed_;
      flush_(ctx_, buf_.data(), keep_from);
      std::memmove(buf_.data(), buf_.data() + keep_from, pos_ - keep_from);
      pos_ -= keep_from;
      flushed_ += keep_from;
    }
    if (buf_.size() - pos_ < n) buf_.resize(std::max(buf_.size() * 2, pos_ + n));
  }
  std::vector<char> buf_;
  std::size_t pos_ = 0;
  std::size_t flushed_ = 0;  // bytes handed to the sink so far
  std::size_t mark_ = none;  // position of the mark in the whole output
  flush_fn flush_;
  truncate_fn truncate_;
  void* ctx_;
};

class text_encoder {
  using object_t = value::object_t;
  using array_t = value::array_t;
  using obj_iter = object_t::const_iterator;

 public:
  text_encoder(const encode_options& o, out_buffer& out)
      : opt_(o),
        out_(out),
        table_(&quote_table(o.delimiter)),
        delim_(static_cast<char>(o.delimiter)),
        folding_(o.key_folding == key_folding::safe) {}

  void encode_root(const value& v) {
    if (v.is_array()) {
      encode_array(nullptr, v.get_ref<const array_t&>(), 0);
    } else if (v.is_object()) {
      const auto& obj = v.get_ref<const object_t&>();
      if (folding_) {
        for (const auto& kv : obj)
          if (kv.first.find('.') != npos) root_literal_.push_back(kv.first);
        std::sort(root_literal_.begin(), root_literal_.end());
      }
      nest guard(*this);
      encode_object(obj.begin(), obj.end(), 0, true, {}, opt_.flatten_depth);
    } else {
      put_primitive(v);
    }
  }

 private:
  // ---- lines and tokens ----

  void begin_line(std::size_t depth) {
    const std::size_t spaces = depth * static_cast<std::size_t>(opt_.indent);
    char* p = out_.room(spaces + 1);
    if (!first_line_) *p++ = '\n';
    first_line_ = false;
    std::memset(p, ' ', spaces);
    out_.commit_to(p + spaces);
  }
  void begin_item(std::size_t depth) {
    begin_line(depth);
    char* p = out_.room(2);
    p[0] = '-';
    p[1] = ' ';
    out_.advance(2);
  }

  void put_quoted(std::string_view s) {
    // Escaping can grow text six-fold (\u00XX); go in pieces so a long string never needs six
    // times its size in one buffer.
    constexpr std::size_t piece = 4096;
    out_.put('"');
    while (!s.empty()) {
      std::string_view part = s.substr(0, piece);
      out_.commit_to(escape_into(out_.room(part.size() * 6), part));
      s.remove_prefix(part.size());
    }
    out_.put('"');
  }

  void put_key(std::string_view k) {
    if (is_unquoted_key(k))
      out_.put(k);
    else
      put_quoted(k);
  }

  void put_string(std::string_view s) {
    if (needs_quotes(s, *table_, delim_))
      put_quoted(s);
    else
      out_.put(s);
  }

  void put_primitive(const value& v) {
    switch (v.type()) {
      case value::value_t::string:
        put_string(v.get_ref<const value::string_t&>());
        return;
      case value::value_t::number_integer: {
        char* p = out_.room(24);
        out_.commit_to(std::to_chars(p, p + 24, v.get<std::int64_t>()).ptr);
        return;
      }
      case value::value_t::number_unsigned: {
        char* p = out_.room(24);
        out_.commit_to(std::to_chars(p, p + 24, v.get<std::uint64_t>()).ptr);
        return;
      }
      case value::value_t::number_float: {
        double d = v.get<double>();
        if (!std::isfinite(d)) {
          out_.put("null");
          return;
        }
        out_.commit_to(format_double(out_.room(32), d));
        return;
      }
      case value::value_t::boolean:
        out_.put(v.get<bool>() ? std::string_view("true") : std::string_view("false"));
        return;
      case value::value_t::null:
      case value::value_t::discarded:
        out_.put("null");
        return;
      case value::value_t::binary:
        throw invalid_argument("toon encode: binary values are not part of the JSON data model");
      default:
        return;  // containers never reach here
    }
  }

  /// `key[N<delim>]{f1<delim>f2}:` — the key is omitted when null.
  void put_header(const std::string_view* key, std::size_t n, const value* fields_from) {
    if (key != nullptr) put_key(*key);
    char* p = out_.room(24);
    *p++ = '[';
    p = std::to_chars(p, p + 20, n).ptr;
    if (delim_ != ',') *p++ = delim_;
    *p++ = ']';
    out_.commit_to(p);
    if (fields_from != nullptr) {
      out_.put('{');
      bool first = true;
      for (const auto& kv : fields_from->get_ref<const object_t&>()) {
        if (!first) out_.put(delim_);
        first = false;
        put_key(kv.first);
      }
      out_.put('}');
    }
    out_.put(':');
  }

  /// Counts `n` levels of container nesting for as long as it lives. A document's depth is the
  /// number of nested containers (empty ones included, primitives not); the decoders count the
  /// same way, so whatever one side accepts the other does too. The encoder recurses once per
  /// level, so this also bounds its stack.
  class nest {
   public:
    explicit nest(text_encoder& e, std::size_t n = 1) : e_(e), n_(n) {
      e_.level_ += n;
      if (e_.level_ > e_.opt_.max_depth) {
        e_.level_ -= n;
        too_deep(e_.opt_);
      }
    }
    ~nest() { e_.level_ -= n_; }
    nest(const nest&) = delete;
    nest& operator=(const nest&) = delete;

   private:
    text_encoder& e_;
    std::size_t n_;
  };

  [[noreturn]] static void too_deep(const encode_options& o) {
    throw invalid_argument("toon encode: document nested deeper than max_depth (" +
                           std::to_string(o.max_depth) + ")");
  }

  // ---- shapes ----

  static bool is_primitive(const value& v) noexcept { return !v.is_structured(); }

  static bool all_primitives(const array_t& a) noexcept {
    for (const auto& e : a)
      if (e.is_structured()) return false;
    return true;
  }

  void put_inline_values(const array_t& a) {
    bool first = true;
    for (const auto& e : a) {
      if (!first) out_.put(delim_);
      first = false;
      put_primitive(e);
    }
  }

  /// Writes `a` as a table (§9.3) when it is one — every element an object with the first
  /// element's (non-empty) key set and only primitive values — and returns true; otherwise
  /// writes nothing and returns false. One pass: rows are checked as they are written and the
  /// output is taken back at the first row that does not fit (reading every row twice costs a
  /// second round of cache misses over the document). Past `table_buffer` bytes of rows, the
  /// remaining rows are checked first instead, so a huge table still streams to the sink.
  bool try_table(const std::string_view* key, const array_t& a, std::size_t row_depth) {
    if (!a[0].is_object()) return false;
    const auto& first = entries(a[0].get_ref<const object_t&>());
    if (first.empty()) return false;
    if (level_ + 1 > opt_.max_depth) too_deep(opt_);  // the rows are one level down
    out_.mark();
    put_header(key, a.size(), &a[0]);
    for (std::size_t r = 0; r < a.size(); ++r) {
      if (!put_row(a[r], first, row_depth)) {
        out_.rollback();
        return false;
      }
      if (out_.marked() && !out_.can_truncate() && out_.since_mark() > table_buffer) {
        for (std::size_t k = r + 1; k < a.size(); ++k) {
          if (!fits_table(a[k], first)) {
            out_.rollback();
            return false;
          }
        }
        out_.release();
        out_.flush_and_shrink();  // the held-back rows go now; the rest streams block by block
      }
    }
    out_.release();
    return true;
  }

  /// Rows held back, at most, for a sink that cannot be cut back.
  static constexpr std::size_t table_buffer = 1 << 20;

  /// The cell of `row` for the table field `i` (whose name is `field`), or null.
  static const value* cell(const object_t::Container& row, const value& row_v, std::size_t i,
                           const std::string& field) {
    if (row[i].first == field) return &row[i].second;
    const auto& obj = row_v.get_ref<const object_t&>();  // same keys in another order
    auto found = obj.find(field);
    return found == obj.end() ? nullptr : &found->second;
  }

  static bool fits_table(const value& row_v, const object_t::Container& first) {
    if (!row_v.is_object()) return false;
    const auto& row = entries(row_v.get_ref<const object_t&>());
    if (row.size() != first.size()) return false;
    for (std::size_t i = 0; i < first.size(); ++i) {
      const value* c = cell(row, row_v, i, first[i].first);
      if (c == nullptr || c->is_structured()) return false;
    }
    return true;
  }

  bool put_row(const value& row_v, const object_t::Container& first, std::size_t row_depth) {
    if (!row_v.is_object()) return false;
    const auto& row = entries(row_v.get_ref<const object_t&>());
    if (row.size() != first.size()) return false;
    begin_line(row_depth);
    for (std::size_t i = 0; i < first.size(); ++i) {
      const value* c = cell(row, row_v, i, first[i].first);
      if (c == nullptr || c->is_structured()) return false;
      if (i != 0) out_.put(delim_);
      put_primitive(*c);
    }
    return true;
  }

  /// An array in field position (key non-null) or at the root / after folding.
  void encode_array(const std::string_view* key, const array_t& a, std::size_t depth) {
    nest guard(*this);
    if (a.empty()) {
      begin_line(depth);
      if (key != nullptr) {
        put_key(*key);
        out_.put(": []");
      } else {
        out_.put("[]");
      }
      return;
    }
    if (all_primitives(a)) {
      begin_line(depth);
      put_header(key, a.size(), nullptr);
      out_.put(' ');
      put_inline_values(a);
      return;
    }
    begin_line(depth);
    if (try_table(key, a, depth + 1)) return;
    put_header(key, a.size(), nullptr);
    for (const auto& item : a) encode_list_item(item, depth + 1);
  }

  /// One element of an expanded list (§9.4, §10).
  void encode_list_item(const value& v, std::size_t depth) {
    if (v.is_object()) {
      encode_object_item(v.get_ref<const object_t&>(), depth);
      return;
    }
    begin_item(depth);
    if (!v.is_array()) {
      put_primitive(v);
      return;
    }
    const auto& a = v.get_ref<const array_t&>();
    nest guard(*this);
    put_header(nullptr, a.size(), nullptr);
    if (all_primitives(a)) {
      if (!a.empty()) {
        out_.put(' ');
        put_inline_values(a);
      }
      return;
    }
    // Tabular form has no place on a hyphen line (§9.4): nested list.
    for (const auto& item : a) encode_list_item(item, depth + 1);
  }

  /// An object as a list item: first field on the hyphen line (§10).
  void encode_object_item(const object_t& obj, std::size_t depth) {
    nest guard(*this);
    if (obj.empty()) {
      begin_line(depth);
      out_.put('-');
      return;
    }
    auto first = obj.begin();
    std::string_view k = first->first;
    const value& v = first->second;
    begin_item(depth);
    if (v.is_array()) {
      nest inner(*this);
      const auto& a = v.get_ref<const array_t&>();
      if (a.empty()) {
        put_key(k);
        out_.put(": []");
      } else if (all_primitives(a)) {
        put_header(&k, a.size(), nullptr);
        out_.put(' ');
        put_inline_values(a);
      } else if (!try_table(&k, a, depth + 2)) {
        put_header(&k, a.size(), nullptr);
        for (const auto& item : a) encode_list_item(item, depth + 2);
      }
    } else if (v.is_object()) {
      nest inner(*this);
      put_key(k);
      out_.put(':');
      const auto& sub = v.get_ref<const object_t&>();
      encode_object(sub.begin(), sub.end(), depth + 2, false, {}, opt_.flatten_depth);
    } else {
      put_key(k);
      out_.put(": ");
      put_primitive(v);
    }
    encode_object(std::next(first), obj.end(), depth + 1, false, {}, opt_.flatten_depth);
  }

  /// The fields [begin, end) of an object at `depth`. `rooted`: reached from the root through
  /// fields only, so folded keys are also checked against the root's literal dotted keys at
  /// `prefix` (the dotted path so far).
  void encode_object(obj_iter begin, obj_iter end, std::size_t depth, bool rooted,
                     std::string_view prefix, std::size_t flatten) {
    for (auto it = begin; it != end; ++it)
      encode_field(it->first, it->second, depth, begin, end, rooted, prefix, flatten);
  }

  void encode_field(const std::string& key, const value& v, std::size_t depth, obj_iter sib_begin,
                    obj_iter sib_end, bool rooted, std::string_view prefix, std::size_t flatten) {
    if (folding_ && v.is_object() &&
        try_fold(key, v, depth, sib_begin, sib_end, rooted, prefix, flatten))
      return;
    if (v.is_array()) {
      std::string_view k = key;
      encode_array(&k, v.get_ref<const array_t&>(), depth);
      return;
    }
    begin_line(depth);
    put_key(key);
    if (v.is_object()) {
      nest guard(*this);
      out_.put(':');
      const auto& sub = v.get_ref<const object_t&>();
      if (!sub.empty()) {
        std::string path;
        if (folding_ && rooted) path = join_path(prefix, key);
        encode_object(sub.begin(), sub.end(), depth + 1, rooted, path, flatten);
      }
      return;
    }
    out_.put(": ");
    put_primitive(v);
  }

  static std::string join_path(std::string_view prefix, std::string_view key) {
    std::string p;
    if (!prefix.empty()) {
      p.reserve(prefix.size() + 1 + key.size());
      p.append(prefix);
      p += '.';
    }
    p.append(key);
    return p;
  }

  /// Key folding (§13.4, safe mode): emits the folded chain starting at `key` and returns true,
  /// or returns false when the chain cannot be folded.
  bool try_fold(const std::string& key, const value& v, std::size_t depth, obj_iter sib_begin,
                obj_iter sib_end, bool rooted, std::string_view prefix, std::size_t flatten) {
    // Collect the chain of single-key objects, at most `flatten` segments.
    std::size_t segments = 1;
    const value* cur = &v;
    std::string folded = key;
    if (!is_identifier_segment(key)) return false;
    while (segments < flatten && cur->is_object() && cur->size() == 1) {
      const auto& kv = *cur->get_ref<const object_t&>().begin();
      if (!is_identifier_segment(kv.first)) return false;
      folded += '.';
      folded += kv.first;
      cur = &kv.second;
      ++segments;
    }
    if (segments < 2) return false;
    for (auto it = sib_begin; it != sib_end; ++it)
      if (it->first == folded) return false;  // collides with a literal sibling key
    std::string absolute;
    if (rooted) {
      absolute = join_path(prefix, folded);
      if (std::binary_search(root_literal_.begin(), root_literal_.end(), absolute)) return false;
    }
    // The chain's objects are containers too: the leaf sits `segments` levels below.
    if (cur->is_object() && !cur->empty()) {
      nest guard(*this, segments);
      begin_line(depth);
      out_.put(folded);
      out_.put(':');
      const auto& sub = cur->get_ref<const object_t&>();
      std::size_t remaining = flatten == unlimited ? unlimited : flatten - segments;
      encode_object(sub.begin(), sub.end(), depth + 1, rooted, absolute, remaining);
    } else if (cur->is_array()) {
      nest guard(*this, segments - 1);
      std::string_view k = folded;
      encode_array(&k, cur->get_ref<const array_t&>(), depth);
    } else if (cur->is_object()) {
      nest guard(*this, segments);
      begin_line(depth);
      out_.put(folded);
      out_.put(':');
    } else {
      nest guard(*this, segments - 1);
      begin_line(depth);
      out_.put(folded);
      out_.put(": ");
      put_primitive(*cur);
    }
    return true;
  }

  const encode_options& opt_;
  out_buffer& out_;
  const std::array<bool, 256>* table_;
  char delim_;
  bool folding_;
  bool first_line_ = true;
  std::size_t level_ = 0;                  // containers entered and not yet left
  std::vector<std::string> root_literal_;  // root keys containing '.', sorted (folding only)
};

template <char_sink Sink>
void encode_with(Sink& sink, const value& v, const encode_options& opt) {
  validate(opt);
  void* ctx = &sink;
  out_buffer::flush_fn flush = [](void* c, const char* p, std::size_t n) {
    static_cast<Sink*>(c)->append(p, n);
  };
  out_buffer::truncate_fn truncate = nullptr;
  // A string can be cut back, so provisional output (a table being checked) goes straight in.
  struct string_sink {
    std::string* s;
    std::size_t base;  // its size before encoding
  } str{nullptr, 0};
  if constexpr (std::is_same_v<Sink, std::string>) {
    str = {&sink, sink.size()};
    ctx = &str;
    flush = [](void* c, const char* p, std::size_t n) {
      static_cast<string_sink*>(c)->s->append(p, n);
    };
    truncate = [](void* c, std::size_t size) {
      auto* ss = static_cast<string_sink*>(c);
      ss->s->resize(ss->base + size);
    };
  }
  out_buffer out(flush, ctx, truncate);
  text_encoder enc(opt, out);
  enc.encode_root(v);
  out.flush();
}

}  // namespace detail

/// Encodes `v` as TOON text and returns it (no trailing newline, §12).
inline std::string encode(const value& v, const encode_options& opt = {}) {
  std::string s;
  detail::encode_with(s, v, opt);
  return s;
}

/// Encodes `v` as TOON text and appends it to `sink` in blocks of 64 KiB (up to about 1 MiB
/// while a table is being checked: its rows are held back until they prove uniform). On an
/// exception the sink holds a prefix of the text.
template <char_sink Sink>
void encode_to(Sink& sink, const value& v, const encode_options& opt = {}) {
  detail::encode_with(sink, v, opt);
}

/// Encodes `v` as TOON text onto a stream.
inline void encode_to(std::ostream& os, const value& v, const encode_options& opt = {}) {
  ostream_sink sink(os);
  encode_to(sink, v, opt);
}

}  // namespace toon
SOCHDB_END_NAMESPACE
