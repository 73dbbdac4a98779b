// The code of docs/simd.md, compiled and run in CI (twice: header-only, and linked with the
// sochdb-dispatch library).
#include <sochdb/simd.hpp>

#include <cstdio>
#include <cstdlib>
#include <vector>

static void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "simd_tour: failed: %s\n", what);
    std::exit(1);
  }
}

// A user-written metric: anything that satisfies simd::distance_metric plugs into the indexes.
struct manhattan {
  using value_type = float;
  static constexpr sochdb::simd::metric_kind kind = sochdb::simd::metric_kind::custom;
  float distance(const float* a, const float* b, std::size_t d) const noexcept {
    float s = 0;
    for (std::size_t i = 0; i < d; ++i) s += a[i] > b[i] ? a[i] - b[i] : b[i] - a[i];
    return s;
  }
  void distance_many(const float* q, const float* rows, std::size_t n, std::size_t stride,
                     std::size_t d, float* out) const noexcept {
    for (std::size_t j = 0; j < n; ++j) out[j] = distance(q, rows + j * stride, d);
  }
  void distance_gather(const float* q, const float* const* rows, std::size_t n, std::size_t d,
                       float* out) const noexcept {
    for (std::size_t j = 0; j < n; ++j) out[j] = distance(q, rows[j], d);
  }
  void distance_batch(const float* qs, std::size_t nq, std::size_t q_stride, const float* rows,
                      std::size_t n, std::size_t r_stride, std::size_t d, float* out,
                      std::size_t out_stride) const noexcept {
    for (std::size_t i = 0; i < nq; ++i)
      distance_many(qs + i * q_stride, rows, n, r_stride, d, out + i * out_stride);
  }
  static float to_score(float internal) noexcept { return internal; }
  std::string_view isa_name() const noexcept { return "scalar"; }
};
static_assert(sochdb::simd::distance_metric<manhattan>);

int main() {
  namespace simd = sochdb::simd;
  const std::size_t d = 4;
  std::vector<float> rows = {0, 0, 0, 0,   // row 0
                             1, 2, 2, 0,   // row 1
                             3, 0, 4, 0};  // row 2
  const float q[4] = {0, 0, 0, 0};

  // [metrics]
  simd::l2<> l2;  // kernels for the running CPU, chosen once here
  std::printf("l2 kernels: %s\n", std::string(l2.isa_name()).c_str());
  float internal = l2.distance(q, rows.data() + 4, d);  // squared: 9
  float reported = simd::l2<>::to_score(internal);      // true distance: 3
  expect(internal == 9.f && reported == 3.f, "l2 convention");

  simd::inner_product<> ip;
  expect(ip.distance(rows.data() + 4, rows.data() + 8, d) == -11.f, "-dot internally");
  expect(simd::inner_product<>::to_score(-11.f) == 11.f, "dot reported");
  // [metrics]

  // [hot-path]
  // One-to-many over a contiguous block, and a neighbour list of scattered rows.
  float out[3];
  l2.distance_many(q, rows.data(), 3, d, d, out);  // stride = d floats
  expect(out[0] == 0.f && out[1] == 9.f && out[2] == 25.f, "distance_many");
  const float* neighbours[2] = {rows.data() + 8, rows.data()};
  l2.distance_gather(q, neighbours, 2, d, out);
  expect(out[0] == 25.f && out[1] == 0.f, "distance_gather");
  // In a hot loop the kernel pointer can be hoisted: one indirect call per distance.
  auto kernel = l2.kernel();
  float sum = 0;
  for (std::size_t j = 0; j < 3; ++j) sum += kernel(q, rows.data() + j * d, d);
  expect(sum == 34.f, "hoisted kernel");
  // [hot-path]

  // [dispatch]
  // Which tables this program has on this CPU, best first; a metric can be pinned to one.
  for (simd::isa i : simd::available_isas()) {
    std::printf("available: %s\n", std::string(simd::isa_name(i)).c_str());
  }
  simd::l2<> scalar_l2(simd::scalar_kernels());
  expect(scalar_l2.isa_name() == "scalar", "pinned to scalar");
  expect(simd::cpu_supports(simd::best_kernels().id), "best is supported");
  // [dispatch]

  manhattan m;
  expect(m.distance(q, rows.data() + 4, d) == 5.f, "user metric");
  std::printf("simd_tour: ok (runtime dispatch: %s)\n", simd::runtime_dispatch ? "yes" : "no");
  return 0;
}
