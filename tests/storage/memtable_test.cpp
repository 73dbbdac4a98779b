// The memtable skiplist, internal keys and the snapshot cursor against a std::map model.
#include <doctest/doctest.h>

#include <sochdb/storage/detail/mem_store.hpp>
#include <sochdb/storage/internal_key.hpp>
#include <sochdb/storage/memtable.hpp>
#include <sochdb/storage/snapshot_cursor.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_storage_memtable_test {

using namespace sochdb;

TEST_CASE("internal keys: versions sort newest first, user keys by bytes") {
  auto a1 = make_internal_key("a", 1, value_kind::value);
  auto a5 = make_internal_key("a", 5, value_kind::value);
  auto ab = make_internal_key("ab", 9, value_kind::value);
  auto b0 = make_internal_key(std::string("\xff", 1), 3, value_kind::deletion);
  CHECK(compare_internal_keys(a5, a1) < 0);  // newer first
  CHECK(compare_internal_keys(a1, ab) < 0);  // "a" < "ab" whatever the trailers
  CHECK(compare_internal_keys(ab, b0) < 0);  // unsigned bytes
  CHECK(user_key_of(ab) == "ab");
  CHECK(timestamp_of(ab) == 9);
  CHECK(kind_of(b0) == value_kind::deletion);
  // The lookup key of ts sorts right before the version with that ts.
  CHECK(compare_internal_keys(lookup_key("a", 5), a5) < 0);
  CHECK(compare_internal_keys(lookup_key("a", 4), a5) > 0);
  CHECK(compare_internal_keys(lookup_key("a", 4), a1) < 0);
  std::string sv;
  append_stored_value(sv, "v", 1234);
  auto d = decode_stored_value(value_kind::value_with_expiry, sv);
  CHECK(d.value == "v");
  CHECK(d.expiry_ms == 1234);
  CHECK(d.expired(1234));
  CHECK_FALSE(d.expired(1233));
}

namespace {
// Model: user key -> (ts -> optional value) ; nullopt = deletion.
using model_t = std::map<std::string, std::map<std::uint64_t, std::optional<std::string>>>;

std::optional<std::string> model_get(const model_t& m, const std::string& k, std::uint64_t ts) {
  auto it = m.find(k);
  if (it == m.end()) return std::nullopt;
  std::optional<std::string> r;
  for (auto& [t, v] : it->second) {
    if (t <= ts) r = v;
  }
  return r;
}

std::vector<std::pair<std::string, std::string>> model_scan(const model_t& m, std::uint64_t ts,
                                                            const std::string& lo,
                                                            const std::optional<std::string>& hi) {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& [k, vs] : m) {
    if (k < lo || (hi && k >= *hi)) continue;
    if (auto v = model_get(m, k, ts)) out.emplace_back(k, *v);
  }
  return out;
}
}  // namespace

TEST_CASE("memtable + snapshot_cursor match a model at every snapshot, both directions") {
  std::mt19937_64 rng(42);
  memtable t;
  detail::mem_store ms;
  model_t model;
  std::uint64_t ts = 0;
  for (int i = 0; i < 3000; ++i) {
    write_batch b;
    int n = 1 + static_cast<int>(rng() % 3);
    for (int j = 0; j < n; ++j) {
      std::string k = "k" + std::to_string(rng() % 200);
      if (rng() % 4 == 0) {
        b.del(k);
      } else {
        b.put(k, "v" + std::to_string(i) + "." + std::to_string(j));
      }
    }
    ++ts;
    ms.insert_batch(t, b, ts);
    b.for_each([&](const batch_op& op) {  // later ops win in the model too
      model[std::string(op.key)][ts] = op.op == batch_op::type::put
                                           ? std::optional<std::string>(std::string(op.value))
                                           : std::nullopt;
    });
  }
  CHECK(t.entries() > 0);
  for (std::uint64_t snap : {std::uint64_t{1}, std::uint64_t{17}, std::uint64_t{1500}, ts}) {
    for (int i = 0; i < 200; ++i) {
      std::string k = "k" + std::to_string(i);
      auto it = t.begin_iteration();
      std::string_view v;
      auto st = lookup_version(it, k, snap, 0, v);
      auto want = model_get(model, k, snap);
      REQUIRE((st == lookup_state::found) == want.has_value());
      if (want) CHECK(v == *want);
    }
    for (auto [lo, hi] : std::vector<std::pair<std::string, std::optional<std::string>>>{
             {"", std::nullopt}, {"k1", std::string("k2")}, {"k55", std::string("k9")}}) {
      auto want = model_scan(model, snap, lo, hi);
      for (auto order : {scan_order::forward, scan_order::reverse}) {
        snapshot_cursor<memtable::iterator> c(t.begin_iteration(),
                                              scan_spec{snap, lo, hi, order, 0});
        std::vector<std::pair<std::string, std::string>> got;
        for (; c.valid(); c.next()) got.emplace_back(c.key(), c.value());
        if (order == scan_order::reverse) std::reverse(got.begin(), got.end());
        CHECK(got == want);
      }
    }
  }
}

TEST_CASE("memtable: duplicate internal keys are refused; later batch ops win") {
  memtable t;
  CHECK(t.insert(make_internal_key("a", 1, value_kind::value), "x"));
  CHECK_FALSE(t.insert(make_internal_key("a", 1, value_kind::value), "y"));
  detail::mem_store ms;
  write_batch b;
  b.put("k", "first").put("k", "second").del("j").put("j", "again");
  ms.insert_batch(t, b, 7);
  auto it = t.begin_iteration();
  std::string_view v;
  CHECK(lookup_version(it, "k", 7, 0, v) == lookup_state::found);
  CHECK(v == "second");
  CHECK(lookup_version(it, "j", 7, 0, v) == lookup_state::found);
  CHECK(v == "again");
}

