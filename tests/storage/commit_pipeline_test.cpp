// The commit pipeline: timestamps in queue order, validators (the MVCC hook) serialized and able
// to veto one member, publication only of fully applied groups, errors to every member.
#include <doctest/doctest.h>

#include <sochdb/storage.hpp>

#include <atomic>
#include <thread>
#include <vector>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_storage_commit_pipeline_test {

using namespace sochdb;

TEST_CASE("commit pipeline: timestamps increase, published follows, empty batches are free") {
  auto s = memory_storage::open({}, "", {});
  hybrid_clock clock;
  commit_pipeline<memory_storage> p(*s, clock, 1 << 20);
  CHECK(p.published() == 0);
  std::uint64_t t1 = p.commit(write_batch().put("a", "1"));
  std::uint64_t t2 = p.commit(write_batch().put("b", "2"));
  CHECK(t2 > t1);
  CHECK(p.published() == t2);
  CHECK(s->last_commit_ts() == t2);
  CHECK(p.commit(write_batch()) == t2);  // nothing to write
  std::string v;
  CHECK(s->get("a", t1, 0, v));
  CHECK_FALSE(s->get("b", t1, 0, v));
}

namespace {
struct veto {
  std::uint64_t seen_ts = 0;
  bool reject = false;
  static void run(void* self, std::uint64_t ts) {
    auto* v = static_cast<veto*>(self);
    v->seen_ts = ts;
    if (v->reject) throw transaction_conflict("vetoed at " + std::to_string(ts));
  }
};
}  // namespace

TEST_CASE("commit pipeline: a validator sees its commit ts and can refuse the commit") {
  auto s = memory_storage::open({}, "", {});
  hybrid_clock clock;
  commit_pipeline<memory_storage> p(*s, clock, 1 << 20);
  veto ok, no{0, true};
  std::uint64_t t = p.commit(write_batch().put("k", "v"), commit_validator{&ok, &veto::run});
  CHECK(ok.seen_ts == t);
  CHECK_THROWS_AS(p.commit(write_batch().put("x", "y"), commit_validator{&no, &veto::run}),
                  transaction_conflict);
  std::string v;
  CHECK_FALSE(s->get("x", max_timestamp, 0, v));
  CHECK(p.published() == t);
}

TEST_CASE("commit pipeline: concurrent committers; validators run one at a time in ts order" *
          doctest::test_suite("concurrency")) {
  auto s = memory_storage::open({}, "", {});
  hybrid_clock clock;
  commit_pipeline<memory_storage> p(*s, clock, 1 << 20, true);
  struct checker {
    std::atomic<int> inside{0};
    std::uint64_t last_ts = 0;  // touched only inside validators, which never overlap
    bool ordered = true;
    bool overlapped = false;
    static void run(void* self, std::uint64_t ts) {
      auto* c = static_cast<checker*>(self);
      if (c->inside.fetch_add(1) != 0) c->overlapped = true;
      if (ts <= c->last_ts) c->ordered = false;
      c->last_ts = ts;
      bool refuse = ts % 7 == 0;
      c->inside.fetch_sub(1);
      if (refuse) throw transaction_conflict("every 7th");
    }
  } chk;
  std::atomic<int> refused{0}, committed{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        write_batch b;
        b.put("t" + std::to_string(t) + "/" + std::to_string(i), "v");
        try {
          std::uint64_t c = p.commit(b, commit_validator{&chk, &checker::run});
          CHECK(c <= p.published());
          committed.fetch_add(1);
        } catch (const transaction_conflict&) {
          refused.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  CHECK_FALSE(chk.overlapped);
  CHECK(chk.ordered);
  CHECK(committed + refused == 1200);
  CHECK(s->stats().commits == static_cast<std::uint64_t>(committed.load()));
  auto [groups, commits] = p.counts();
  CHECK(commits == static_cast<std::uint64_t>(committed.load()));
  CHECK(groups <= commits);
}

TEST_CASE("commit pipeline: a storage error reaches every member and later commits") {
  fault_injection_fs<memory_fs> fs;
  auto s = wal_storage<fault_injection_fs<memory_fs>>::open(fs, "/db", {.auto_checkpoint = false});
  hybrid_clock clock;
  commit_pipeline<wal_storage<fault_injection_fs<memory_fs>>> p(*s, clock, 1 << 20);
  std::uint64_t t = p.commit(write_batch().put("a", "1"));
  fs.fail_nth(fault_op::sync, 1);
  CHECK_THROWS_AS(p.commit(write_batch().put("b", "2")), io_error);
  CHECK_THROWS_AS(p.commit(write_batch().put("c", "3")), io_error);  // the backend stays failed
  CHECK(p.published() == t);
  std::string v;
  CHECK(s->get("a", max_timestamp, 0, v));  // reads keep working
}

}  // namespace test_storage_commit_pipeline_test
