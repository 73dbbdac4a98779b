// The versioning_policy contract (mvcc/concepts.hpp), over every model: what begin() accepts,
// read-your-writes, atomic commit with increasing timestamps, abort and RAII abort, the retry
// helper, snapshots where the policy has them, and the one behaviour that separates the levels
// on a single key (a lost update is allowed only at read_committed).
#include <doctest/doctest.h>

#include <sochdb/db.hpp>

#include <string>
#include <vector>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_mvcc_policy_contract_test {

using namespace sochdb;

namespace {
template <class Db>
concept has_snapshot = requires(Db& db) {
  db.snapshot();
};

template <class Scan>
std::vector<std::pair<std::string, std::string>> all(Scan&& s) {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto [k, v] : s) out.emplace_back(k, v);
  return out;
}
using kvs = std::vector<std::pair<std::string, std::string>>;
}  // namespace

TEST_CASE_TEMPLATE("versioning policy contract", V, serializable, snapshot_isolation,
                   read_committed, single_version) {
  static_assert(versioning_policy<V>);
  using db_type = basic_database<memory_storage, V>;
  memory_fs fs;
  auto db = db_type::open("/db", {}, fs);
  db.put("k/1", "a");
  db.put("k/2", "b");

  SUBCASE("begin: the policy's level by default; stronger levels refused") {
    auto t = db.begin();
    CHECK(t.isolation() == V::level);
    CHECK(t.active());
    for (auto l : {isolation_level::read_committed, isolation_level::snapshot,
                   isolation_level::serializable}) {
      if (l <= V::level) {
        CHECK(db.begin(l).isolation() == l);
      } else {
        CHECK_THROWS_AS((void)db.begin(l), invalid_argument);
      }
    }
    CHECK(db.begin().id() != t.id());
  }

  SUBCASE("read-your-writes, invisible to others until commit, atomic, increasing timestamps") {
    auto t = db.begin();
    t.put("k/3", "c");
    t.del("k/1");
    t.put("k/2", "B");
    CHECK(t.get("k/3") == "c");
    CHECK_FALSE(t.exists("k/1"));
    CHECK(all(t.scan_prefix("k/")) == kvs{{"k/2", "B"}, {"k/3", "c"}});
    CHECK(all(t.scan_prefix("k/", scan_order::reverse)) == kvs{{"k/3", "c"}, {"k/2", "B"}});
    CHECK(db.get("k/1") == "a");  // nothing visible outside yet
    CHECK_FALSE(db.exists("k/3"));
    std::uint64_t before = db.last_commit_ts();
    std::uint64_t ts = t.commit();
    CHECK(ts > before);
    CHECK(db.last_commit_ts() == ts);
    CHECK_FALSE(t.active());
    CHECK(all(db.scan_prefix("k/")) == kvs{{"k/2", "B"}, {"k/3", "c"}});
    CHECK_THROWS_AS(t.put("k/4", "d"), invalid_argument);  // already committed
    CHECK_THROWS_AS(t.commit(), invalid_argument);
  }

  SUBCASE("abort and RAII abort discard everything") {
    {
      auto t = db.begin();
      t.put("k/9", "x");
    }  // destroyed uncommitted
    auto t = db.begin();
    t.put("k/8", "y");
    t.abort();
    t.abort();  // idempotent
    CHECK_FALSE(db.exists("k/9"));
    CHECK_FALSE(db.exists("k/8"));
    CHECK_THROWS_AS((void)t.get("k/1"), invalid_argument);
  }

  SUBCASE("db.transaction commits, returns fn's result, aborts on other exceptions") {
    int r = db.transaction([](auto& txn) {
      txn.put("k/5", "e");
      return 42;
    });
    CHECK(r == 42);
    CHECK(db.get("k/5") == "e");
    CHECK_THROWS_AS(db.transaction([](auto& txn) {
      txn.put("k/6", "f");
      throw std::runtime_error("no");
    }),
                    std::runtime_error);
    CHECK_FALSE(db.exists("k/6"));
    db.transaction([](auto& txn) { txn.put("k/7", "g"); });
    CHECK(db.get("k/7") == "g");
  }

  SUBCASE("a lost update: allowed only at read_committed") {
    auto t1 = db.begin();
    auto t2 = db.begin();
    std::string v1 = *t1.get("k/1"), v2 = *t2.get("k/1");
    t1.put("k/1", v1 + "1");
    t2.put("k/1", v2 + "2");
    t1.commit();
    if (V::level == isolation_level::read_committed) {
      t2.commit();
      CHECK(db.get("k/1") == "a2");
    } else {
      CHECK_THROWS_AS(t2.commit(), transaction_conflict);
      CHECK(db.get("k/1") == "a1");
      // The retry helper reruns the whole read-modify-write and succeeds.
      int attempts = 0;
      db.transaction([&](auto& txn) {
        ++attempts;
        std::string v = *txn.get("k/1");
        if (attempts == 1) db.put("k/1", "bumped");  // a concurrent commit after the read
        txn.put("k/1", v + "!");
      });
      CHECK(attempts == 2);
      CHECK(db.get("k/1") == "bumped!");
    }
  }

  SUBCASE("snapshots, where the policy keeps history") {
    if constexpr (has_snapshot<db_type>) {
      auto snap = db.snapshot();
      db.put("k/1", "changed");
      db.del("k/2");
      CHECK(snap.get("k/1") == "a");
      CHECK(all(snap.scan_prefix("k/")) == kvs{{"k/1", "a"}, {"k/2", "b"}});
      CHECK(db.get("k/1") == "changed");
    } else {
      static_assert(!V::snapshots);
    }
  }
}

}  // namespace test_mvcc_policy_contract_test
