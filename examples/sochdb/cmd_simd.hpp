// sochdb simd — which distance kernels this binary runs on this CPU.
#pragma once

#include "cli.hpp"

#include <sochdb/simd.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace sochdb_cli {

inline int cmd_simd(context& ctx, const std::vector<std::string>& args) {
  arg_parser p("simd", args);
  p.value("--isa");
  p.parse().expect_positionals(0, 0, "no positional arguments");
  namespace simd = sochdb::simd;
  const simd::kernel_table* table = &simd::best_kernels();
  if (auto name = p.get("--isa")) {
    bool known = false;
    for (simd::isa i : simd::isa_preference) {
      if (simd::isa_name(i) == *name) {
        known = true;
        table = simd::kernels_for(i);
        if (table == nullptr) {
          throw command_failed("simd: ISA '" + *name +
                               "' is not available in this binary on this CPU");
        }
      }
    }
    if (!known)
      throw usage_error("simd: unknown ISA '" + *name +
                        "' (avx512-vnni, avx512, avx2, sse4.2, sse2, neon, scalar)");
  }
  std::vector<std::string> avail;
  for (simd::isa i : simd::available_isas()) avail.emplace_back(simd::isa_name(i));
  // A self-check of the chosen table against the scalar one: 1000 random pairs, d = 1..999.
  std::uint64_t x = 88172645463325252ull;
  auto rnd = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return static_cast<float>(static_cast<double>(x >> 11) * 0x1.0p-53 * 2.0 - 1.0);
  };
  std::vector<float> a(1000), b(1000);
  for (auto& v : a) v = rnd();
  for (auto& v : b) v = rnd();
  double worst = 0;
  for (std::size_t d = 1; d < 1000; ++d) {
    const double want = simd::scalar_kernels().l2sq_f32(a.data(), b.data(), d);
    const double got = table->l2sq_f32(a.data(), b.data(), d);
    worst = std::max(worst, std::abs(got - want) / (want + 1e-30));
  }
  const bool ok = worst < 1e-4;
  const std::string isa(simd::isa_name(table->id));
  if (ctx.format == output_format::json) {
    ctx.out << "{\"isa\":\"" << isa
            << "\",\"runtime_dispatch\":" << (simd::runtime_dispatch ? "true" : "false")
            << ",\"available\":[";
    for (std::size_t i = 0; i < avail.size(); ++i)
      ctx.out << (i ? "," : "") << "\"" << avail[i] << "\"";
    ctx.out << "],\"self_check\":\"" << (ok ? "ok" : "FAILED") << "\"}\n";
  } else {
    ctx.out << "isa: " << isa
            << "\nruntime_dispatch: " << (simd::runtime_dispatch ? "true" : "false")
            << "\navailable[" << avail.size() << "]: ";
    for (std::size_t i = 0; i < avail.size(); ++i) ctx.out << (i ? "," : "") << avail[i];
    ctx.out << "\nself_check: " << (ok ? "ok" : "FAILED") << "\n";
  }
  if (!ok) throw command_failed("simd: the " + isa + " kernels disagree with the scalar reference");
  return 0;
}

inline std::vector<command> simd_commands() {
  return {
      {"simd", "show the SIMD instruction set the distance kernels use",
       "usage: sochdb simd [--isa NAME]\n\n"
       "Prints the instruction set whose distance kernels this binary uses on this CPU (the best\n"
       "one available: avx512-vnni, avx512, avx2, sse4.2, sse2, neon or scalar), whether the\n"
       "binary dispatches at run time, every ISA it can run here, and the result of a quick\n"
       "self-check of the kernels against the scalar reference.\n\n"
       "options:\n"
       "  --isa NAME   check NAME instead of the best ISA (exit 1 if not available here)\n\n"
       "example:\n"
       "  sochdb simd\n"
       "  sochdb --format json simd --isa avx2\n",
       cmd_simd},
  };
}

}  // namespace sochdb_cli
