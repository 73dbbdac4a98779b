// kv_bench — key-value workloads against sochdb and, in the same run, RocksDB, LevelDB, LMDB
// and SQLite (each behind one adapter in kv_adapters.hpp, all fed the same key stream).
//
//   kv_bench --db DIR --workloads fillseq,fillrandom,overwrite,readrandom,readmissing,
//            seekrandom,readwhilewriting,txn,compact,reopen --num N --key-size 16 --value-size 100
//            --sync off|normal|full --threads T [--compression lz4|zstd|none]
//            [--compare rocksdb,leveldb,lmdb,sqlite,rocksdb_txn,rocksdb_occ,sochdb_si]
//
// Prints one JSON object per line {"library","workload","sync","threads","num","ops_per_s",
// "p50_us","p99_us","db_bytes","write_amp"} and then a table with each library's ops/s as a
// ratio to sochdb's. The command line and the JSON fields are a contract other tools use
// (issue 7): keep them stable.
//
// Workloads (db_bench's): fillseq (keys in order into a fresh database), fillrandom (random keys,
// fresh database), overwrite (random keys over a filled one), readrandom (random existing
// keys), readmissing (random absent keys), seekrandom (seek to a random key and read 10
// entries), readwhilewriting (T readers while one more thread writes). Reads on an empty
// database fill it first (untimed). write_amp is the bytes the process handed to write(2)
// (/proc/self/io wchar) per byte of user data written, null for read workloads. txn: --num
// transactions over a filled database, each a 2-key read-modify-write of two distinct random
// keys (kv_adapters.hpp: txn_rmw), retried until it commits; libraries without transactions
// (LevelDB) are skipped. Compare with sochdb_si (snapshot isolation), rocksdb_txn
// (pessimistic), rocksdb_occ (optimistic), sqlite (BEGIN IMMEDIATE) and lmdb. The retries are
// printed on stderr. reopen: close the filled database and time opening it again (p50_us = the
// open time; the close before it, untimed, is printed on stderr; --no-flush-on-close makes
// sochdb's open replay the WAL tail as after a crash). compact: flush and compact everything
// (p50_us = its time; db_bytes after it is the data's space without WAL tails; sochdb, RocksDB and
// LevelDB).
//
// Equivalent configuration: --cache-mb (default 128) for every cache, 64 MiB memtables, 10-bit
// bloom filters, 4 KiB blocks, the same compression (kv_adapters.hpp); --mmap makes sochdb
// read SSTables through mmap. --reads N: operations of readrandom, readmissing, seekrandom and
// readwhilewriting (default --num), as db_bench's --reads.
#include "bench_util.hpp"
#include "kv_adapters.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace sochdb_bench;

namespace {

struct config {
  std::string dir;
  std::vector<std::string> workloads{"fillseq", "fillrandom", "readrandom"};
  std::uint64_t num = 100000;
  std::size_t key_size = 16;
  std::size_t value_size = 100;
  std::string sync = "off";
  int threads = 1;
  std::string compression = "lz4";
  std::vector<std::string> compare;
  std::size_t cache_mb = 128;
  bool mmap = false;
  bool flush_on_close = true;
  std::uint64_t reads = 0;  ///< operations of the read workloads; 0: --num
};

// The pseudo-random number of operation x (splitmix64): one stream shared by every library,
// cheap enough (a few ns) not to weigh on the operation it picks a key for.
std::uint64_t op_random(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "kv_bench: %s\nusage: kv_bench --db DIR --workloads LIST --num N --key-size 16 "
               "--value-size 100 --sync off|normal|full --threads T [--compression lz4|zstd|none] "
               "[--compare rocksdb,leveldb,lmdb,sqlite,rocksdb_txn,rocksdb_occ,sochdb_si] "
               "[--cache-mb 128] [--mmap] [--no-flush-on-close] [--reads N]\n",
               why.c_str());
  std::exit(2);
}

