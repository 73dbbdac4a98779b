#include <doctest/doctest.h>

#include <sochdb/core/clock.hpp>

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_core_clock_test {

using namespace sochdb;

namespace {
struct fake_source {
  std::shared_ptr<std::uint64_t> ms = std::make_shared<std::uint64_t>(1000);
  std::uint64_t operator()() const noexcept { return *ms; }
};
using fake_clock = basic_hybrid_clock<fake_source>;
}  // namespace

TEST_CASE("hybrid clock packs 48-bit ms and 16-bit logical") {
  CHECK(fake_clock::make(5, 7) == ((5ULL << 16) | 7));
  CHECK(fake_clock::physical_ms(fake_clock::make(5, 7)) == 5);
  CHECK(fake_clock::logical(fake_clock::make(5, 7)) == 7);
}

TEST_CASE("hybrid clock follows the wall clock and is strictly increasing") {
  fake_source src;
  fake_clock clock(src);
  auto a = clock.now();
  CHECK(fake_clock::physical_ms(a) == 1000);
  CHECK(fake_clock::logical(a) == 0);
  auto b = clock.now();
  CHECK(b == a + 1);  // same millisecond: logical + 1
  *src.ms = 2000;
  auto c = clock.now();
  CHECK(c == fake_clock::make(2000, 0));
  CHECK(clock.current() == c);
}

TEST_CASE("hybrid clock survives the wall clock going backwards") {
  fake_source src;
  fake_clock clock(src);
  *src.ms = 5000;
  auto a = clock.now();
  *src.ms = 3000;  // NTP step back
  auto b = clock.now();
  auto c = clock.now();
  CHECK(b > a);
  CHECK(c > b);
  CHECK(fake_clock::physical_ms(c) == 5000);
}

TEST_CASE("logical overflow carries into milliseconds and stays monotonic") {
  fake_source src;
  fake_clock clock(src);
  std::uint64_t prev = 0;
  for (int i = 0; i < 70000; ++i) {
    auto t = clock.now();
    REQUIRE(t > prev);
    prev = t;
  }
  CHECK(fake_clock::physical_ms(prev) == 1001);
}

TEST_CASE("observe moves the clock past a recovered timestamp") {
  fake_source src;
  fake_clock clock(src);
  auto future = fake_clock::make(9000, 3);
  CHECK(clock.observe(future) == future);
  CHECK(clock.now() == future + 1);
  CHECK(clock.observe(5) == future + 1);  // never goes back
}

TEST_CASE("hybrid clock hands out unique timestamps across threads" *
          doctest::test_suite("concurrency")) {
  hybrid_clock clock;
  constexpr int per_thread = 20000;
  std::vector<std::uint64_t> a(per_thread), b(per_thread);
  std::thread t1([&] {
    for (auto& x : a) x = clock.now();
  });
  std::thread t2([&] {
    for (auto& x : b) x = clock.now();
  });
  t1.join();
  t2.join();
  CHECK(std::is_sorted(a.begin(), a.end()));
  CHECK(std::is_sorted(b.begin(), b.end()));
  std::vector<std::uint64_t> all(a);
  all.insert(all.end(), b.begin(), b.end());
  std::sort(all.begin(), all.end());
  CHECK(std::adjacent_find(all.begin(), all.end()) == all.end());
}

}  // namespace test_core_clock_test
