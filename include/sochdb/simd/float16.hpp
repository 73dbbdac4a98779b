// sochdb/simd/float16.hpp — IEEE 754 binary16 <-> binary32 conversion in portable C++.
//
// Half-precision storage halves the memory of float vectors; the kernels read it with the
// hardware conversion (F16C, AVX-512) where the table's ISA has one. These scalar conversions
// are exact in the half -> float direction and round to nearest-even in the float -> half
// direction (overflow to infinity, NaN kept a quiet NaN), matching the hardware instructions
// (`vcvtps2ph` with rounding mode 0). Pure functions, thread-safe.
#pragma once

#include <sochdb/version.hpp>

#include <bit>
#include <cstddef>
#include <cstdint>

SOCHDB_BEGIN_NAMESPACE
namespace simd {

/// The float value of the binary16 bits `h` (exact).
constexpr float half_to_float(std::uint16_t h) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu;
  std::uint32_t mant = h & 0x3ffu;
  std::uint32_t bits = 0;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);  // inf or NaN (payload kept)
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);  // normal: rebias 15 -> 127
  } else if (mant == 0) {
    bits = sign;  // signed zero
  } else {
    // Subnormal half: normalize. Value = mant * 2^-24.
    std::uint32_t e = 113;  // exponent field of 2^-14 (127 - 14)
    while ((mant & 0x400u) == 0) {
      mant <<= 1;
      --e;
    }
    bits = sign | (e << 23) | ((mant & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(bits);
}

/// The binary16 bits nearest to `f` (round to nearest, ties to even).
constexpr std::uint16_t float_to_half(float f) noexcept {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  const std::uint16_t sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
  const std::uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // inf or NaN
    return static_cast<std::uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  }
  if (abs >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // rounds past max
  if (abs < 0x38800000u) {
    // Result is subnormal or zero: value / 2^-24, rounded to nearest even.
    if (abs < 0x33000000u) return sign;  // below half the smallest subnormal
    const std::uint32_t e = abs >> 23;
    const std::uint32_t m = (abs & 0x7fffffu) | 0x800000u;
    const std::uint32_t shift = 126 - e;  // 14 + (113 - e) - ... : m * 2^(e-150) / 2^-24
    std::uint32_t r = m >> shift;
    const std::uint32_t rem = m & ((1u << shift) - 1);
    const std::uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (r & 1u))) ++r;
    return static_cast<std::uint16_t>(sign | r);
  }
  // Normal: rebias 127 -> 15, keep 10 mantissa bits, round to nearest even (a carry into the
  // exponent is the correct result).
  std::uint32_t r = ((abs - 0x38000000u) >> 13);
  const std::uint32_t rem = abs & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) ++r;
  return static_cast<std::uint16_t>(sign | r);
}

/// Converts n floats to binary16.
inline void floats_to_halves(const float* in, std::size_t n, std::uint16_t* out) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = float_to_half(in[i]);
}

/// Converts n binary16 values to float.
inline void halves_to_floats(const std::uint16_t* in, std::size_t n, float* out) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = half_to_float(in[i]);
}

}  // namespace simd
SOCHDB_END_NAMESPACE