config parse(int argc, char** argv) {
  config c;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--db")
      c.dir = val();
    else if (a == "--workloads")
      c.workloads = split(val());
    else if (a == "--num")
      c.num = std::stoull(val());
    else if (a == "--reads")
      c.reads = std::stoull(val());
    else if (a == "--key-size")
      c.key_size = std::stoul(val());
    else if (a == "--value-size")
      c.value_size = std::stoul(val());
    else if (a == "--sync")
      c.sync = val();
    else if (a == "--threads")
      c.threads = std::stoi(val());
    else if (a == "--compression")
      c.compression = val();
    else if (a == "--compare")
      c.compare = split(val());
    else if (a == "--cache-mb")
      c.cache_mb = std::stoul(val());
    else if (a == "--mmap")
      c.mmap = true;
    else if (a == "--no-flush-on-close")
      c.flush_on_close = false;
    else
      usage("unknown option " + a);
  }
  if (c.dir.empty()) usage("--db is required");
  if (c.sync != "off" && c.sync != "normal" && c.sync != "full") usage("bad --sync");
  if (c.compression != "lz4" && c.compression != "zstd" && c.compression != "none") {
    usage("bad --compression");
  }
  if (c.threads < 1 || c.key_size < 8 || c.num < 2) usage("bad --threads/--key-size/--num");
  if (c.reads == 0) c.reads = c.num;
  return c;
}

std::uint64_t process_wchar() {
  std::ifstream in("/proc/self/io");
  std::string k;
  std::uint64_t v = 0;
  while (in >> k >> v) {
    if (k == "wchar:") return v;
  }
  return 0;
}

// Key i: decimal, zero-padded to key_size (fillseq writes them in byte order).
struct key_maker {
  std::size_t size;
  void make(std::uint64_t i, std::string& out) const {
    char buf[32];
    int n = std::snprintf(buf, sizeof buf, "%020llu", static_cast<unsigned long long>(i));
    out.assign(size, '0');
    std::size_t take = std::min<std::size_t>(size, static_cast<std::size_t>(n));
    std::memcpy(out.data() + size - take, buf + n - take, take);
  }
};

// Values compress to about half, like db_bench's: random bytes, each repeated once.
struct value_source {
  std::string pool;
  std::size_t size;
  explicit value_source(std::size_t sz) : size(sz) {
    std::mt19937_64 rng(301);
    std::string half(1 << 19, '\0');
    for (auto& ch : half) ch = static_cast<char>(' ' + rng() % 95);
    pool.reserve(1 << 20);
    for (std::size_t i = 0; i < half.size(); i += 64) {
      std::string piece = half.substr(i, 32);
      pool += piece;
      pool += piece;
    }
  }
  std::string_view at(std::uint64_t i) const {
    std::size_t off = static_cast<std::size_t>((i * 7919) % (pool.size() - size));
    return std::string_view(pool).substr(off, size);
  }
};

sync_kind to_sync(const std::string& s) {
  return s == "full" ? sync_kind::full : s == "normal" ? sync_kind::normal : sync_kind::off;
}

