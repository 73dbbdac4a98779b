// libFuzzer target: the vector index loaders on arbitrary bytes. Every input must either load
// (and then answer a search and a save round trip) or throw a sochdb::error — never crash, hang
// or allocate more than the input justifies. The input is written to a memory_fs file and read
// by flat_index::load, hnsw_index::load and hnsw_index::open_mapped (float and SQ8), and
// vamana_index::load / open.
#include <sochdb/core/memory_fs.hpp>
#include <sochdb/vector.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace vec = sochdb::vector;

template <class Index>
void exercise(sochdb::memory_fs& fs, bool mapped) {
  try {
    Index idx = [&] {
      if constexpr (requires { Index::open_mapped(fs, "/f/x.idx"); }) {
        return mapped ? Index::open_mapped(fs, "/f/x.idx") : Index::load(fs, "/f/x.idx");
      } else if constexpr (requires { Index::open(fs, "/f/x.idx"); }) {
        return mapped ? Index::open(fs, "/f/x.idx") : Index::load(fs, "/f/x.idx");
      } else {
        return Index::load(fs, "/f/x.idx");
      }
    }();
    std::vector<float> q(idx.dimension(), 0.25f);
    (void)idx.search(q, 5);
    (void)idx.search(q, 5, {.ef = 8}, [](vec::label_t l) { return l % 3 == 0; });
    idx.save(fs, "/f/y.idx");
  } catch (const sochdb::error&) {
  }
}

void all(sochdb::memory_fs& fs) {
  exercise<vec::flat_index<>>(fs, false);
  exercise<vec::hnsw_index<>>(fs, false);
  exercise<vec::hnsw_index<>>(fs, true);
  exercise<vec::hnsw_index<sochdb::simd::l2<>, vec::sq8>>(fs, false);
  exercise<vec::vamana_index<>>(fs, false);
  exercise<vec::vamana_index<>>(fs, true);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  sochdb::memory_fs fs;
  fs.create_directories("/f");
  sochdb::write_file(fs, "/f/x.idx", bytes);
  all(fs);
  // The same bytes with every checksum recomputed, so mutations reach the structural checks.
  if (size >= 580) {
    std::string fixed(bytes);
    const std::uint32_t count = sochdb::decode_fixed32(fixed.data() + 12);
    if (count <= 16) {
      for (std::uint32_t i = 0; i < count; ++i) {
        char* e = fixed.data() + 32 + 32 * i;
        const std::uint64_t off = sochdb::decode_fixed64(e + 8),
                            len = sochdb::decode_fixed64(e + 16);
        if (off <= fixed.size() && len <= fixed.size() - off)
          sochdb::encode_fixed32(e + 24,
                                 sochdb::checksum32(std::string_view(fixed).substr(off, len)));
      }
      sochdb::encode_fixed64(fixed.data() + 16, fixed.size());
      sochdb::encode_fixed32(fixed.data() + 572,
                             sochdb::checksum32(std::string_view(fixed).substr(0, 572)));
      sochdb::write_file(fs, "/f/x.idx", fixed);
      all(fs);
    }
  }
  return 0;
}
