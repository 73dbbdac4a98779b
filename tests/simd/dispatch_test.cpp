// Runtime dispatch: the chosen table is one the CPU supports, is the best available, and every
// metric reports it.
#include <doctest/doctest.h>

#include <sochdb/simd.hpp>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_simd_dispatch_test {

namespace simd = sochdb::simd;

TEST_CASE("best_kernels picks the best ISA the CPU supports") {
  const simd::kernel_table& best = simd::best_kernels();
  CHECK(simd::cpu_supports(best.id));
  // Nothing better is both supported and available.
  for (simd::isa i : simd::isa_preference) {
    if (i == best.id) break;
    CHECK_MESSAGE(simd::kernels_for(i) == nullptr, simd::isa_name(i));
  }
  auto av = simd::available_isas();
  REQUIRE(!av.empty());
  CHECK(av.front() == best.id);
  CHECK(av.back() == simd::isa::scalar);
  MESSAGE("runtime dispatch: " << simd::runtime_dispatch << ", best: " << simd::isa_name(best.id));
}

TEST_CASE("cpu_supports agrees with /proc/cpuinfo") {
  std::ifstream in("/proc/cpuinfo");
  std::string line, flags;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) == 0) {
      flags = line + " ";
      break;
    }
  }
  if (flags.empty()) return;  // not Linux x86
  auto has = [&](const char* f) {
    return flags.find(std::string(" ") + f + " ") != std::string::npos;
  };
  CHECK(simd::cpu_supports(simd::isa::avx2) == (has("avx2") && has("fma") && has("popcnt")));
  CHECK(simd::cpu_supports(simd::isa::avx512) ==
        (has("avx2") && has("fma") && has("popcnt") && has("avx512f") && has("avx512bw") &&
         has("avx512dq") && has("avx512vl")));
  CHECK(simd::cpu_supports(simd::isa::avx512_vnni) ==
        (simd::cpu_supports(simd::isa::avx512) && has("avx512_vnni") && has("avx512_vpopcntdq")));
  CHECK_FALSE(simd::cpu_supports(simd::isa::neon));
  CHECK(simd::cpu_supports(simd::isa::scalar));
}

TEST_CASE("metrics hold the dispatched table and report its ISA") {
  simd::l2<> m;
  CHECK(m.isa_name() == simd::isa_name(simd::best_kernels().id));
  CHECK(&m.kernels() == &simd::best_kernels());
  CHECK((m.kernel() == simd::best_kernels().l2sq_f32));
  simd::l2<> s(simd::scalar_kernels());
  CHECK(s.isa_name() == "scalar");
  simd::inner_product<std::int8_t> ip;
  CHECK(ip.isa_name() == m.isa_name());
}

TEST_CASE("isa names") {
  CHECK(simd::isa_name(simd::isa::avx512_vnni) == "avx512-vnni");
  CHECK(simd::isa_name(simd::isa::sse4_2) == "sse4.2");
  CHECK(simd::isa_name(simd::isa::scalar) == "scalar");
}

TEST_CASE("metrics are constructed and used from many threads at once" *
          doctest::test_suite("concurrency")) {
  std::vector<float> a(300), b(300);
  for (std::size_t i = 0; i < a.size(); ++i) {
    a[i] = static_cast<float>(i % 7);
    b[i] = static_cast<float>(i % 5);
  }
  const float want = simd::l2<>().distance(a.data(), b.data(), a.size());
  std::vector<int> ok(4, 0);
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      bool good = true;
      for (int rep = 0; rep < 200; ++rep) {
        simd::l2<> m;  // dispatch (CPU detection) in every thread
        good = good && m.distance(a.data(), b.data(), a.size()) == want &&
               simd::cpu_supports(simd::best_kernels().id);
      }
      ok[static_cast<std::size_t>(t)] = good ? 1 : 0;
    });
  }
  for (auto& t : ts) t.join();
  for (int v : ok) CHECK(v == 1);
}

}  // namespace test_simd_dispatch_test
