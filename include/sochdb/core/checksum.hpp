// sochdb/core/checksum.hpp — the one checksum and the one hash.
//
// Every on-disk record and block is protected by `checksum32`: the low 32 bits of XXH3-64 over
// the bytes (seed 0). Part of every file format: do not change. `hash64` is XXH3-64 with a
// caller-chosen seed, used for bloom filters, sharding and feature hashing. Both are
// deterministic across platforms and runs.
#pragma once

#include <sochdb/version.hpp>

// The state struct of the streaming API is only defined with XXH_STATIC_LINKING_ONLY.
#ifndef XXH_STATIC_LINKING_ONLY
#define XXH_STATIC_LINKING_ONLY
#endif
#include <xxhash.h>

#include <cstdint>
#include <string_view>

SOCHDB_BEGIN_NAMESPACE

/// XXH3-64 of `data` with `seed`.
inline std::uint64_t hash64(std::string_view data, std::uint64_t seed = 0) noexcept {
  return XXH3_64bits_withSeed(data.data(), data.size(), seed);
}

/// The checksum stored with records and blocks: low 32 bits of XXH3-64 (seed 0).
inline std::uint32_t checksum32(std::string_view data) noexcept {
  return static_cast<std::uint32_t>(XXH3_64bits(data.data(), data.size()));
}

/// Streaming form of `checksum32` for data in several pieces:
/// `checksum_builder{}.update(a).update(b).value() == checksum32(a + b)`.
class checksum_builder {
 public:
  checksum_builder() noexcept { XXH3_64bits_reset(&state_); }
  checksum_builder& update(std::string_view data) noexcept {
    XXH3_64bits_update(&state_, data.data(), data.size());
    return *this;
  }
  [[nodiscard]] std::uint32_t value() const noexcept {
    return static_cast<std::uint32_t>(XXH3_64bits_digest(&state_));
  }

 private:
  XXH3_state_t state_;
};

SOCHDB_END_NAMESPACE
