// libFuzzer target: the collection checkpoint manifest parser on arbitrary bytes (a valid
// checksum is appended half of the time so the fuzzer reaches the structure checks). It must
// return or throw sochdb::error, never crash or allocate without bound.
#include <sochdb/core/memory_fs.hpp>
#include <sochdb/db/collection.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (size > 0 && (data[0] & 1)) {
    bytes = "SOCHCOLL" + bytes.substr(1);
    sochdb::put_fixed32(bytes, sochdb::checksum32(bytes));
  }
  try {
    auto m = sochdb::detail::collection_state<sochdb::memory_fs>::parse_manifest(bytes, "fuzz");
    (void)m;
  } catch (const sochdb::error&) {
  }
  return 0;
}
