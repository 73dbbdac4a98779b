// libFuzzer target for the binary TOON decoder. An even first byte feeds the rest to decode()
// as a whole message (header, length and checksum checks); an odd one wraps the rest in a
// valid header and checksum, so mutations reach the value decoder instead of stopping at the
// checksum (bit 1 sets the columnar flag). A decode may only succeed or throw
// sochdb::corruption; after a success the document re-encodes and decodes to itself exactly.
#include <sochdb/toon.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_equal.hpp"

namespace bin = sochdb::toon::binary;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string message;
  if ((mode & 1) == 0) {
    message.assign(rest);
  } else {
    message.assign(bin::magic, 4);
    sochdb::put_fixed16(message, bin::format_version);
    sochdb::put_fixed16(message, (mode & 2) != 0 ? bin::flag_columnar : 0);
    sochdb::put_fixed32(message, static_cast<std::uint32_t>(rest.size()));
    message.append(rest);
    sochdb::put_fixed32(message, sochdb::checksum32(message));
  }
  sochdb::toon::value v;
  try {
    v = bin::decode(message);
  } catch (const sochdb::corruption&) {
    return 0;
  }
  if (!toon_fuzz::equal(bin::decode(bin::encode(v)), v, true)) std::abort();
  if (!toon_fuzz::equal(bin::decode(bin::encode(v, {.columnar = false})), v, true)) std::abort();
  return 0;
}
