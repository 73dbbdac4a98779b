// sochdb/toon/concepts.hpp — the policy concepts of the TOON folder.
//
// `char_sink`: where the encoders write. Anything with `append(const char*, size_t)` —
// `std::string` is the reference model; `ostream_sink` adapts a `std::ostream`. The encoder
// hands over large chunks (tens of kilobytes), so a sink need not buffer.
//
// `token_counter`: how many LLM tokens a piece of text costs. One call,
// `count(std::string_view) -> size_t`, const and thread-safe. `approx_token_counter`
// (toon/token_counter.hpp) is the reference model; a caller with an exact BPE tokenizer wraps it
// in the same shape. The context builder budgets with it.
#pragma once

#include <sochdb/version.hpp>

#include <concepts>
#include <cstddef>
#include <ostream>
#include <string_view>

SOCHDB_BEGIN_NAMESPACE

/// A destination for encoded bytes.
///
/// Requirement: `s.append(p, n)` appends the `n` bytes at `p`; it may throw (the encoder then
/// propagates the exception and the sink holds a prefix of the output).
template <class S>
concept char_sink = requires(S& s, const char* p, std::size_t n) {
  s.append(p, n);
};

/// Adapts an output stream to `char_sink`. Stream errors follow the stream's exception mask.
class ostream_sink {
 public:
  explicit ostream_sink(std::ostream& os) noexcept : os_(&os) {}
  void append(const char* p, std::size_t n) { os_->write(p, static_cast<std::streamsize>(n)); }

 private:
  std::ostream* os_;
};

/// Counts the tokens a text costs an LLM.
///
/// Requirements on a model `T` (documented on `approx_token_counter`):
/// - `t.count(text)` on a const `T` returns the token count of `text` (any bytes; UTF-8
///   expected) as `std::size_t`; it does not throw for any input;
/// - `count("") == 0`, and calls are safe from several threads at once.
template <class T>
concept token_counter = requires(const T& t, std::string_view text) {
  { t.count(text) } -> std::convertible_to<std::size_t>;
};

SOCHDB_END_NAMESPACE
