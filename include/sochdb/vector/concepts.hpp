// sochdb/vector/concepts.hpp — the quantizer policy concept and its per-query distance computer.
//
// A quantizer turns float vectors of a fixed dimension into fixed-size byte codes and computes
// distances against codes. Indexes store codes (contiguous, `code_size()` bytes each) and
// never look inside them. The distance convention is the metric's (simd/concepts.hpp):
// internal distances, smaller is closer — squared L2 for `l2`, -dot for `inner_product`,
// 1 - cos for `cosine` (cosine quantizers normalize every vector they encode and every query).
//
// Requirements, with `Q q` (mutable), `cq` (const), float pointers `x` (dimension() floats
// each), codes `c`:
//  * `cq.dimension()`, `cq.code_size()`, `cq.metric()`, `cq.is_trained()`.
//  * `q.train(x, n)` — learns parameters from n row-major vectors (deterministic: same input,
//    same result). Throws invalid_argument on too few rows.
//  * `cq.encode(x, c)`, `cq.encode(x, n, c)`, `cq.decode(c, x)` — one or n vectors; encode
//    before training throws invalid_argument.
//  * `cq.query(x)` — a `distance_computer` for one query (the asymmetric distance: float query
//    against codes; PQ builds its lookup tables here). It copies what it needs: it stays valid
//    while the quantizer lives and is unchanged, and may be used by one thread at a time.
//  * `cq.symmetric_distance(a, b)` — code against code (graph construction over codes).
//  * `cq.save(out)` appends the versioned, checksummed bytes of docs/formats/quantizers.md;
//    `Q::load(bytes)` reads them back, throwing corruption (naming the source and offset) on
//    any damage and unsupported on a newer format version.
//
// Const member functions may be called from any number of threads at once; train and load
// need exclusive access. The reference model is `sq8` (vector/sq8.hpp); the contract test is
// tests/vector/quantizer_contract_test.cpp.
#pragma once

#include <sochdb/simd/concepts.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

SOCHDB_BEGIN_NAMESPACE
namespace vector {

using simd::metric_kind;

/// A query bound to a quantizer: internal distances from the query to codes.
template <class C>
concept distance_computer = requires(const C& c, const std::uint8_t* code,
                                     const std::uint8_t* const* codes, std::size_t n, float* out) {
  { c(code) }
  noexcept->std::same_as<float>;  // one code
  { c.many(code, n, out) }
  noexcept;  // n codes, code_size() bytes apart
  { c.gather(codes, n, out) }
  noexcept;  // n codes anywhere (graph neighbours)
};

template <class Q>
concept quantizer = std::copy_constructible<Q> &&
    requires(Q& q, const Q& cq, const float* x, float* xo, std::size_t n, std::uint8_t* code,
             const std::uint8_t* ccode, std::string& buf, std::string_view bytes) {
  { cq.dimension() } -> std::same_as<std::size_t>;
  { cq.code_size() } -> std::same_as<std::size_t>;
  { cq.metric() } -> std::same_as<metric_kind>;
  { cq.is_trained() } -> std::same_as<bool>;
  q.train(x, n);
  cq.encode(x, code);
  cq.encode(x, n, code);
  cq.decode(ccode, xo);
  { cq.query(x) } -> distance_computer;
  { cq.symmetric_distance(ccode, ccode) } -> std::same_as<float>;
  cq.save(buf);
  { Q::load(bytes) } -> std::same_as<Q>;
};

}  // namespace vector
SOCHDB_END_NAMESPACE
