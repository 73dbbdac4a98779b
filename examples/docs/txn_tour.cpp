// Every code block of docs/transactions.md, as a program (run as a test: suite `docs`).
#include <sochdb/sochdb.hpp>

#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <string>

static void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "txn_tour: failed: %s\n", what);
    std::exit(1);
  }
}
#define EXPECT(x) expect((x), #x)

int main() {
  std::string dir = (std::filesystem::temp_directory_path() / "sochdb-txn-tour").string();
  std::filesystem::remove_all(dir);
  {
    // [begin]
    auto db = sochdb::database::open(dir);  // serializable by default
    db.put_batch({{"accounts/alice", "1000"}, {"accounts/bob", "500"}});

    auto txn = db.begin();
    long long alice = std::stoll(txn.get("accounts/alice").value_or("0"));
    long long bob = std::stoll(txn.get("accounts/bob").value_or("0"));
    txn.put("accounts/alice", std::to_string(alice - 100));
    txn.put("accounts/bob", std::to_string(bob + 100));
    bool own = txn.get("accounts/alice") == "900";  // reads see the transaction's own writes
    std::uint64_t commit_ts = txn.commit();         // hybrid logical clock timestamp
    // [end]
    EXPECT(own);
    EXPECT(commit_ts == db.last_commit_ts());
    EXPECT(db.get("accounts/bob") == "600");

    // [retry]
    std::string result = db.transaction([](sochdb::transaction& t) {
      long long a = std::stoll(*t.get("accounts/alice"));
      t.put("accounts/alice", std::to_string(a - 100));
      t.put("accounts/bob", std::to_string(std::stoll(*t.get("accounts/bob")) + 100));
      return std::string("transfer complete");
    });  // commits; reruns fn on transaction_conflict (10 attempts, jittered backoff)
    // [end]
    EXPECT(result == "transfer complete");

    // [levels]
    auto si = db.begin(sochdb::isolation_level::snapshot);
    auto ro = db.begin({.read_only = true});  // serializable, read-only
    auto custom = db.begin({.isolation = sochdb::isolation_level::read_committed});
    // [end]
    EXPECT(si.get("accounts/alice") == "800");
    EXPECT(ro.get("accounts/bob") == "700");
    EXPECT(custom.isolation() == sochdb::isolation_level::read_committed);
    si.abort();
    ro.commit();
    custom.abort();

    // [conflict]
    auto t1 = db.begin();
    auto t2 = db.begin();
    t1.put("counter", std::to_string(std::stoll(t1.get("counter").value_or("0")) + 1));
    t2.put("counter", std::to_string(std::stoll(t2.get("counter").value_or("0")) + 1));
    t1.commit();
    try {
      t2.commit();
    } catch (const sochdb::transaction_conflict& e) {
      // "write conflict on key 'counter': a transaction that committed at ts ... wrote it
      // after this transaction's snapshot (ts ...); first committer wins, retry"
      std::printf("%s\n", e.what());
    }
    // [end]
    EXPECT(!t2.active());
    EXPECT(db.get("counter") == "1");

    // [scan]
    auto t = db.begin();
    t.put("accounts/carol", "0");
    long long total = 0;
    for (auto [key, value] : t.scan_prefix("accounts/")) total += std::stoll(std::string(value));
    t.commit();  // at serializable the scanned range is a predicate read: phantoms conflict
    // [end]
    EXPECT(total == 1500);

    // [snapshot]
    auto snap = db.snapshot();
    db.put("accounts/alice", "0");
    auto old = snap.get("accounts/alice");  // "800": still the state at the snapshot
    for (auto [key, value] : snap.scan_prefix("accounts/"))
      std::printf("%.*s\n", int(key.size()), key.data());
    snap.release();  // or let it go out of scope: version GC may now drop what it pinned
    // [end]
    EXPECT(old == "800");

    // [policy]
    using cache_db = sochdb::basic_database<sochdb::memory_storage, sochdb::single_version>;
    auto cache = cache_db::open("unused", {}, {});
    cache.transaction([](auto& c) { c.put("k", "v"); });  // read committed, no snapshots
    // [end]
    EXPECT(cache.get("k") == "v");
  }
  std::filesystem::remove_all(dir);
  std::printf("txn tour ok\n");
  return 0;
}
