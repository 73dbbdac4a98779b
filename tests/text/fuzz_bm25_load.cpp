// libFuzzer target: bm25_index::deserialize on arbitrary bytes. The harness appends a valid
// checksum so the fuzzer reaches the structural checks behind it.
#include <sochdb/text/bm25.hpp>

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  if (in.compare(0, sochdb::bm25_index::magic.size(), sochdb::bm25_index::magic) != 0) {
    in = std::string(sochdb::bm25_index::magic) + in;
  }
  sochdb::put_fixed32(in, sochdb::checksum32(in));
  try {
    auto idx = sochdb::bm25_index::deserialize(in);
    (void)idx.search("ka lo mi", 5);
  } catch (const sochdb::error&) {
  }
  return 0;
}
