#include <doctest/doctest.h>

#include <sochdb/core/arena.hpp>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_core_arena_test {

using namespace sochdb;

TEST_CASE("arena honours alignment and keeps earlier allocations intact") {
  arena a(4096);
  std::mt19937 rng(3);
  std::vector<std::pair<char*, std::size_t>> allocs;
  for (int i = 0; i < 2000; ++i) {
    std::size_t n = 1 + rng() % (i % 10 == 0 ? 3000 : 100);
    std::size_t align = std::size_t{1} << (rng() % 7);  // 1..64
    char* p = a.allocate(n, align);
    REQUIRE(reinterpret_cast<std::uintptr_t>(p) % align == 0);
    std::memset(p, i & 0xff, n);
    allocs.emplace_back(p, n);
  }
  for (std::size_t i = 0; i < allocs.size(); ++i) {
    auto [p, n] = allocs[i];
    for (std::size_t j = 0; j < n; ++j) REQUIRE(static_cast<unsigned char>(p[j]) == (i & 0xff));
  }
}

TEST_CASE("arena usage counts blocks, large allocations get their own") {
  arena a(4096);
  CHECK(a.memory_usage() == 0);
  (void)a.allocate(10);
  auto one_block = a.memory_usage();
  CHECK(one_block >= 4096);
  (void)a.allocate(100000);  // > block/4: dedicated block, current block keeps serving
  CHECK(a.memory_usage() >= one_block + 100000);
  auto before = a.memory_usage();
  (void)a.allocate(10);
  CHECK(a.memory_usage() == before);
  CHECK_THROWS_AS(arena(10), invalid_argument);
}

}  // namespace test_core_arena_test
