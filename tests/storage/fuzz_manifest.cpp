// libFuzzer target: the manifest decoder and LSM recovery on arbitrary manifest bytes.
//
// The input is decoded as MANIFEST-000001 (header, records, version edits), then placed in a
// database directory named by CURRENT and opened with lsm_storage. Both must either succeed or
// throw sochdb::corruption / unsupported / invalid_argument (a file at a level beyond
// max_levels), never crash or allocate without bound.
#include <sochdb/storage.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  try {
    (void)sochdb::decode_manifest(in, "fuzz manifest", 1);
  } catch (const sochdb::corruption&) {
  } catch (const sochdb::unsupported&) {
  }
  try {
    (void)sochdb::version_edit::decode(in, "fuzz edit", 0);
  } catch (const sochdb::corruption&) {
  }
  sochdb::memory_fs fs;
  fs.create_directories("/db");
  sochdb::write_file(fs, "/db/MANIFEST-000001", in);
  sochdb::write_file(fs, "/db/CURRENT", "MANIFEST-000001\n");
  try {
    auto s = sochdb::lsm_storage<sochdb::memory_fs>::open(fs, "/db", {.auto_checkpoint = false});
    std::string v;
    for (auto c = s->scan(sochdb::scan_spec{}); c.valid(); c.next()) {
      (void)s->get(c.key(), sochdb::max_timestamp, 0, v);
    }
  } catch (const sochdb::corruption&) {
  } catch (const sochdb::unsupported&) {
  } catch (const sochdb::invalid_argument&) {
  }
  return 0;
}
