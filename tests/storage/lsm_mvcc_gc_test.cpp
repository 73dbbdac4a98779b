// Version GC of the whole stack: the database's snapshot tracker (db.snapshot(), scans and
// every transaction's read snapshot) gives lsm_storage its read points, so flushes and
// compactions keep each version a live snapshot or transaction can read, drop the versions
// between snapshots that none can read, and drop the rest once the last reader is gone.
#include <doctest/doctest.h>

#include <sochdb/db.hpp>

#include "test_util.hpp"

#include <string>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_storage_lsm_mvcc_gc_test {

using namespace sochdb;

namespace {

using lsm_db = basic_database<lsm_storage<memory_fs>>;

// Sizes that make a few thousand small commits flush and compact many times.
database_options tiny_db() {
  database_options o;
  o.sync = sync_mode::off;
  o.wal_segment_size = 16 * 1024;
  o.memtable_size = 8 * 1024;
  o.lsm.block_size = 512;
  o.lsm.target_file_size = 4 * 1024;
  o.lsm.level1_size = 16 * 1024;
  o.lsm.level_ratio = 4;
  o.lsm.max_levels = 5;
  o.lsm.l0_compaction_trigger = 2;
  o.lsm.l0_slowdown_trigger = 6;
  o.lsm.l0_stop_trigger = 10;
  o.lsm.block_cache_size = 64 * 1024;
  return o;
}

std::string key_of(int i) {
  char b[16];
  std::snprintf(b, sizeof b, "k%04d", i);
  return b;
}

constexpr int keys = 200;

void write_round(lsm_db& db, int round) {
  for (int i = 0; i < keys; ++i) db.put(key_of(i), "v" + std::to_string(round));
}

// Versions in the tree (memtables and every level), tombstones included.
std::uint64_t versions(lsm_db& db) {
  std::uint64_t n = 0;
  auto it = db.storage().internal_scan();
  for (it.seek_to_first(); it.valid(); it.next()) ++n;
  return n;
}

}  // namespace

TEST_CASE(
    "lsm+mvcc: a long-lived snapshot and transaction pin their versions through "
    "flushes and compactions; releasing them lets compaction drop the versions") {
  memory_fs fs;
  auto db = lsm_db::open("/db", tiny_db(), fs);
  write_round(db, 0);
  auto snap = db.snapshot();  // sees v0
  write_round(db, 1);
  auto txn = db.begin(isolation_level::snapshot);
  std::string v;
  REQUIRE(txn.get(key_of(0), v));  // the transaction's snapshot is taken here: sees v1
  CHECK(v == "v1");
  for (int r = 2; r < 8; ++r) {
    write_round(db, r);
    db.checkpoint();  // flush (with GC) ...
    db.compact();     // ... and compact everything down to the last level
  }
  auto st = db.stats().storage;
  CHECK(st.lsm.flushes > 1);
  CHECK(st.lsm.compactions > 0);

  auto all_read = [&](auto& reader, const std::string& want) {
    int ok = 0;
    for (int i = 0; i < keys; ++i) {
      std::string out;
      ok += reader.get(key_of(i), out) && out == want;
    }
    return ok;
  };
  CHECK(all_read(snap, "v0") == keys);
  CHECK(all_read(txn, "v1") == keys);
  CHECK(all_read(db, "v7") == keys);
  // Each key keeps v0 (the snapshot), v1 (the transaction) and v7 (the newest); v2..v6, which
  // no reader can see, are gone although older versions are still pinned.
  CHECK(versions(db) == 3u * keys);

  // The snapshot leaves; the transaction (newer) still pins v1: v0 goes.
  snap.release();
  db.compact();
  CHECK(versions(db) == 2u * keys);
  CHECK(all_read(txn, "v1") == keys);
  CHECK(all_read(db, "v7") == keys);

  // The transaction leaves too: one version per key.
  txn.abort();
  auto dropped_before = db.stats().storage.gc_dropped_versions;
  db.compact();
  CHECK(versions(db) == std::uint64_t{keys});
  CHECK(db.stats().storage.gc_dropped_versions >= dropped_before + keys);
  CHECK(all_read(db, "v7") == keys);

  // And a reopen sees the same.
  db.close();
  auto again = lsm_db::open("/db", tiny_db(), fs);
  CHECK(all_read(again, "v7") == keys);
}

TEST_CASE("lsm+mvcc: a transaction that committed still reads nothing GC'd while it ran") {
  // A serializable read-modify-write transaction whose reads span a compaction: the versions it
  // read must stay until it commits, so validation and its reads agree.
  memory_fs fs;
  auto db = lsm_db::open("/db", tiny_db(), fs);
  write_round(db, 0);
  auto txn = db.begin();
  std::string a;
  REQUIRE(txn.get(key_of(1), a));
  for (int r = 1; r < 5; ++r) {
    write_round(db, r);
    db.checkpoint();
    db.compact();
  }
  std::string b;
  REQUIRE(txn.get(key_of(2), b));
  CHECK(a == "v0");
  CHECK(b == "v0");  // its snapshot, not the newest
  txn.put("other", a + b);
  // key_of(1) and key_of(2) changed after its snapshot; it wrote only "other", so under SSI it
  // may commit or abort, but it must never see a mixed state. Either outcome is fine here.
  try {
    txn.commit();
  } catch (const transaction_conflict&) {
  }
  db.compact();
  CHECK(versions(db) <= std::uint64_t{keys} + 1);
}

}  // namespace test_storage_lsm_mvcc_gc_test
