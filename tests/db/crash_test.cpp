// Crash tests: a workload of mixed puts, deletes and batches from 2 threads on
// fault_injection_fs, with power cut after the n-th write, after the n-th sync, or in the middle
// of the n-th write (torn), for n over the whole workload; then recovery and a check against
// what the workload was told. Both durable backends run it: wal_storage, and lsm_storage with a
// 4 KiB memtable and tiny levels, so the workload flushes and compacts dozens of times (plus a
// manual compact()) and power is cut inside flushes, compactions, manifest edits and WAL
// deletions too:
//   * sync full: every acknowledged commit is present; an unacknowledged one is present whole
//     or not at all (batches are all-or-nothing); recovery never fails.
//   * sync normal: the state is the result of a prefix of the commits in timestamp order.
// Also random bit flips anywhere in the log: recovery reports corruption naming the segment and
// offset, or truncates a damaged tail; it never returns wrong data.
//
// Each thread owns its keys, so its own commits (sequential, at most one in flight when the
// power goes) can be replayed on a model; the timestamps the database returned order the two
// threads' commits for the prefix check. Crash points: every write / sync when
// SOCHDB_CRASH_FULL=1, otherwise an even sample (the count is printed).
#include <doctest/doctest.h>

#include <sochdb/db.hpp>

#include <atomic>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_db_crash_test {

using namespace sochdb;

