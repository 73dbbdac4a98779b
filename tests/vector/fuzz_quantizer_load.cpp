// libFuzzer target: the quantizer loaders on arbitrary bytes. Every input must either load
// (and then work: encode, decode, query, symmetric distance, save round trip) or throw a
// sochdb::error — never crash, hang or allocate more than the input justifies.
#include <sochdb/vector.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

template <class Q>
void exercise(std::string_view bytes) {
  try {
    Q q = Q::load(bytes, "fuzz");
    const std::size_t d = q.dimension();
    std::vector<float> x(d, 0.5f), y(d);
    std::vector<std::uint8_t> code(q.code_size()), code2(q.code_size());
    q.encode(x.data(), code.data());
    q.decode(code.data(), y.data());
    auto c = q.query(x.data());
    q.encode(y.data(), code2.data());
    (void)c(code.data());
    (void)q.symmetric_distance(code.data(), code2.data());
    if (q.save() != bytes) std::abort();  // a file that loads must re-save to the same bytes
  } catch (const sochdb::error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  exercise<sochdb::vector::sq8>(bytes);
  exercise<sochdb::vector::pq>(bytes);
  exercise<sochdb::vector::no_quantizer>(bytes);
  // The same bytes with a valid checksum, so mutations reach the structural checks behind it.
  if (size >= 4) {
    std::string fixed(bytes.substr(0, size - 4));
    sochdb::put_fixed32(fixed, sochdb::checksum32(fixed));
    exercise<sochdb::vector::sq8>(fixed);
    exercise<sochdb::vector::pq>(fixed);
    exercise<sochdb::vector::no_quantizer>(fixed);
  }
  return 0;
}
