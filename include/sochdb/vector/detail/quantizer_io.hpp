// sochdb/vector/detail/quantizer_io.hpp — the envelope shared by every quantizer's bytes
// (docs/formats/quantizers.md): magic, version, kind, metric, dimension, payload, checksum.
#pragma once

#include <sochdb/core/checksum.hpp>
#include <sochdb/core/coding.hpp>
#include <sochdb/core/error.hpp>
#include <sochdb/simd/concepts.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

SOCHDB_BEGIN_NAMESPACE
namespace vector::detail {

// Format constants: part of docs/formats/quantizers.md, do not change.
inline constexpr std::uint32_t quantizer_magic = 0x51424453;  // bytes "SDBQ"
inline constexpr std::uint16_t quantizer_version = 1;
inline constexpr std::size_t quantizer_header_size = 16;  // magic .. payload length
inline constexpr std::size_t quantizer_overhead = 20;     // header + trailing checksum
inline constexpr std::size_t max_quantizer_dimension = 65536;

/// Quantizer kinds as stored (format values).
enum class quantizer_kind : std::uint8_t { none = 0, sq8 = 1, pq = 2 };

constexpr std::string_view to_string(quantizer_kind k) noexcept {
  switch (k) {
    case quantizer_kind::none:
      return "no_quantizer";
    case quantizer_kind::sq8:
      return "sq8";
    case quantizer_kind::pq:
      return "pq";
  }
  return "unknown";
}

/// Metrics a quantizer accepts (hamming and custom metrics have no float quantization).
inline void check_quantizer_metric(simd::metric_kind m, std::string_view who) {
  if (m != simd::metric_kind::l2 && m != simd::metric_kind::inner_product &&
      m != simd::metric_kind::cosine) {
    throw invalid_argument(std::string(who) + ": metric must be l2, inner_product or cosine, got " +
                           std::string(simd::to_string(m)));
  }
}

/// Appends the header; the caller appends `payload_size` bytes and then calls `finish`.
inline std::size_t begin_quantizer(std::string& out, quantizer_kind kind, simd::metric_kind metric,
                                   std::size_t dimension, std::size_t payload_size) {
  const std::size_t start = out.size();
  put_fixed32(out, quantizer_magic);
  put_fixed16(out, quantizer_version);
  out.push_back(static_cast<char>(kind));
  out.push_back(static_cast<char>(metric));
  put_fixed32(out, static_cast<std::uint32_t>(dimension));
  put_fixed32(out, static_cast<std::uint32_t>(payload_size));
  return start;
}

/// Appends the checksum of everything since `start`.
inline void finish_quantizer(std::string& out, std::size_t start) {
  put_fixed32(out, checksum32(std::string_view(out).substr(start)));
}

inline void put_float(std::string& out, float f) {
  put_fixed32(out, std::bit_cast<std::uint32_t>(f));
}

/// A checked header: the payload is a view into the input.
struct quantizer_header {
  simd::metric_kind metric;
  std::size_t dimension;
  std::string_view payload;
  std::size_t payload_offset;
};

inline quantizer_header read_quantizer(std::string_view bytes, std::string_view source,
                                       quantizer_kind expected) {
  byte_reader r(bytes, source);
  if (bytes.size() < quantizer_overhead)
    r.fail("truncated quantizer (" + std::to_string(bytes.size()) + " bytes)");
  // The checksum first: a damaged file is reported as such, not as whatever field it hit.
  const std::uint32_t stored = decode_fixed32(bytes.data() + bytes.size() - 4);
  if (stored != checksum32(bytes.substr(0, bytes.size() - 4))) {
    byte_reader(bytes, source, bytes.size() - 4).fail("quantizer checksum mismatch");
  }
  if (r.fixed32() != quantizer_magic) r.fail("not a sochdb quantizer (bad magic)");
  const std::uint16_t version = r.fixed16();
  if (version != quantizer_version) {
    throw unsupported(std::string(source) + ": quantizer format version " +
                      std::to_string(version) + " (this build reads version " +
                      std::to_string(quantizer_version) + ")");
  }
  const auto kind = static_cast<quantizer_kind>(r.u8());
  if (kind != expected) {
    if (static_cast<std::uint8_t>(kind) > 2)
      r.fail("unknown quantizer kind " + std::to_string(static_cast<int>(kind)));
    throw invalid_argument(std::string(source) + ": expected a " +
                           std::string(to_string(expected)) + " quantizer, found " +
                           std::string(to_string(kind)));
  }
  const auto metric = static_cast<simd::metric_kind>(r.u8());
  if (metric != simd::metric_kind::l2 && metric != simd::metric_kind::inner_product &&
      metric != simd::metric_kind::cosine) {
    r.fail("invalid metric " + std::to_string(static_cast<int>(metric)));
  }
  const std::uint32_t dim = r.fixed32();
  if (dim == 0 || dim > max_quantizer_dimension) r.fail("invalid dimension " + std::to_string(dim));
  const std::uint32_t payload = r.fixed32();
  if (payload != r.remaining() - 4) {
    r.fail("payload length " + std::to_string(payload) + " does not match the " +
           std::to_string(r.remaining() - 4) + " bytes present");
  }
  return {metric, dim, bytes.substr(r.position(), payload), r.position()};
}

/// Reads a float that must be finite.
inline float read_finite(byte_reader& r, const char* what) {
  const float f = std::bit_cast<float>(r.fixed32());
  if (!std::isfinite(f)) r.fail(std::string("non-finite ") + what);
  return f;
}

}  // namespace vector::detail
SOCHDB_END_NAMESPACE