namespace {
using fi_fs = fault_injection_fs<memory_fs>;
using fi_db = basic_database<wal_storage<fi_fs>>;
using lsm_db = basic_database<lsm_storage<fi_fs>>;

constexpr int commits_per_thread = 1000;

struct op {
  // kind 0: put, 1: delete, 2: batch of puts (+ one delete)
  int kind;
  std::vector<std::pair<std::string, std::optional<std::string>>> writes;
};

// The deterministic script of thread t.
std::vector<op> script(int t) {
  std::mt19937_64 rng(1000 + static_cast<unsigned>(t));
  std::vector<op> ops;
  auto key = [&] { return "t" + std::to_string(t) + "/k" + std::to_string(rng() % 40); };
  for (int i = 0; i < commits_per_thread; ++i) {
    op o;
    std::string tag = "t" + std::to_string(t) + "c" + std::to_string(i);
    unsigned r = static_cast<unsigned>(rng() % 4);
    if (r <= 1) {
      o.kind = 0;
      o.writes.emplace_back(key(), tag + std::string(rng() % 40, 'v'));
    } else if (r == 2) {
      o.kind = 1;
      o.writes.emplace_back(key(), std::nullopt);
    } else {
      o.kind = 2;
      int n = 2 + static_cast<int>(rng() % 3);
      for (int j = 0; j < n; ++j) o.writes.emplace_back(key(), tag + "." + std::to_string(j));
      o.writes.emplace_back(key(), std::nullopt);
    }
    ops.push_back(std::move(o));
  }
  return ops;
}

const std::vector<op>& script_of(int t) {
  static const std::vector<op> s0 = script(0), s1 = script(1);
  return t == 0 ? s0 : s1;
}

using state = std::map<std::string, std::string>;

void apply_op(state& s, const op& o) {
  for (auto& [k, v] : o.writes) {
    if (v) {
      s[k] = *v;
    } else {
      s.erase(k);
    }
  }
}

struct thread_result {
  std::vector<std::uint64_t> acked_ts;  // commit ts of each acknowledged commit, in order
  bool failed = false;                  // stopped by an error (its next op is in flight)
};

struct run_result {
  thread_result t[2];
};

template <class Db>
database_options workload_options(sync_mode m) {
  database_options o{.sync = m,
                     .sync_interval = std::chrono::milliseconds(1),
                     .wal_segment_size = 16 * 1024,
                     .auto_checkpoint = false};
  if constexpr (std::is_same_v<Db, lsm_db>) {
    // Flushes every ~50 commits; L1 holds ~4 files, so compactions run all the time.
    o.auto_checkpoint = true;
    o.memtable_size = 4096;
    o.lsm.block_size = 512;
    o.lsm.target_file_size = 2048;
    o.lsm.level1_size = 8 * 1024;
    o.lsm.level_ratio = 4;
    o.lsm.max_levels = 4;
    o.lsm.l0_compaction_trigger = 2;
    o.lsm.block_cache_size = 32 * 1024;
    o.lsm.max_manifest_size = 4096;  // the manifest is rewritten during the run too
  }
  return o;
}

// Runs both scripts until they finish or the file system goes down.
template <class Db = fi_db>
run_result run_workload(fi_fs& fs, sync_mode m) {
  run_result res;
  std::optional<Db> db;
  try {
    db.emplace(Db::open("/db", workload_options<Db>(m), fs));
  } catch (const error&) {
    res.t[0].failed = res.t[1].failed = true;
    return res;
  }
  auto worker = [&](int t) {
    auto& r = res.t[t];
    const auto& ops = script_of(t);
    try {
      for (std::size_t i = 0; i < ops.size(); ++i) {
        const op& o = ops[i];
        std::uint64_t ts = 0;
        if (o.kind == 0) {
          ts = db->put(o.writes[0].first, *o.writes[0].second);
        } else if (o.kind == 1) {
          ts = db->del(o.writes[0].first);
        } else {
          write_batch b;
          for (auto& [k, v] : o.writes) {
            if (v) {
              b.put(k, *v);
            } else {
              b.del(k);
            }
          }
          ts = db->write(b);
        }
        r.acked_ts.push_back(ts);
        if (t == 0 && i == ops.size() / 2) db->checkpoint();
        if constexpr (std::is_same_v<Db, lsm_db>) {
          if (t == 1 && i == ops.size() / 3) db->compact();
        }
      }
    } catch (const error&) {
      r.failed = true;
    }
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  db.reset();  // a crashed database closes quietly
  return res;
}

// The recovered keys of thread t.
template <class Db>
state recovered_of(Db& db, int t) {
  state s;
  for (auto [k, v] : db.scan_prefix("t" + std::to_string(t) + "/")) s.emplace(k, v);
  return s;
}

// Which prefix lengths k (commits of thread t) produce `got`; -1 if none.
std::vector<int> matching_prefixes(int t, const state& got, int max_k) {
  std::vector<int> ks;
  state s;
  const auto& ops = script_of(t);
  if (s == got) ks.push_back(0);
  for (int k = 1; k <= max_k; ++k) {
    apply_op(s, ops[static_cast<std::size_t>(k - 1)]);
    if (s == got) ks.push_back(k);
  }
  return ks;
}

template <class Db = fi_db>
void verify(fi_fs& fs, const run_result& r, sync_mode m, const std::string& where) {
  INFO(where);
  std::optional<Db> db;
  REQUIRE_NOTHROW(db.emplace(Db::open("/db", workload_options<Db>(m), fs)));
  if (m == sync_mode::full) {
    for (int t = 0; t < 2; ++t) {
      int acked = static_cast<int>(r.t[t].acked_ts.size());
      int max_k = std::min(acked + (r.t[t].failed ? 1 : 0), commits_per_thread);
      auto ks = matching_prefixes(t, recovered_of(*db, t), max_k);
      // Acknowledged ones all there; the one in flight whole or absent.
      bool ok = false;
      for (int k : ks) ok |= k >= acked;
      CHECK_MESSAGE(ok, "thread " << t << ": " << acked << " acknowledged commits not recovered");
    }
  } else {
    // Some timestamp T cuts both threads: each holds exactly its commits with ts <= T, plus
    // possibly its unacknowledged one at the end.
    std::vector<int> ks[2];
    for (int t = 0; t < 2; ++t) {
      int acked = static_cast<int>(r.t[t].acked_ts.size());
      int max_k = std::min(acked + (r.t[t].failed ? 1 : 0), commits_per_thread);
      ks[t] = matching_prefixes(t, recovered_of(*db, t), max_k);
      CHECK_MESSAGE(!ks[t].empty(), "thread " << t << ": state is no prefix of its commits");
    }
    auto ts_of = [&](int t, int k) -> std::uint64_t {  // ts of the k-th commit (1-based)
      auto& v = r.t[t].acked_ts;
      return k <= static_cast<int>(v.size()) ? v[static_cast<std::size_t>(k - 1)] : max_timestamp;
    };
    bool consistent = false;
    for (int k0 : ks[0]) {
      for (int k1 : ks[1]) {
        // Nothing included may be newer than something excluded.
        std::uint64_t newest_in = std::max(k0 ? ts_of(0, k0) : 0, k1 ? ts_of(1, k1) : 0);
        std::uint64_t oldest_out = std::min(ts_of(0, k0 + 1), ts_of(1, k1 + 1));
        bool in_flight_last =
            (k0 > 0 && ts_of(0, k0) == max_timestamp) || (k1 > 0 && ts_of(1, k1) == max_timestamp);
        if (newest_in < oldest_out || in_flight_last) consistent = true;
      }
    }
    CHECK_MESSAGE(consistent, "recovered state is not a prefix in commit order");
  }
  // The database takes writes again after recovery.
  CHECK_NOTHROW(db->put("after/recovery", "ok"));
}

// Crash points per sweep when not sweeping all: fewer in debug (sanitizer) builds.
#ifdef NDEBUG
constexpr std::uint64_t sample_points = 250;
#else
constexpr std::uint64_t sample_points = 80;
#endif

bool full_sweep() {
  const char* e = std::getenv("SOCHDB_CRASH_FULL");
  return e != nullptr && *e == '1';
}

// Crash points 1..total: all of them for a full sweep, otherwise ~`sample` spread evenly plus
// the first and last few.
std::vector<std::uint64_t> crash_points(std::uint64_t total, std::uint64_t sample) {
  std::vector<std::uint64_t> pts;
  if (full_sweep() || total <= sample) {
    for (std::uint64_t n = 1; n <= total + 1; ++n) pts.push_back(n);
    return pts;
  }
  std::uint64_t stride = total / sample;
  for (std::uint64_t n = 1; n <= total + 1; ++n) {
    if (n <= 8 || n + 8 > total || n % stride == 0) pts.push_back(n);
  }
  return pts;
}

template <class Db = fi_db>
std::uint64_t count_ops(sync_mode m, fault_op kind) {
  fi_fs fs;
  auto before = fs.stats();
  run_workload<Db>(fs, m);
  auto after = fs.stats();
  switch (kind) {
    case fault_op::write:
      return after.writes - before.writes;
    case fault_op::rename:
      return after.renames - before.renames;
    case fault_op::remove:
      return after.removes - before.removes;
    default:
      return after.file_syncs + after.dir_syncs - before.file_syncs - before.dir_syncs;
  }
}

template <class Db = fi_db>
void crash_sweep(sync_mode m, fault_op kind, const char* label) {
  std::uint64_t total = count_ops<Db>(m, kind);
  auto pts = crash_points(total, sample_points);
  std::uint64_t crashed = 0;
  for (std::uint64_t n : pts) {
    fi_fs fs;
    fs.crash_after(kind, n);
    auto r = run_workload<Db>(fs, m);
    if (!fs.is_down()) continue;  // finished before op n (thread timing varies a little)
    ++crashed;
    fs.simulate_power_loss();
    verify<Db>(fs, r, m, std::string(label) + " crash after op " + std::to_string(n));
  }
  MESSAGE(std::string(label) << ": " << crashed << " crash points verified (of ~" << total
                             << " ops)");
  CHECK(crashed > 0);
}
}  // namespace

TEST_CASE("crash: sync full, power cut after every write") {
  crash_sweep(sync_mode::full, fault_op::write, "full/write");
}

TEST_CASE("crash: sync full, power cut after every sync") {
  crash_sweep(sync_mode::full, fault_op::sync, "full/sync");
}

TEST_CASE("crash: sync normal, power cut after every write: a prefix survives") {
  crash_sweep(sync_mode::normal, fault_op::write, "normal/write");
}

TEST_CASE("crash: sync normal, power cut after every sync: a prefix survives") {
  crash_sweep(sync_mode::normal, fault_op::sync, "normal/sync");
}

template <class Db>
void torn_sweep(const char* label) {
  std::uint64_t total = count_ops<Db>(sync_mode::full, fault_op::write);
  auto pts = crash_points(total, sample_points);
  std::mt19937_64 rng(5);
  std::uint64_t crashed = 0;
  for (std::uint64_t n : pts) {
    fi_fs fs;
    fs.tear_nth_write(n, static_cast<std::size_t>(rng() % 300));
    auto r = run_workload<Db>(fs, sync_mode::full);
    if (!fs.is_down()) continue;
    ++crashed;
    fs.simulate_power_loss();
    verify<Db>(fs, r, sync_mode::full, "torn write " + std::to_string(n));
  }
  MESSAGE(std::string(label) << ": " << crashed << " points verified (of ~" << total << " writes)");
  CHECK(crashed > 0);
}

TEST_CASE("crash: torn writes at every write are detected and cut off") {
  torn_sweep<fi_db>("torn writes");
}

TEST_CASE("crash: a flipped bit anywhere is reported with segment and offset, or cut as tail") {
  fi_fs base;
  auto r = run_workload<fi_db>(base, sync_mode::full);
  REQUIRE_FALSE(r.t[0].failed);
  std::vector<std::pair<std::string, std::uint64_t>> files;
  for (auto& n : base.list("/db")) {
    if (n.ends_with(".log") || n.ends_with(".ckpt"))
      files.emplace_back(n, base.file_size("/db/" + n));
  }
  REQUIRE(files.size() > 2);
  std::mt19937_64 rng(11);
  int corrupt = 0, tail = 0;
  for (int trial = 0; trial < 60; ++trial) {
    auto [name, size] = files[rng() % files.size()];
    std::uint64_t off = rng() % size;
    fi_fs fs;
    // Rebuild the same bytes: copy every file of the finished run.
    fs.create_directories("/db");
    for (auto& [n, sz] : files) write_file(fs, "/db/" + n, read_file(base, "/db/" + n), true);
    fs.flip_bit("/db/" + name, off, static_cast<int>(rng() % 8));
    auto rep = verify_wal_directory(fs, "/db");
    CHECK_FALSE(rep.ok);
    try {
      auto db = fi_db::open("/db", workload_options<fi_db>(sync_mode::full), fs);
      // Opened: the damage was in the log's last record; it was cut off.
      CHECK(db.stats().storage.recovery.tail_truncations == 1);
      ++tail;
    } catch (const corruption& e) {
      std::string msg = e.what();
      CHECK_MESSAGE(msg.find(name) != std::string::npos, msg);
      CHECK_MESSAGE(msg.find("at offset ") != std::string::npos, msg);
      ++corrupt;
      // Opting in opens it anyway, skipping the damaged region (and its transactions).
      auto opts = workload_options<fi_db>(sync_mode::full);
      opts.skip_corrupt_records = true;
      if (name.ends_with(".log")) {
        auto db = fi_db::open("/db", opts, fs);
        CHECK(db.stats().storage.recovery.skipped_corrupt >= 1);
      }
    }
  }
  MESSAGE("bit flips: " << corrupt << " reported as corruption, " << tail << " cut as tail");
  CHECK(corrupt > 0);
}

// ---- the LSM backend: the same sweeps through flushes, compactions and manifest edits ----

TEST_CASE("crash lsm: sync full, power cut after every write") {
  crash_sweep<lsm_db>(sync_mode::full, fault_op::write, "lsm full/write");
}

TEST_CASE("crash lsm: sync full, power cut after every sync") {
  crash_sweep<lsm_db>(sync_mode::full, fault_op::sync, "lsm full/sync");
}

TEST_CASE("crash lsm: sync normal, power cut after every write: a prefix survives") {
  crash_sweep<lsm_db>(sync_mode::normal, fault_op::write, "lsm normal/write");
}

TEST_CASE("crash lsm: power cut after every rename and every remove") {
  crash_sweep<lsm_db>(sync_mode::full, fault_op::rename, "lsm full/rename");
  crash_sweep<lsm_db>(sync_mode::full, fault_op::remove, "lsm full/remove");
}

TEST_CASE("crash lsm: torn writes at every write are detected and cut off") {
  torn_sweep<lsm_db>("lsm torn writes");
}

TEST_CASE("crash lsm: a flipped bit in an SSTable fails only the reads of its block") {
  fi_fs base;
  auto r = run_workload<lsm_db>(base, sync_mode::full);
  REQUIRE_FALSE(r.t[0].failed);
  REQUIRE_FALSE(r.t[1].failed);
  auto all_keys = [] {
    std::vector<std::string> ks;
    for (int t = 0; t < 2; ++t) {
      for (int k = 0; k < 40; ++k) ks.push_back("t" + std::to_string(t) + "/k" + std::to_string(k));
    }
    return ks;
  }();
  std::map<std::string, std::optional<std::string>> expect;
  {
    auto db = lsm_db::open("/db", workload_options<lsm_db>(sync_mode::full), base);
    for (auto& k : all_keys) expect[k] = db.get(k);
  }
  std::vector<std::pair<std::string, std::uint64_t>> files;
  std::vector<std::string> ssts;
  for (auto& n : base.list("/db")) {
    if (n == "LOCK") continue;
    files.emplace_back(n, base.file_size("/db/" + n));
    if (n.ends_with(".sst")) ssts.push_back(n);
  }
  REQUIRE(ssts.size() >= 1);
  std::mt19937_64 rng(13);
  int reported = 0, harmless = 0;
  for (int trial = 0; trial < 40; ++trial) {
    const std::string& name = ssts[rng() % ssts.size()];
    std::uint64_t size = base.file_size("/db/" + name);
    std::uint64_t off = rng() % size;
    fi_fs fs;
    fs.create_directories("/db");
    for (auto& [n, sz] : files) write_file(fs, "/db/" + n, read_file(base, "/db/" + n), true);
    fs.flip_bit("/db/" + name, off, static_cast<int>(rng() % 8));
    auto db = lsm_db::open("/db", workload_options<lsm_db>(sync_mode::full), fs);
    // Every key of both threads: each read either returns what the undamaged copy returns or
    // fails naming the damaged file and an offset.
    int failed_reads = 0;
    std::uint64_t failed_at = 0;
    for (auto& key : all_keys) {
      try {
        auto got = db.get(key);
        CHECK(got == expect[key]);
      } catch (const corruption& e) {
        std::string msg = e.what();
        CHECK_MESSAGE(msg.find("sstable " + name) != std::string::npos, msg);
        auto at = msg.find("at offset ");
        CHECK_MESSAGE(at != std::string::npos, msg);
        if (at != std::string::npos) failed_at = std::stoull(msg.substr(at + 10));
        ++failed_reads;
      }
    }
    if (failed_reads > 0) {
      ++reported;
      // Damage in a data block fails only the keys read from it. Damage in the table's
      // metadata (index, filter, stats, footer: past its last data block) makes the table
      // unreadable, so every key that reaches the table fails.
      typename sst_reader<fi_fs, lz4>::open_args a;
      auto clean = sst_reader<fi_fs, lz4>::open(base, "/db/" + name, name, a);
      const auto& last = clean->handle(clean->block_count() - 1);
      const std::uint64_t data_end = last.offset + last.size;
      if (failed_at < data_end) CHECK(failed_reads < 80);  // unaffected keys keep working
    } else {
      ++harmless;  // the bit was in a block no live key reads (or an older version)
    }
  }
  MESSAGE("sst bit flips: " << reported << " reported on read, " << harmless
                            << " touched no live key's block");
  CHECK(reported > 0);
}

}  // namespace test_db_crash_test
