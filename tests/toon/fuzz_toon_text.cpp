// libFuzzer target for the TOON text decoder. The first byte picks the options (strict,
// expand_paths, indent); the rest is the text. A decode may only succeed or throw
// sochdb::parse_error. After a success, the document must survive the codecs: encoding it
// gives text that decodes to the same document (up to key order inside tables) and re-encodes
// to the same text, and binary TOON round-trips it exactly.
#include <sochdb/toon.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fuzz_equal.hpp"

namespace toon = sochdb::toon;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  toon::decode_options o;
  o.strict = (flags & 1) == 0;
  o.expand_paths = (flags & 2) != 0 ? toon::expand_paths::safe : toon::expand_paths::off;
  o.indent = 1 + ((flags >> 2) & 3);
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  toon::value v;
  try {
    v = toon::decode(text, o);
  } catch (const sochdb::parse_error&) {
    return 0;
  }
  const std::string once = toon::encode(v);
  const toon::value back = toon::decode(once);
  if (!toon_fuzz::equal(back, v, false)) std::abort();
  if (toon::encode(back) != once) std::abort();
  if (!toon_fuzz::equal(toon::binary::decode(toon::binary::encode(v)), v, true)) std::abort();
  return 0;
}
