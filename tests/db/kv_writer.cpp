// Helper of sigkill_test.py: a process that writes and acknowledges commits until killed, and
// the verifier of what a killed writer left behind.
//
//   kv_writer write DIR RUN        commits forever to the database in DIR (posix_fs, sync
//                                  full); after each commit returns it prints its index on
//                                  stdout (the acknowledgment). Commit i of run R: a put of
//                                  "rR/iI", or every 4th a batch "rR/iI/0..2", every 40th
//                                  followed by a checkpoint.
//   kv_writer verify DIR R:N ...   opens DIR and checks each run R whose writer acknowledged N
//                                  commits (0..N-1): all present, commit N whole or absent,
//                                  nothing after it. Exit 0 when all hold, 1 otherwise.
#include <sochdb/db.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

namespace {
std::string key(const std::string& run, long i) { return "r" + run + "/i" + std::to_string(i); }
bool is_batch(long i) { return i % 4 == 3; }

int write_forever(const std::string& dir, const std::string& run) {
  auto db = sochdb::database::open(dir);
  for (long i = 0;; ++i) {
    std::string k = key(run, i);
    if (is_batch(i)) {
      db.put_batch({{k + "/0", "b"}, {k + "/1", "b"}, {k + "/2", "b"}});
    } else {
      db.put(k, "v" + std::to_string(i));
    }
    std::printf("%ld\n", i);
    std::fflush(stdout);
    if (i % 40 == 39) db.checkpoint();
  }
}

// 2: complete, 0: absent, 1: partial (a torn batch).
int presence(sochdb::database& db, const std::string& run, long i) {
  std::string k = key(run, i);
  if (!is_batch(i)) {
    auto v = db.get(k);
    if (v && *v != "v" + std::to_string(i)) return 1;
    return v ? 2 : 0;
  }
  int n = 0;
  for (int j = 0; j < 3; ++j) n += db.exists(k + "/" + std::to_string(j)) ? 1 : 0;
  return n == 3 ? 2 : n == 0 ? 0 : 1;
}

int verify(const std::string& dir, int argc, char** argv) {
  auto db = sochdb::database::open(dir, {.create_if_missing = false});
  int bad = 0;
  for (int a = 3; a < argc; ++a) {
    std::string spec = argv[a];
    auto colon = spec.find(':');
    std::string run = spec.substr(0, colon);
    long acked = std::stol(spec.substr(colon + 1));
    for (long i = 0; i < acked; ++i) {
      if (presence(db, run, i) != 2) {
        std::cerr << "run " << run << ": acknowledged commit " << i << " is missing or partial\n";
        ++bad;
      }
    }
    if (presence(db, run, acked) == 1) {
      std::cerr << "run " << run << ": unacknowledged commit " << acked << " is half visible\n";
      ++bad;
    }
    for (long i = acked + 1; i < acked + 5; ++i) {
      if (presence(db, run, i) != 0) {
        std::cerr << "run " << run << ": commit " << i << " exists but was never started\n";
        ++bad;
      }
    }
  }
  auto s = db.stats().storage.recovery;
  std::cout << "recovered: " << s.transactions << " transactions from the log, "
            << s.checkpoint_entries << " keys from a checkpoint, " << s.truncated_bytes
            << " tail bytes truncated\n";
  return bad == 0 ? 0 : 1;
}
}  // namespace

int main(int argc, char** argv) {
  try {
    std::string mode = argc > 2 ? argv[1] : "";
    if (mode == "write" && argc == 4) return write_forever(argv[2], argv[3]);
    if (mode == "verify" && argc >= 3) return verify(argv[2], argc, argv);
    std::cerr << "usage: kv_writer write DIR RUN | kv_writer verify DIR RUN:ACKED...\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "kv_writer: " << e.what() << "\n";
    return 1;
  }
}
