// quickstart — the demo the README runs. It grows as the engines land; today it shows the core
// layer every engine stands on: a durable, checksummed write through the file-system policy,
// verified on read, and hybrid-logical-clock timestamps.
//
// Runs in ./sochdb-demo (or the directory given as the first argument) and can be run again.
#include <sochdb/sochdb.hpp>

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  using namespace sochdb;
  std::string dir = argc > 1 ? argv[1] : "sochdb-demo";
  try {
    posix_fs fs;
    fs.create_directories(dir);
    std::printf("sochdb %s quickstart in ./%s\n\n", version_string, dir.c_str());

    // Commit timestamps: 48-bit milliseconds + 16-bit logical counter, strictly increasing.
    hybrid_clock clock;
    auto t1 = clock.now(), t2 = clock.now();
    std::printf("hybrid clock: %llu then %llu (ms %llu, logical %llu -> %llu)\n",
                static_cast<unsigned long long>(t1), static_cast<unsigned long long>(t2),
                static_cast<unsigned long long>(hybrid_clock::physical_ms(t2)),
                static_cast<unsigned long long>(hybrid_clock::logical(t1)),
                static_cast<unsigned long long>(hybrid_clock::logical(t2)));

    // A record as the storage layer frames it: checksum | length | payload, written atomically
    // (temp file, fsync, rename, fsync directory) so a crash leaves the old or the new file.
    std::string payload = "hello from sochdb at " + std::to_string(t2);
    std::string record;
    put_fixed32(record, checksum32(payload));
    put_varint32(record, static_cast<std::uint32_t>(payload.size()));
    record += payload;
    std::string path = path_join(dir, "hello.rec");
    write_file_atomic(fs, path, record);

    std::string back = read_file(fs, path);
    byte_reader r(back, path);
    std::uint32_t sum = r.fixed32();
    std::string_view got = r.length_prefixed();
    if (checksum32(got) != sum) throw corruption(path + ": checksum mismatch");
    std::printf("durable record: %zu bytes, checksum %08x verified: \"%.*s\"\n", back.size(), sum,
                static_cast<int>(got.size()), got.data());
    std::printf("\ndone.\n");
    return 0;
  } catch (const error& e) {
    std::fprintf(stderr, "quickstart: %s\n", e.what());
    return 1;
  }
}
