// sochdb/vector/io.hpp — the benchmark file formats and exact ground truth.
//
// TEXMEX (the SIFT/GIST/Deep1B corpus format of http://corpus-texmex.irisa.fr): every vector is
// a little-endian int32 dimension followed by that many components — float32 in `.fvecs`,
// int32 in `.ivecs` (ground-truth neighbour ids), uint8 in `.bvecs`. IDX (LeCun's MNIST and
// Fashion-MNIST files): a big-endian magic 0x0000 0x08 <rank>, rank big-endian uint32 sizes,
// then uint8 data. Parsers take bytes (so they fuzz and test without files) and name the
// source and offset in every `corruption`; the `read_*` / `write_*` helpers go through a
// file-system policy. Ground truth is the flat index's exact batch search.
//
// Thread-safety: pure functions.
#pragma once

#include <sochdb/core/coding.hpp>
#include <sochdb/core/error.hpp>
#include <sochdb/core/fs.hpp>
#include <sochdb/vector/flat_index.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

SOCHDB_BEGIN_NAMESPACE
namespace vector {

/// Row-major rows x dim values.
template <class T>
struct matrix {
  std::size_t rows = 0;
  std::size_t dim = 0;
  std::vector<T> data;
  const T* row(std::size_t i) const noexcept { return data.data() + i * dim; }
  T* row(std::size_t i) noexcept { return data.data() + i * dim; }
};

namespace detail {

template <class Elem, class Out>
matrix<Out> parse_vecs(std::string_view bytes, std::string_view source, std::size_t max_rows) {
  matrix<Out> m;
  byte_reader r(bytes, source);
  while (!r.empty() && (max_rows == 0 || m.rows < max_rows)) {
    const std::uint32_t d = r.fixed32();
    if (d == 0 || d > 1u << 20) r.fail("invalid dimension " + std::to_string(d));
    if (m.rows == 0) {
      m.dim = d;
      if (max_rows == 0) m.data.reserve(bytes.size() / (4 + d * sizeof(Elem)) * d);
    } else if (d != m.dim) {
      r.fail("dimension " + std::to_string(d) + " differs from the first vector's " +
             std::to_string(m.dim));
    }
    const std::string_view v = r.bytes(static_cast<std::uint64_t>(d) * sizeof(Elem));
    const std::size_t at = m.data.size();
    m.data.resize(at + d);
    for (std::uint32_t j = 0; j < d; ++j) {
      Elem e;
      std::memcpy(&e, v.data() + j * sizeof(Elem), sizeof(Elem));
      m.data[at + j] = static_cast<Out>(e);
    }
    ++m.rows;
  }
  return m;
}

template <class Elem, class In>
std::string encode_vecs(const In* x, std::size_t n, std::size_t d) {
  std::string out;
  out.reserve(n * (4 + d * sizeof(Elem)));
  for (std::size_t i = 0; i < n; ++i) {
    put_fixed32(out, static_cast<std::uint32_t>(d));
    for (std::size_t j = 0; j < d; ++j) {
      const auto e = static_cast<Elem>(x[i * d + j]);
      out.append(reinterpret_cast<const char*>(&e), sizeof(Elem));
    }
  }
  return out;
}

}  // namespace detail

/// .fvecs bytes to floats (at most max_rows rows; 0: all).
inline matrix<float> parse_fvecs(std::string_view bytes, std::string_view source = "fvecs",
                                 std::size_t max_rows = 0) {
  return detail::parse_vecs<float, float>(bytes, source, max_rows);
}
/// .ivecs bytes (ground truth ids).
inline matrix<std::int32_t> parse_ivecs(std::string_view bytes, std::string_view source = "ivecs",
                                        std::size_t max_rows = 0) {
  return detail::parse_vecs<std::int32_t, std::int32_t>(bytes, source, max_rows);
}
/// .bvecs bytes, converted to floats.
inline matrix<float> parse_bvecs(std::string_view bytes, std::string_view source = "bvecs",
                                 std::size_t max_rows = 0) {
  return detail::parse_vecs<std::uint8_t, float>(bytes, source, max_rows);
}

inline std::string encode_fvecs(const float* x, std::size_t n, std::size_t d) {
  return detail::encode_vecs<float>(x, n, d);
}
inline std::string encode_ivecs(const std::int32_t* x, std::size_t n, std::size_t d) {
  return detail::encode_vecs<std::int32_t>(x, n, d);
}
/// Components are rounded to uint8 by truncation; callers pass values in 0..255.
inline std::string encode_bvecs(const std::uint8_t* x, std::size_t n, std::size_t d) {
  return detail::encode_vecs<std::uint8_t>(x, n, d);
}

/// An IDX file's (MNIST / Fashion-MNIST) uint8 data as floats: rows = the first size, dim =
/// the product of the others (a rank-1 file, such as labels, has dim 1).
inline matrix<float> parse_idx(std::string_view bytes, std::string_view source = "idx",
                               std::size_t max_rows = 0) {
  byte_reader r(bytes, source);
  const std::uint32_t magic = r.fixed32_be();
  if ((magic >> 8) != 0x08)
    r.fail("not an IDX file of uint8 data (magic " + std::to_string(magic) + ")");
  const unsigned rank = magic & 0xff;
  if (rank == 0 || rank > 4) r.fail("IDX rank " + std::to_string(rank) + " out of range");
  std::uint64_t rows = r.fixed32_be(), dim = 1;
  for (unsigned i = 1; i < rank; ++i) {
    dim *= r.fixed32_be();
    if (dim > (1u << 24)) r.fail("IDX row size too large");
  }
  if (dim == 0) r.fail("IDX row size 0");
  if (rows * dim > r.remaining())
    r.fail("truncated IDX data (" + std::to_string(rows) + " rows of " + std::to_string(dim) + ")");
  if (max_rows != 0 && rows > max_rows) rows = max_rows;
  matrix<float> m;
  m.rows = static_cast<std::size_t>(rows);
  m.dim = static_cast<std::size_t>(dim);
  const std::string_view v = r.bytes(rows * dim);
  m.data.resize(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) m.data[i] = static_cast<unsigned char>(v[i]);
  return m;
}

template <file_system Fs>
matrix<float> read_fvecs(Fs& fs, const std::string& path, std::size_t max_rows = 0) {
  return parse_fvecs(read_file(fs, path), path, max_rows);
}
template <file_system Fs>
matrix<std::int32_t> read_ivecs(Fs& fs, const std::string& path, std::size_t max_rows = 0) {
  return parse_ivecs(read_file(fs, path), path, max_rows);
}
template <file_system Fs>
matrix<float> read_bvecs(Fs& fs, const std::string& path, std::size_t max_rows = 0) {
  return parse_bvecs(read_file(fs, path), path, max_rows);
}
template <file_system Fs>
matrix<float> read_idx(Fs& fs, const std::string& path, std::size_t max_rows = 0) {
  return parse_idx(read_file(fs, path), path, max_rows);
}
template <file_system Fs>
void write_fvecs(Fs& fs, const std::string& path, const float* x, std::size_t n, std::size_t d) {
  write_file(fs, path, encode_fvecs(x, n, d), true);
}
template <file_system Fs>
void write_ivecs(Fs& fs, const std::string& path, const std::int32_t* x, std::size_t n,
                 std::size_t d) {
  write_file(fs, path, encode_ivecs(x, n, d), true);
}

/// Exact k nearest base rows (their row numbers) for every query, with the flat index.
template <simd::distance_metric Metric = simd::l2<>>
matrix<std::int32_t> ground_truth(const float* base, std::size_t n, const float* queries,
                                  std::size_t nq, std::size_t d, std::size_t k,
                                  std::size_t threads = 0) {
  flat_index<Metric> flat({.dimension = d, .capacity = n});
  std::vector<label_t> labels(n);
  for (std::size_t i = 0; i < n; ++i) labels[i] = i;
  flat.add(base, labels.data(), n);
  const auto res = flat.search_batch(queries, nq, k, threads);
  matrix<std::int32_t> gt;
  gt.rows = nq;
  gt.dim = k;
  gt.data.assign(nq * k, -1);
  for (std::size_t i = 0; i < nq; ++i)
    for (std::size_t j = 0; j < res[i].size(); ++j)
      gt.data[i * k + j] = static_cast<std::int32_t>(res[i][j].label);
  return gt;
}

/// Id-based recall@k: the fraction of the first k ground-truth ids found among `found`.
inline double recall_at_k(const std::vector<neighbor>& found, const std::int32_t* truth,
                          std::size_t k) {
  std::size_t hit = 0;
  for (std::size_t i = 0; i < k; ++i)
    for (const auto& f : found)
      if (static_cast<std::int64_t>(f.label) == truth[i]) {
        ++hit;
        break;
      }
  return k == 0 ? 1.0 : static_cast<double>(hit) / static_cast<double>(k);
}

}  // namespace vector
SOCHDB_END_NAMESPACE
