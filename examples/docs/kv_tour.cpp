// The code of docs/kv.md, compiled and run in CI.
#include <sochdb/sochdb.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

static void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "kv_tour: failed: %s\n", what);
    std::exit(1);
  }
}

int main() {
  std::string path = (std::filesystem::temp_directory_path() / "sochdb-kv-tour").string();
  std::filesystem::remove_all(path);
  using namespace std::chrono_literals;

  // --- open, put, get, delete ---
  {
    auto db = sochdb::database::open(path);  // posix_fs, WAL backend, sync full
    db.put("user:1", "Alice");
    db.put("user:2", "Bob");
    std::optional<std::string> v = db.get("user:1");  // "Alice", or std::nullopt
    expect(v == "Alice", "get");
    expect(db.exists("user:2"), "exists");
    db.del("user:1");
    expect(!db.get("user:1"), "deleted");

    // --- batches: atomic, one commit timestamp ---
    db.put_batch({{"key1", "value1"}, {"key2", "value2"}, {"key3", "value3"}});
    auto values = db.get_batch({"key1", "missing", "key3"});  // one snapshot
    expect(values[0] == "value1" && !values[1] && values[2] == "value3", "get_batch");
    db.delete_batch({"key1", "key2"});
    sochdb::write_batch mixed;
    mixed.put("a", "1").del("key3").put("b", "2");
    std::uint64_t ts = db.write(mixed);  // the commit timestamp (hybrid logical clock)
    expect(ts == db.last_commit_ts() || ts < db.last_commit_ts(), "write");

    // --- TTL ---
    db.put("session:abc", "user_data", 1h);  // expires in an hour
    db.put("permanent", "value", 0s);        // 0: no expiry

    // --- scans stream at a snapshot ---
    for (auto [key, value] : db.scan_prefix("user:")) {
      std::printf("%.*s = %.*s\n", static_cast<int>(key.size()), key.data(),
                  static_cast<int>(value.size()), value.data());
    }
    for (auto [key, value] : db.scan_prefix("se", sochdb::scan_order::reverse))
      (void)key, (void)value;
    for (auto [key, value] : db.scan_range("a", "c")) (void)key, (void)value;
    try {
      (void)db.scan_prefix("u");  // prefixes must have at least 2 bytes...
      expect(false, "short prefix refused");
    } catch (const sochdb::invalid_argument&) {
    }
    std::size_t all = 0;
    for (auto kv : db.scan_prefix_unchecked("")) (void)kv, ++all;  // ...unless you mean it
    expect(all == 5, "full scan");  // user:2, a, b, session:abc, permanent

    // --- paths ---
    db.put_path("users/alice/name", "Alice Smith");
    db.put_path("users/alice/email", "alice@example.com");
    db.put_path("users/bob/name", "Bob Jones");
    expect(db.get_path("users/alice/name") == "Alice Smith", "get_path");
    auto children = db.list_path("users/");  // {"alice", "bob"}
    expect(children.size() == 2 && children[0] == "alice", "list_path");

    // --- maintenance and stats ---
    db.checkpoint();  // WAL -> checkpoint file, old segments deleted, old versions dropped
    auto st = db.stats();
    std::printf("commits %llu, WAL %llu bytes, checkpoint %llu bytes\n",
                static_cast<unsigned long long>(st.commits),
                static_cast<unsigned long long>(st.storage.wal_bytes),
                static_cast<unsigned long long>(st.storage.checkpoint_bytes));
  }  // closed here (RAII); db.close() does the same and reports errors

  // --- options: designated initializers ---
  {
    auto db = sochdb::database::open(
        path,
        {.sync = sochdb::sync_mode::normal, .sync_interval = 50ms, .max_value_size = 1 << 20});
    expect(db.get_path("users/bob/name") == "Bob Jones", "reopened");
    auto rec = db.stats().storage.recovery;
    std::printf("recovered %llu keys from the checkpoint, %llu transactions from the WAL\n",
                static_cast<unsigned long long>(rec.checkpoint_entries),
                static_cast<unsigned long long>(rec.transactions));
  }

  // --- another backend, same API: everything in memory ---
  auto mem = sochdb::basic_database<sochdb::memory_storage>::open("unused");
  mem.put("k", "v");
  expect(mem.get("k") == "v", "memory_storage");

  std::filesystem::remove_all(path);
  return 0;
}
