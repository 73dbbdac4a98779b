#include <doctest/doctest.h>

#include <sochdb/core/thread_pool.hpp>

#include <atomic>
#include <numeric>
#include <stdexcept>
#include <vector>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_core_thread_pool_test {

using namespace sochdb;

TEST_CASE("submit returns results and exceptions through futures") {
  thread_pool pool(2);
  CHECK(pool.size() == 2);
  auto f = pool.submit([](int a, int b) { return a + b; }, 2, 3);
  CHECK(f.get() == 5);
  auto g = pool.submit([] { throw std::runtime_error("boom"); });
  CHECK_THROWS_WITH_AS(g.get(), "boom", std::runtime_error);
}

TEST_CASE("parallel_for covers every index exactly once" * doctest::test_suite("concurrency")) {
  thread_pool pool(2);
  std::vector<std::atomic<int>> hits(100000);
  pool.parallel_for(0, hits.size(), [&](std::size_t i) { hits[i].fetch_add(1); });
  bool all_once = true;
  for (auto& h : hits) all_once = all_once && h.load() == 1;
  CHECK(all_once);
  pool.parallel_for(5, 5, [](std::size_t) { FAIL("empty range"); });
}

TEST_CASE("parallel_for rethrows the first exception after all chunks end" *
          doctest::test_suite("concurrency")) {
  thread_pool pool(2);
  std::atomic<int> ran{0};
  CHECK_THROWS_AS(pool.parallel_for(0, 10000,
                                    [&](std::size_t i) {
                                      ran.fetch_add(1);
                                      if (i == 77) throw std::logic_error("bad index");
                                    }),
                  std::logic_error);
  // The pool is still usable afterwards.
  CHECK(pool.submit([] { return 1; }).get() == 1);
}

TEST_CASE("wait_idle waits for queued work; destruction drains the queue" *
          doctest::test_suite("concurrency")) {
  std::atomic<int> done{0};
  {
    thread_pool pool(2);
    for (int i = 0; i < 100; ++i) pool.submit([&] { done.fetch_add(1); });
    pool.wait_idle();
    CHECK(done.load() == 100);
    for (int i = 0; i < 100; ++i) pool.submit([&] { done.fetch_add(1); });
  }
  CHECK(done.load() == 200);
}

}  // namespace test_core_thread_pool_test
