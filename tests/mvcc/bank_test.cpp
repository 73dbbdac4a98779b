// Concurrency (TSan in CI):
//   * the bank: N accounts, 2 threads doing random transfers and full-sum reads (in a
//     serializable transaction, a read-only one, a db.snapshot(), a plain scan) for
//     SOCHDB_BANK_SECONDS (default 2; the report quotes a 10 s run), under serializable with
//     retries, on the WAL backend with automatic checkpoints (version GC) underneath: the sum
//     never changes and no balance goes negative;
//   * write skew (the on-call doctors): two threads each take themselves off call if both are on
//     call, both reading before either commits (barriers). Under snapshot isolation the
//     constraint "someone is on call" breaks; under serializable it never does.
#include <doctest/doctest.h>

#include <sochdb/db.hpp>

#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_mvcc_bank_test {

using namespace sochdb;

namespace {
using fs_type = memory_fs;
using bank_db = basic_database<wal_storage<fs_type>>;

constexpr int accounts = 10;
constexpr long long initial = 1000;

std::string acct(int i) { return "acct/" + std::to_string(100 + i); }

double bank_seconds() {
  const char* e = std::getenv("SOCHDB_BANK_SECONDS");
  return e != nullptr && *e != '\0' ? std::atof(e) : 2.0;
}

template <class Scan>
long long sum_of(Scan&& s, int& n) {
  long long sum = 0;
  n = 0;
  for (auto [k, v] : s) {
    long long b = std::stoll(std::string(v));
    CHECK(b >= 0);
    sum += b;
    ++n;
  }
  return sum;
}

struct bank_result {
  std::uint64_t transfers = 0, sums = 0, bad_sums = 0;
  conflict_stats conflicts;
};

bank_result run_bank(isolation_level level, double seconds) {
  fs_type fs;
  auto db = bank_db::open("/bank", {.sync = sync_mode::full, .memtable_size = 64 * 1024}, fs);
  for (int i = 0; i < accounts; ++i) db.put(acct(i), std::to_string(initial));
  std::atomic<std::uint64_t> transfers{0}, sums{0}, bad{0};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  auto worker = [&](int id) {
    std::mt19937_64 rng(17 + static_cast<unsigned>(id));
    transaction_options o{.isolation = level, .max_attempts = 1000};
    while (std::chrono::steady_clock::now() < deadline) {
      unsigned op = static_cast<unsigned>(rng() % 10);
      if (op < 7) {
        int a = static_cast<int>(rng() % accounts), b = static_cast<int>(rng() % (accounts - 1));
        if (b >= a) ++b;
        long long amount = 1 + static_cast<long long>(rng() % 200);
        bool moved = db.transaction(
            [&](auto& txn) {
              long long from = std::stoll(*txn.get(acct(a)));
              long long to = std::stoll(*txn.get(acct(b)));
              if (from < amount) return false;  // no overdrafts
              txn.put(acct(a), std::to_string(from - amount));
              txn.put(acct(b), std::to_string(to + amount));
              return true;
            },
            o);
        if (moved) transfers.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      long long sum = 0;
      int n = 0;
      if (op == 7) {
        sum = db.transaction([&](auto& txn) { return sum_of(txn.scan_prefix("acct/"), n); }, o);
      } else if (op == 8) {
        auto ro = o;
        ro.read_only = true;
        sum = db.transaction([&](auto& txn) { return sum_of(txn.scan_prefix("acct/"), n); }, ro);
      } else if (rng() % 2 == 0) {
        auto snap = db.snapshot();
        sum = sum_of(snap.scan_prefix("acct/"), n);
      } else {
        sum = sum_of(db.scan_prefix("acct/"), n);
      }
      sums.fetch_add(1, std::memory_order_relaxed);
      if (sum != accounts * initial || n != accounts) bad.fetch_add(1);
    }
  };
  std::thread t0(worker, 0), t1(worker, 1);
  t0.join();
  t1.join();
  int n = 0;
  CHECK(sum_of(db.scan_prefix("acct/"), n) == accounts * initial);
  bank_result r{transfers.load(), sums.load(), bad.load(), db.stats().transactions};
  CHECK(r.conflicts.running_serializable == 0);
  CHECK(r.conflicts.retained_committed == 0);
  return r;
}
}  // namespace

TEST_CASE("bank: transfers and full-sum reads keep the total (serializable, with retries)" *
          doctest::test_suite("concurrency")) {
  double secs = bank_seconds();
  auto r = run_bank(isolation_level::serializable, secs);
  MESSAGE("serializable bank, " << secs << " s: " << r.transfers << " transfers, " << r.sums
                                << " full-sum reads, " << r.bad_sums << " wrong sums; "
                                << r.conflicts.write_conflicts << " write conflicts, "
                                << r.conflicts.ssi_conflicts << " SSI aborts (retried), "
                                << r.conflicts.safe_snapshots << " safe read-only snapshots");
  CHECK(r.bad_sums == 0);
  CHECK(r.transfers > 0);
  CHECK(r.sums > 0);
}

TEST_CASE("bank: the total also holds under snapshot isolation (first committer wins)" *
          doctest::test_suite("concurrency")) {
  auto r = run_bank(isolation_level::snapshot, std::min(1.0, bank_seconds()));
  MESSAGE("snapshot bank: " << r.transfers << " transfers, " << r.sums << " sums, "
                            << r.conflicts.write_conflicts << " write conflicts");
  CHECK(r.bad_sums == 0);
}

namespace {
// The on-call doctors (write skew). Returns the rounds that ended with nobody on call.
int write_skew_rounds(isolation_level level, int rounds, std::uint64_t& aborts) {
  memory_fs fs;
  auto db = basic_database<wal_storage<memory_fs>>::open("/oncall", {.sync = sync_mode::off}, fs);
  const std::string doctor[2] = {"oncall/alice", "oncall/bob"};
  db.put_batch({{doctor[0], "1"}, {doctor[1], "1"}});
  std::barrier sync(2);
  std::atomic<int> violations{0};
  auto worker = [&](int me) {
    for (int r = 0; r < rounds; ++r) {
      sync.arrive_and_wait();  // round start: both on call
      bool first = true;
      db.transaction(
          [&](auto& txn) {
            int on = std::stoi(*txn.get(doctor[0])) + std::stoi(*txn.get(doctor[1]));
            if (first) {
              first = false;
              sync.arrive_and_wait();  // both have read before either commits
            }
            if (on >= 2) txn.put(doctor[me], "0");  // someone else is on call: leave
          },
          {.isolation = level, .max_attempts = 100, .backoff_base = std::chrono::microseconds(10)});
      sync.arrive_and_wait();  // both done
      if (me == 0) {
        int on = std::stoi(*db.get(doctor[0])) + std::stoi(*db.get(doctor[1]));
        if (on == 0) violations.fetch_add(1);
        db.put_batch({{doctor[0], "1"}, {doctor[1], "1"}});
      }
    }
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  auto s = db.stats().transactions;
  aborts = s.ssi_conflicts + s.write_conflicts;
  return violations.load();
}
}  // namespace

TEST_CASE("write skew: snapshot isolation breaks the constraint, serializable never does" *
          doctest::test_suite("concurrency")) {
  constexpr int rounds = 200;
  std::uint64_t si_aborts = 0, ser_aborts = 0;
  int si = write_skew_rounds(isolation_level::snapshot, rounds, si_aborts);
  int ser = write_skew_rounds(isolation_level::serializable, rounds, ser_aborts);
  MESSAGE("write skew, " << rounds << " rounds: snapshot isolation left nobody on call in " << si
                         << " rounds (" << si_aborts << " aborts); serializable in " << ser
                         << " rounds (" << ser_aborts << " aborts, retried)");
  CHECK(si == rounds);  // both read before either commits, every round
  CHECK(ser == 0);
  CHECK(ser_aborts >= static_cast<std::uint64_t>(rounds));
}

}  // namespace test_mvcc_bank_test
