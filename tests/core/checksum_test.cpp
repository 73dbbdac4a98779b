#include <doctest/doctest.h>

#include <sochdb/core/checksum.hpp>

#include <random>
#include <string>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_core_checksum_test {

using namespace sochdb;

TEST_CASE("checksum32 is XXH3-64 truncated, stable across runs") {
  // XXH3-64 of the empty input is 0x2D06800538D394C2 (the xxHash reference value).
  CHECK(hash64("") == 0x2D06800538D394C2ULL);
  CHECK(checksum32("") == 0x38D394C2u);
  CHECK(hash64("abc", 1) != hash64("abc", 2));
}

TEST_CASE("streaming checksum equals one-shot over the concatenation") {
  std::mt19937_64 rng(1);
  for (std::size_t n : {0u, 1u, 15u, 16u, 17u, 240u, 241u, 1000u, 70000u}) {
    std::string data(n, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    std::size_t cut = n / 3;
    checksum_builder b;
    b.update(std::string_view(data).substr(0, cut)).update(std::string_view(data).substr(cut));
    CHECK(b.value() == checksum32(data));
  }
}

TEST_CASE("any single bit flip changes the checksum") {
  std::string data = "the quick brown fox jumps over the lazy dog, 0123456789";
  auto base = checksum32(data);
  for (std::size_t i = 0; i < data.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      data[i] = static_cast<char>(data[i] ^ (1 << bit));
      CHECK(checksum32(data) != base);
      data[i] = static_cast<char>(data[i] ^ (1 << bit));
    }
  }
}

}  // namespace test_core_checksum_test