std::unique_ptr<kv_adapter> make_adapter(const std::string& lib, const std::string& dir,
                                         const config& c) {
  bench_config bc;
  bc.sync = to_sync(c.sync);
  bc.compression = c.compression;
  bc.cache_bytes = c.cache_mb << 20;
  bc.mmap = c.mmap;
  bc.flush_on_close = c.flush_on_close;
  if (lib == "sochdb" || lib == "sochdb_si") {
    using namespace sochdb;
    isolation_level level =
        lib == "sochdb" ? isolation_level::serializable : isolation_level::snapshot;
    if (c.compression == "zstd") {
      return std::make_unique<sochdb_adapter<basic_database<lsm_storage<posix_fs, zstd>>>>(dir, bc,
                                                                                           level);
    }
    if (c.compression == "none") {
      return std::make_unique<
          sochdb_adapter<basic_database<lsm_storage<posix_fs, no_compression>>>>(dir, bc, level);
    }
    return std::make_unique<sochdb_adapter<database>>(dir, bc, level);
  }
#if SOCHDB_BENCH_ROCKSDB
  if (lib == "rocksdb") return std::make_unique<rocksdb_adapter>(dir, bc);
  if (lib == "rocksdb_txn") return std::make_unique<rocksdb_txn_adapter>(dir, bc, false);
  if (lib == "rocksdb_occ") return std::make_unique<rocksdb_txn_adapter>(dir, bc, true);
#endif
#if SOCHDB_BENCH_LEVELDB
  if (lib == "leveldb") return std::make_unique<leveldb_adapter>(dir, bc);
#endif
#if SOCHDB_BENCH_LMDB
  if (lib == "lmdb") return std::make_unique<lmdb_adapter>(dir, bc);
#endif
#if SOCHDB_BENCH_SQLITE
  if (lib == "sqlite") return std::make_unique<sqlite_adapter>(dir, bc);
#endif
  return nullptr;
}

struct result {
  double ops_per_s = 0;
  double p50 = 0, p99 = 0;
  std::uint64_t bytes_written = 0;
  std::uint64_t ops = 0;
};

