// libFuzzer target: the Vamana tier manifest of a collection checkpoint (vectors.<generation>
// of alternatives 12-13) on arbitrary bytes, loaded against a real Vamana file and delta. With
// the first byte odd, the input's rest is framed with the magic and a valid checksum so the
// fuzzer reaches the structure checks (file name, tombstones, trailing bytes). It must return
// or throw sochdb::error, never crash or allocate without bound.
#include <sochdb/core/memory_fs.hpp>
#include <sochdb/vector/collection_index.hpp>

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace {
using tier = sochdb::vector::vamana_tier<sochdb::simd::l2<>>;

sochdb::memory_fs& fixture() {
  static sochdb::memory_fs fs = [] {
    sochdb::memory_fs f;
    f.create_directories("/d");
    const std::size_t n = 300, d = 8;
    std::mt19937 rng(1);
    std::normal_distribution<float> nd;
    std::vector<float> x(n * d);
    for (auto& v : x) v = nd(rng);
    std::vector<sochdb::vector::label_t> labels(n);
    for (std::size_t i = 0; i < n; ++i) labels[i] = i;
    sochdb::vector::vamana_index<sochdb::simd::l2<>>::write_built(
        f, "/d/vamana.1.idx", {.dimension = d, .r = 16, .l_build = 32, .build_threads = 1},
        x.data(), labels.data(), n,
        sochdb::vector::default_vamana_pq(d, sochdb::simd::metric_kind::l2));
    sochdb::vector::hnsw_index<sochdb::simd::l2<>> delta({.dimension = d});
    delta.save(f, "/d/vectors.1.delta");
    return f;
  }();
  return fs;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& fs = fixture();
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (size > 0 && (data[0] & 1)) {
    bytes = "SOCHVTIR" + bytes.substr(1);
    sochdb::put_fixed32(bytes, sochdb::checksum32(bytes));
  }
  sochdb::write_file(fs, "/d/vectors.1", bytes, false);
  try {
    auto t = tier::load(fs, "/d/vectors.1");
    (void)t.size();
  } catch (const sochdb::error&) {
  }
  return 0;
}
