// sochdb/toon/options.hpp — the value type and the options of the TOON codecs.
//
// TOON (Token-Oriented Object Notation, spec 3.3: https://github.com/toon-format/spec) carries
// the JSON data model. The in-memory document is `nlohmann::ordered_json`, which keeps object
// keys in insertion order as TOON §2 requires. Numbers: int64 and uint64 values are exact;
// doubles are written in the canonical form of §2 (shortest round-trip digits, no exponent for
// 1e-6 <= |n| < 1e21, -0 as 0, NaN and infinities as null).
//
// Options are aggregates for designated initializers (`{.delimiter = delimiter::tab}`); every
// field has a default, and the codecs validate them once per call (`invalid_argument`).
// Thread-safety: options are plain values; the codecs keep no shared state, so any number of
// threads may encode and decode at once.
#pragma once

#include <sochdb/core/error.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

SOCHDB_BEGIN_NAMESPACE
namespace toon {

/// The document type: JSON with object keys in insertion order.
using value = nlohmann::ordered_json;

/// The delimiter of inline arrays and tabular rows (TOON §11). The value is the character.
enum class delimiter : char { comma = ',', tab = '\t', pipe = '|' };

/// Key folding (§13.4): collapse chains of single-key objects into dotted keys.
enum class key_folding { off, safe };

/// Path expansion (§13.4): split unquoted dotted keys back into nested objects.
enum class expand_paths { off, safe };

/// The deepest nesting of arrays and objects the codecs accept by default. The text and binary
/// decoders and the encoders recurse once per level, so this bounds their stack use on hostile
/// input; a deeper document is rejected with a clear error instead of overflowing the stack.
inline constexpr std::size_t default_max_depth = 256;

/// "No limit" for `encode_options::flatten_depth`.
inline constexpr std::size_t unlimited = std::numeric_limits<std::size_t>::max();

struct encode_options {
  /// Spaces per indentation level; 1..32, default 2 (§12).
  int indent = 2;
  /// The document delimiter, used for every array header and for quoting decisions (§11.1);
  /// default comma.
  toon::delimiter delimiter = toon::delimiter::comma;
  /// Key folding mode; default off.
  toon::key_folding key_folding = toon::key_folding::off;
  /// With key folding, the most segments folded into one key; default unlimited. Values below 2
  /// fold nothing (§13.4).
  std::size_t flatten_depth = unlimited;
  /// Deepest nesting of arrays and objects accepted; deeper input throws `invalid_argument`.
  std::size_t max_depth = default_max_depth;
};

struct decode_options {
  /// Spaces per indentation level; 1..32, default 2 (§12).
  int indent = 2;
  /// Strict mode (§14): enforce declared lengths, row widths, indentation multiples, no tabs in
  /// indentation, no blank lines inside arrays, no duplicate keys, no expansion conflicts.
  /// Default true. Non-strict mode takes the last of duplicate keys and ignores counts.
  bool strict = true;
  /// Path expansion mode; default off.
  toon::expand_paths expand_paths = toon::expand_paths::off;
  /// Deepest nesting of arrays and objects accepted; deeper input is a parse error.
  std::size_t max_depth = default_max_depth;
};

namespace detail {
inline void validate(const encode_options& o) {
  if (o.indent < 1 || o.indent > 32)
    throw invalid_argument("toon encode: indent must be in [1, 32], got " +
                           std::to_string(o.indent));
  if (o.delimiter != delimiter::comma && o.delimiter != delimiter::tab &&
      o.delimiter != delimiter::pipe)
    throw invalid_argument("toon encode: delimiter must be comma, tab or pipe");
  if (o.key_folding != key_folding::off && o.key_folding != key_folding::safe)
    throw invalid_argument("toon encode: key_folding must be off or safe");
  if (o.max_depth == 0) throw invalid_argument("toon encode: max_depth must be positive");
}
inline void validate(const decode_options& o) {
  if (o.indent < 1 || o.indent > 32)
    throw invalid_argument("toon decode: indent must be in [1, 32], got " +
                           std::to_string(o.indent));
  if (o.expand_paths != expand_paths::off && o.expand_paths != expand_paths::safe)
    throw invalid_argument("toon decode: expand_paths must be off or safe");
  if (o.max_depth == 0) throw invalid_argument("toon decode: max_depth must be positive");
}
}  // namespace detail

}  // namespace toon
SOCHDB_END_NAMESPACE
