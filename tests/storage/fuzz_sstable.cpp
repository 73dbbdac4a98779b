// libFuzzer target: a whole SSTable file of arbitrary bytes.
//
// The input is written as an .sst file and opened with sst_reader (footer, meta index, filter,
// stats, index), then scanned both ways and probed with point reads. Opening and reading must
// either succeed or throw sochdb::corruption / unsupported, never crash.
#include <sochdb/storage.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  sochdb::memory_fs fs;
  fs.create_directories("/t");
  sochdb::write_file(fs, "/t/000001.sst", in);
  sochdb::block_cache cache(1 << 16);
  for (bool mmap : {false, true}) {
    try {
      sochdb::sst_reader<sochdb::memory_fs, sochdb::lz4>::open_args a;
      a.number = 1;
      a.cache = &cache;
      a.use_mmap = mmap;
      auto r = sochdb::sst_reader<sochdb::memory_fs, sochdb::lz4>::open(fs, "/t/000001.sst",
                                                                        "fuzz.sst", a);
      sochdb::sst_iterator<sochdb::sst_reader<sochdb::memory_fs, sochdb::lz4>> it(r.get());
      int n = 0;
      std::string last;
      for (it.seek_to_first(); it.valid() && n < 100000; it.next(), ++n) last = it.key();
      for (it.seek_to_last(); it.valid() && n < 200000; it.prev()) ++n;
      std::string out;
      std::string uk = last.size() >= 9 ? std::string(sochdb::user_key_of(last)) : "k";
      (void)r->get(sochdb::lookup_key(uk, sochdb::max_timestamp), uk, sochdb::bloom_hash(uk), 0,
                   out);
      (void)r->newest_ts(uk, sochdb::bloom_hash(uk));
    } catch (const sochdb::corruption&) {
    } catch (const sochdb::unsupported&) {
    }
  }
  return 0;
}
