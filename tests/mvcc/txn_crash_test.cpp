// Crash tests of a transactional workload on fault_injection_fs, sync full: 2 threads run
// serializable transactions with retries (db.transaction), each moving an amount between two of
// 8 shared accounts and writing a receipt key naming the transfer; thread 0 checkpoints halfway.
// Power is cut after the n-th write, after the n-th sync, or in the middle of the n-th write
// (torn), for n over the whole workload (every n when SOCHDB_CRASH_FULL=1, else an even sample);
// then recovery, and a check of what the workload was told:
//   * every acknowledged transaction's receipt is there, and no receipt of a transaction that
//     was neither acknowledged nor in flight when the power went (at most one per thread);
//   * every balance equals the initial balance plus the amounts of exactly the transactions
//     whose receipts are there: each recovered transaction is there whole, every other one
//     not at all (a transfer applied in part would break the equation);
//   * the database takes transactions again.
#include <doctest/doctest.h>

#include <sochdb/db.hpp>

#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_mvcc_txn_crash_test {

using namespace sochdb;

namespace {
using fi_fs = fault_injection_fs<memory_fs>;
using fi_db = basic_database<wal_storage<fi_fs>>;

constexpr int accounts = 8;
constexpr int txns_per_thread = 300;
constexpr long long initial = 10000;

std::string acct(int i) { return "acct/" + std::to_string(i); }
std::string receipt(int t, int seq) {
  return "receipt/" + std::to_string(t) + "/" + std::to_string(seq);
}

struct transfer {
  int from, to;
  long long amount;
};

// The deterministic script of thread t.
const std::vector<transfer>& script_of(int t) {
  static const auto make = [](int t) {
    std::mt19937_64 rng(900 + static_cast<unsigned>(t));
    std::vector<transfer> s;
    for (int i = 0; i < txns_per_thread; ++i) {
      int a = static_cast<int>(rng() % accounts), b = static_cast<int>(rng() % (accounts - 1));
      if (b >= a) ++b;
      s.push_back({a, b, 1 + static_cast<long long>(rng() % 997)});
    }
    return s;
  };
  static const std::vector<transfer> s0 = make(0), s1 = make(1);
  return t == 0 ? s0 : s1;
}

struct thread_result {
  int acked = 0;        // transactions 0..acked-1 acknowledged
  bool failed = false;  // stopped by an error: transaction `acked` was in flight
};
struct run_result {
  thread_result t[2];
  bool opened = true;
};

database_options options() {
  return database_options{
      .sync = sync_mode::full, .wal_segment_size = 16 * 1024, .auto_checkpoint = false};
}

run_result run_workload(fi_fs& fs) {
  run_result res;
  std::optional<fi_db> db;
  try {
    db.emplace(fi_db::open("/db", options(), fs));
    if (!db->exists(acct(0))) {
      write_batch b;
      for (int i = 0; i < accounts; ++i) b.put(acct(i), std::to_string(initial));
      db->write(b);
    }
  } catch (const error&) {
    res.opened = false;
    res.t[0].failed = res.t[1].failed = true;
    return res;
  }
  auto worker = [&](int t) {
    auto& r = res.t[t];
    const auto& script = script_of(t);
    try {
      for (int i = 0; i < txns_per_thread; ++i) {
        const transfer& x = script[static_cast<std::size_t>(i)];
        db->transaction(
            [&](auto& txn) {
              long long from = std::stoll(*txn.get(acct(x.from)));
              long long to = std::stoll(*txn.get(acct(x.to)));
              txn.put(acct(x.from), std::to_string(from - x.amount));
              txn.put(acct(x.to), std::to_string(to + x.amount));
              txn.put(receipt(t, i), std::to_string(x.amount));
            },
            {.max_attempts = 10000, .backoff_base = std::chrono::microseconds(5)});
        r.acked = i + 1;
        if (t == 0 && i == txns_per_thread / 2) db->checkpoint();
      }
    } catch (const transaction_conflict&) {
      FAIL("a conflict outlived 10000 attempts");
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

void verify(fi_fs& fs, const run_result& r, const std::string& where) {
  INFO(where);
  std::optional<fi_db> db;
  REQUIRE_NOTHROW(db.emplace(fi_db::open("/db", options(), fs)));
  if (!db->exists(acct(0))) {
    // The initial balances were never acknowledged: nothing else can be there either.
    CHECK_FALSE(db->scan_prefix("receipt/").valid());
    CHECK((r.t[0].acked == 0 && r.t[1].acked == 0));
    return;
  }
  std::map<int, long long> expected;
  for (int i = 0; i < accounts; ++i) expected[i] = initial;
  for (int t = 0; t < 2; ++t) {
    const auto& script = script_of(t);
    int acked = r.t[t].acked;
    for (int i = 0; i < txns_per_thread; ++i) {
      bool present = db->exists(receipt(t, i));
      if (i < acked) {
        CHECK_MESSAGE(present, "thread " << t << ": acknowledged transaction " << i << " lost");
      } else if (present) {
        bool in_flight = r.t[t].failed && i == acked;
        CHECK_MESSAGE(in_flight, "thread " << t << ": transaction " << i
                                           << " appeared, neither acknowledged nor in flight");
      }
      if (present) {
        const transfer& x = script[static_cast<std::size_t>(i)];
        CHECK(db->get(receipt(t, i)) == std::to_string(x.amount));
        expected[x.from] -= x.amount;
        expected[x.to] += x.amount;
      }
    }
  }
  for (int i = 0; i < accounts; ++i) {
    CHECK_MESSAGE(db->get(acct(i)) == std::to_string(expected[i]),
                  "account " << i << ": a transaction was recovered in part");
  }
  // It takes transactions again.
  CHECK_NOTHROW(db->transaction([](auto& txn) {
    long long v = std::stoll(*txn.get(acct(0)));
    txn.put(acct(0), std::to_string(v));
  }));
}

#ifdef NDEBUG
constexpr std::uint64_t sample_points = 200;
#else
constexpr std::uint64_t sample_points = 60;
#endif

bool full_sweep() {
  const char* e = std::getenv("SOCHDB_CRASH_FULL");
  return e != nullptr && *e == '1';
}

std::vector<std::uint64_t> crash_points(std::uint64_t total) {
  std::vector<std::uint64_t> pts;
  std::uint64_t stride = full_sweep() || total <= sample_points ? 1 : total / sample_points;
  for (std::uint64_t n = 1; n <= total + 1; ++n) {
    if (stride == 1 || n <= 8 || n + 8 > total || n % stride == 0) pts.push_back(n);
  }
  return pts;
}

std::uint64_t count_ops(fault_op kind) {
  fi_fs fs;
  run_workload(fs);
  auto s = fs.stats();
  return kind == fault_op::write ? s.writes : s.file_syncs + s.dir_syncs;
}

void sweep(fault_op kind, const char* label) {
  std::uint64_t total = count_ops(kind);
  std::uint64_t crashed = 0;
  for (std::uint64_t n : crash_points(total)) {
    fi_fs fs;
    fs.crash_after(kind, n);
    auto r = run_workload(fs);
    if (!fs.is_down()) continue;  // finished before op n (retries vary the count a little)
    ++crashed;
    fs.simulate_power_loss();
    verify(fs, r, std::string(label) + " after op " + std::to_string(n));
  }
  MESSAGE(std::string(label) << ": " << crashed << " crash points verified (of ~" << total
                             << " ops)");
  CHECK(crashed > 0);
}
}  // namespace

TEST_CASE("txn crash: power cut after every write of a transactional workload") {
  sweep(fault_op::write, "txn/write");
}

TEST_CASE("txn crash: power cut after every sync of a transactional workload") {
  sweep(fault_op::sync, "txn/sync");
}

TEST_CASE("txn crash: torn writes in a transactional workload") {
  std::uint64_t total = count_ops(fault_op::write);
  std::mt19937_64 rng(31);
  std::uint64_t crashed = 0;
  for (std::uint64_t n : crash_points(total)) {
    fi_fs fs;
    fs.tear_nth_write(n, static_cast<std::size_t>(rng() % 200));
    auto r = run_workload(fs);
    if (!fs.is_down()) continue;
    ++crashed;
    fs.simulate_power_loss();
    verify(fs, r, "torn write " + std::to_string(n));
  }
  MESSAGE("txn/torn: " << crashed << " points verified");
  CHECK(crashed > 0);
}

}  // namespace test_mvcc_txn_crash_test
