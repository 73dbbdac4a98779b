// libFuzzer target: the WAL record decoder and recovery on arbitrary segment bytes.
//
// The input is taken as the contents of WAL segment 000001.log. The decoder must never read
// out of bounds, loop forever or allocate without bound; recovery (wal_storage::open on a
// memory_fs) must either succeed or throw sochdb::corruption, never crash; and whatever it
// recovers must be readable.
#include <sochdb/storage.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // 1. The raw decoder over the whole input.
  (void)sochdb::check_wal_file_header(in, sochdb::wal_magic, nullptr);
  std::size_t pos = 0;
  sochdb::wal_record r;
  while (pos < in.size()) {
    auto st = sochdb::decode_wal_record(in, pos, r);
    if (st != sochdb::wal_decode_status::ok) {
      pos = sochdb::find_next_valid_record(in, pos).offset;
      continue;
    }
    pos += r.size;
  }
  // 2. Recovery of a directory holding this segment, strict and lenient.
  for (bool skip : {false, true}) {
    sochdb::memory_fs fs;
    fs.create_directories("/db");
    sochdb::write_file(fs, "/db/000001.log", in);
    try {
      auto s = sochdb::wal_storage<sochdb::memory_fs>::open(
          fs, "/db", {.auto_checkpoint = false, .skip_corrupt_records = skip});
      std::string v;
      for (auto c = s->scan(sochdb::scan_spec{}); c.valid(); c.next()) {
        (void)s->get(c.key(), sochdb::max_timestamp, 0, v);
      }
    } catch (const sochdb::corruption&) {
    }
  }
  return 0;
}