// Runs `per_thread(t, i)` for i in the thread's share of [0, num) on `threads` threads, timing
// each operation.
template <class F>
result run_threads(int threads, std::uint64_t num, F&& per_op) {
  std::vector<std::vector<double>> lat(static_cast<std::size_t>(threads));
  std::uint64_t w0 = process_wchar();
  stopwatch total;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      auto& rec = lat[static_cast<std::size_t>(t)];
      auto n = static_cast<std::uint64_t>(threads);
      std::uint64_t lo = num * static_cast<std::uint64_t>(t) / n;
      std::uint64_t hi = num * static_cast<std::uint64_t>(t + 1) / n;
      rec.reserve(static_cast<std::size_t>(hi - lo));
      std::string key, val;
      for (std::uint64_t i = lo; i < hi; ++i) {
        stopwatch sw;
        per_op(t, i, key, val);
        rec.push_back(sw.micros());
      }
    });
  }
  for (auto& th : ts) th.join();
  double secs = total.seconds();
  result r;
  latency_recorder all;
  all.reserve(static_cast<std::size_t>(num));
  for (auto& l : lat) {
    for (double d : l) all.add(d);
  }
  r.p50 = all.percentile(50);
  r.p99 = all.percentile(99);
  r.ops = num;
  r.ops_per_s = static_cast<double>(num) / secs;
  r.bytes_written = process_wchar() - w0;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  config c = parse(argc, argv);
  std::vector<std::string> libs{"sochdb"};
  for (auto& l : c.compare) libs.push_back(l);
  key_maker km{c.key_size};
  value_source vs(c.value_size);
  std::vector<std::string> cols{"library",  "workload",  "sync",     "threads",
                                "num",      "ops_per_s", "p50_us",   "p99_us",
                                "db_bytes", "write_amp", "vs_sochdb"};
  std::vector<nlohmann::ordered_json> rows;
  std::map<std::string, double> sochdb_ops;  // workload -> ops/s, for the ratio column
  std::filesystem::create_directories(c.dir);

  for (auto& lib : libs) {
    std::string dir = c.dir + "/" + lib;
    std::filesystem::remove_all(dir);
    std::unique_ptr<kv_adapter> db;
    try {
      db = make_adapter(lib, dir, c);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "kv_bench: %s: %s\n", lib.c_str(), e.what());
      continue;
    }
    if (!db) {
      std::fprintf(stderr, "kv_bench: %s is not compiled in (not found at build time)\n",
                   lib.c_str());
      continue;
    }
    bool filled = false;
    auto reopen_fresh = [&] {
      db->close();
      db.reset();
      std::filesystem::remove_all(dir);
      db = make_adapter(lib, dir, c);
      filled = false;
    };
    auto fill_untimed = [&] {
      run_threads(c.threads, c.num, [&](int, std::uint64_t i, std::string& k, std::string&) {
        km.make(i, k);
        db->put(k, vs.at(i));
      });
      filled = true;
    };
    for (auto& w : c.workloads) {
      result r;
      bool writes = false;
      std::uint64_t seed = 1234;
      if (w == "fillseq" || w == "fillrandom") {
        if (filled) reopen_fresh();
        writes = true;
        bool seq = w == "fillseq";
        r = run_threads(
            c.threads, c.num, [&](int t, std::uint64_t i, std::string& k, std::string&) {
              km.make(seq ? i : op_random(seed + static_cast<std::uint64_t>(t) * 7919 + i) % c.num,
                      k);
              db->put(k, vs.at(i));
            });
        filled = true;
      } else if (w == "overwrite") {
        if (!filled) fill_untimed();
        writes = true;
        r = run_threads(c.threads, c.num, [&](int, std::uint64_t i, std::string& k, std::string&) {
          km.make(op_random(seed * 31 + i) % c.num, k);
          db->put(k, vs.at(i + 17));
        });
      } else if (w == "readrandom" || w == "readmissing") {
        if (!filled) fill_untimed();
        bool missing = w == "readmissing";
        std::atomic<std::uint64_t> found{0};
        r = run_threads(c.threads, c.reads,
                        [&](int, std::uint64_t i, std::string& k, std::string& v) {
                          km.make(op_random(seed * 17 + i) % c.num, k);
                          if (missing) k.back() = '.';  // sorts beside the key, never written
                          if (db->get(k, v)) found.fetch_add(1, std::memory_order_relaxed);
                        });
        if (missing ? found.load() != 0 : found.load() == 0) {
          std::fprintf(stderr, "kv_bench: %s %s: found %llu keys, which cannot be right\n",
                       lib.c_str(), w.c_str(), static_cast<unsigned long long>(found.load()));
          return 1;
        }
      } else if (w == "seekrandom") {
        if (!filled) fill_untimed();
        r = run_threads(c.threads, c.reads,
                        [&](int, std::uint64_t i, std::string& k, std::string&) {
                          km.make(op_random(seed * 13 + i) % c.num, k);
                          do_not_optimize(db->seek_scan(k, 10));
                        });
      } else if (w == "readwhilewriting") {
        if (!filled) fill_untimed();
        std::atomic<bool> stop{false};
        std::thread writer([&] {
          std::string k;
          for (std::uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
            km.make((i * 2654435761u) % c.num, k);
            db->put(k, vs.at(i));
          }
        });
        r = run_threads(c.threads, c.reads,
                        [&](int, std::uint64_t i, std::string& k, std::string& v) {
                          km.make(op_random(seed * 19 + i) % c.num, k);
                          do_not_optimize(db->get(k, v));
                        });
        stop = true;
        writer.join();
      } else if (w == "compact") {
        // A full flush + compaction of the filled database (db_bytes afterwards: the space the
        // data takes without WAL tails; sochdb, RocksDB, LevelDB only).
        if (!filled) fill_untimed();
        stopwatch sw;
        if (!db->compact_all()) {
          std::fprintf(stderr, "kv_bench: %s: compact skipped (no such operation)\n", lib.c_str());
          continue;
        }
        double us = sw.micros();
        r.ops = 1;
        r.ops_per_s = 1e6 / us;
        r.p50 = r.p99 = us;
      } else if (w == "reopen") {
        // Open time of the filled database: close (untimed), then time the open alone
        // (recovery: manifest + WAL tail for sochdb). ops_per_s = opens per second; p50/p99 =
        // the open time in microseconds.
        if (!filled) fill_untimed();
        stopwatch close_sw;
        db->close();
        db.reset();
        std::fprintf(stderr, "kv_bench: %s: close before reopen took %.3f s\n", lib.c_str(),
                     close_sw.micros() / 1e6);
        stopwatch sw;
        db = make_adapter(lib, dir, c);
        double us = sw.micros();
        r.ops = 1;
        r.ops_per_s = 1e6 / us;
        r.p50 = r.p99 = us;
      } else if (w == "txn") {
        if (!db->has_txn()) {
          std::fprintf(stderr, "kv_bench: %s: txn skipped (no transactions)\n", lib.c_str());
          continue;
        }
        if (!filled) fill_untimed();
        writes = true;
        std::atomic<std::uint64_t> retries{0};
        r = run_threads(c.threads, c.num,
                        [&](int, std::uint64_t i, std::string& k, std::string& v) {
                          std::uint64_t a = op_random(seed * 23 + i) % c.num,
                                        b = op_random(~(seed * 23 + i)) % (c.num - 1);
                          if (b >= a) ++b;
                          km.make(a, k);
                          km.make(b, v);
                          retries.fetch_add(static_cast<std::uint64_t>(db->txn_rmw(k, v)),
                                            std::memory_order_relaxed);
                        });
        std::fprintf(stderr, "kv_bench: %s txn: %llu retries in %llu transactions\n", lib.c_str(),
                     static_cast<unsigned long long>(retries.load()),
                     static_cast<unsigned long long>(c.num));
      } else {
        std::fprintf(stderr, "kv_bench: unknown workload '%s'\n", w.c_str());
        return 2;
      }
      nlohmann::ordered_json row;
      row["library"] = lib;
      row["workload"] = w;
      row["sync"] = c.sync;
      row["threads"] = c.threads;
      row["num"] = c.num;
      row["ops_per_s"] = r.ops_per_s;
      row["p50_us"] = r.p50;
      row["p99_us"] = r.p99;
      row["db_bytes"] = directory_bytes(dir);
      if (writes) {
        std::uint64_t writes_per_op = w == "txn" ? 2 : 1;
        row["write_amp"] = static_cast<double>(r.bytes_written) /
                           static_cast<double>(c.num * writes_per_op * (c.key_size + c.value_size));
      } else {
        row["write_amp"] = nullptr;
      }
      if (lib == "sochdb") sochdb_ops[w] = r.ops_per_s;
      auto it = sochdb_ops.find(w);
      if (it != sochdb_ops.end() && it->second > 0) {
        row["vs_sochdb"] = r.ops_per_s / it->second;
      }
      // The JSON line carries exactly the contract's fields; the ratio is for the table.
      nlohmann::ordered_json line = row;
      line.erase("vs_sochdb");
      std::cout << line.dump() << "\n" << std::flush;
      rows.push_back(row);
    }
    db->close();
  }
  // The table, sorted by workload so each library sits beside sochdb.
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return a["workload"].template get<std::string>() < b["workload"].template get<std::string>();
  });
  std::vector<std::vector<std::string>> cells;
  std::vector<std::size_t> width;
  for (auto& col : cols) width.push_back(col.size());
  for (auto& r : rows) {
    std::vector<std::string> line;
    for (std::size_t i = 0; i < cols.size(); ++i) {
      line.push_back(
          reporter::format_cell(r.contains(cols[i]) ? r[cols[i]] : nlohmann::ordered_json()));
      width[i] = std::max(width[i], line.back().size());
    }
    cells.push_back(std::move(line));
  }
  auto print_line = [&](const std::vector<std::string>& l) {
    for (std::size_t i = 0; i < l.size(); ++i) {
      std::cout << (i ? "  " : "") << l[i] << std::string(width[i] - l[i].size(), ' ');
    }
    std::cout << "\n";
  };
  std::cout << "\n";
  print_line(cols);
  for (auto& l : cells) print_line(l);
  std::cout << "(vs_sochdb: the library's ops/s divided by sochdb's in this run; > 1 means faster "
               "than sochdb)\n";
  return 0;
}
