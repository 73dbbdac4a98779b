// The code of README.md's "short tour" and docs/core.md, compiled and run in CI.
#include <sochdb/sochdb.hpp>

#include <cstdio>
#include <cstdlib>

// assert() vanishes in release builds; this does not.
static void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "core_tour: failed: %s\n", what);
    std::exit(1);
  }
}

int main() {
  // All storage I/O goes through a file-system policy: posix_fs, memory_fs, or
  // fault_injection_fs, which loses power on command for crash tests.
  sochdb::fault_injection_fs<> fs;  // wraps a memory_fs
  fs.create_directories("/db");
  fs.sync_dir("/");
  sochdb::write_file_atomic(fs, "/db/CURRENT", "MANIFEST-000001\n");  // temp + fsync + rename
  fs.crash_after(sochdb::fault_op::write, 1);  // the next write lands, then power is gone
  {
    auto f = fs.open("/db/CURRENT", sochdb::open_mode::write);
    f.append("garbage");  // never synced
  }
  fs.simulate_power_loss();  // only synced data and entries remain
  expect(sochdb::read_file(fs, "/db/CURRENT") == "MANIFEST-000001\n", "synced file survives");

  // Commit timestamps: a hybrid logical clock (48-bit ms + 16-bit counter), strictly increasing.
  sochdb::hybrid_clock clock;
  std::uint64_t ts = clock.now();
  expect(clock.now() > ts, "clock is monotonic");

  // Checked decoding of untrusted bytes: errors name the source and the offset.
  std::string rec;
  sochdb::put_varint64(rec, 300);
  sochdb::byte_reader r(rec, "wal segment 000001.log");
  std::uint64_t v = r.varint64();
  try {
    r.fixed32();  // nothing left
    expect(false, "truncated input throws");
  } catch (const sochdb::corruption& e) {
    std::printf("%s\n", e.what());  // wal segment 000001.log: truncated fixed32 at offset 2
  }
  std::printf("ts=%llu v=%llu\n", static_cast<unsigned long long>(ts),
              static_cast<unsigned long long>(v));
  return v == 300 ? 0 : 1;
}