TEST_CASE("memtable filter: every inserted user key may be present; most absent ones are not") {
  memtable m(1 << 16, 64 * 1024);  // 512 Ki bits
  memtable plain;
  for (int i = 0; i < 20000; ++i) {
    std::string uk = "user" + std::to_string(i);
    REQUIRE(m.insert(make_internal_key(uk, 10, value_kind::value), "v"));
    if (i % 2 == 0) REQUIRE(m.insert(make_internal_key(uk, 20, value_kind::deletion), ""));
  }
  for (int i = 0; i < 20000; ++i) {
    REQUIRE(m.may_contain(bloom_hash("user" + std::to_string(i))));
  }
  int fp = 0;
  for (int i = 0; i < 100000; ++i) {
    std::string uk = "absent" + std::to_string(i);
    fp += m.may_contain(bloom_hash(uk));
    REQUIRE(plain.may_contain(bloom_hash(uk)));  // no filter: everything may be present
  }
  MESSAGE("memtable filter false positives at ~26 bits per key: " << fp << " of 100000");
  CHECK(fp < 1000);
  // append_sorted (recovery's path) fills the filter too.
  memtable s(1 << 16, 4096);
  s.append_sorted(make_internal_key("a", 5, value_kind::value), "1");
  s.append_sorted(make_internal_key("b", 5, value_kind::value), "2");
  CHECK(s.may_contain(bloom_hash("a")));
  CHECK(s.may_contain(bloom_hash("b")));
  CHECK(m.memory_usage() >= 64 * 1024);
}

TEST_CASE("memtable point index: lookups agree with the skiplist at every snapshot") {
  // Versions arrive out of timestamp order (as a GC rebuild or recovery may insert them), keys
  // get several versions, and a tiny index fills up and switches itself off midway: every
  // point lookup through begin_point_lookup must answer what the plain skiplist seek answers.
  for (std::size_t slots : {std::size_t{1} << 14, std::size_t{64}}) {
    std::mt19937_64 rng(7 + slots);
    memtable indexed(1 << 16, 0, slots);
    memtable plain;
    CHECK(indexed.point_index_active());
    CHECK_FALSE(plain.point_index_active());
    std::vector<std::uint64_t> order(4000);
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i + 1;
    std::shuffle(order.begin(), order.end(), rng);
    for (std::uint64_t ts : order) {
      std::string uk = "k" + std::to_string(rng() % 600);
      value_kind kind = rng() % 5 == 0 ? value_kind::deletion : value_kind::value;
      std::string v = kind == value_kind::value ? "v" + std::to_string(ts) : "";
      bool a = indexed.insert(make_internal_key(uk, ts, kind), v);
      bool b = plain.insert(make_internal_key(uk, ts, kind), v);
      REQUIRE(a == b);
    }
    CHECK(indexed.point_index_active() == (slots > 64));  // 600 keys overfill 64 slots
    for (int i = 0; i < 650; ++i) {                       // 50 user keys that were never written
      std::string uk = "k" + std::to_string(i);
      for (std::uint64_t snap : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{777},
                                 std::uint64_t{2500}, std::uint64_t{4000}, max_timestamp}) {
        std::string_view va, vb;
        auto ia = indexed.begin_point_lookup(uk, bloom_hash(uk));
        auto ib = plain.begin_iteration();
        auto sa = lookup_version(ia, uk, snap, 0, va);
        auto sb = lookup_version(ib, uk, snap, 0, vb);
        REQUIRE(sa == sb);
        if (sa == lookup_state::found) REQUIRE(va == vb);
      }
    }
  }
}

TEST_CASE("mem_store::rebuild keeps what readers at or above the horizon can see") {
  memtable t;
  detail::mem_store ms;
  auto put = [&](std::uint64_t ts, std::string k, std::string v) {
    write_batch b;
    b.put(k, v);
    ms.insert_batch(t, b, ts);
  };
  auto del = [&](std::uint64_t ts, std::string k) {
    write_batch b;
    b.del(k);
    ms.insert_batch(t, b, ts);
  };
  put(1, "a", "a1");
  put(2, "a", "a2");
  put(5, "a", "a5");
  put(1, "b", "b1");
  del(3, "b");
  put(1, "c", "c1");
  del(6, "c");
  write_batch e;
  e.put("d", "expired", 10);  // expired long ago at now = 1000
  ms.insert_batch(t, e, 2);
  std::uint64_t dropped = 0;
  auto fresh = detail::mem_store::rebuild(t, 4, 1000, dropped);
  // a: a5 (>4) and a2 (newest <= 4) kept, a1 dropped; b: tombstone at 3 and b1 dropped;
  // c: c1 kept (newest <= 4) and the tombstone at 6; d: expired, dropped.
  CHECK(dropped == 4);
  CHECK(fresh->entries() == 4);
  for (std::uint64_t snap : {4, 5, 6, 100}) {
    for (std::string k : {"a", "b", "c", "d"}) {
      auto i1 = t.begin_iteration();
      auto i2 = fresh->begin_iteration();
      std::string_view v1, v2;
      auto s1 = lookup_version(i1, k, snap, 1000, v1);
      auto s2 = lookup_version(i2, k, snap, 1000, v2);
      CHECK((s1 == lookup_state::found) == (s2 == lookup_state::found));
      if (s1 == lookup_state::found && s2 == lookup_state::found) CHECK(v1 == v2);
    }
  }
}

}  // namespace test_storage_memtable_test
