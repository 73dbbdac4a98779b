// sochdb/storage/bloom.hpp — the cache-blocked bloom filter of an SSTable.
//
// One filter per SSTable over its *user* keys (so a read at any snapshot can use it). The
// filter is split into 512-bit blocks (one cache line); a key sets and tests k bits inside one
// block, so a query costs one cache miss however large the filter is ("blocked bloom filter",
// Putze, Sanders and Singler, "Cache-, Hash- and Space-Efficient Bloom Filters", WEA 2007). At
// 10 bits per key and k = 6 the false-positive rate is about 1%, a little above a classic
// bloom filter of the same size (tests/storage/sstable_test.cpp measures it).
//
// Hash and probes (format: do not change; docs/formats/sstable.md "Filter block"):
//   h   = hash64(user_key, seed 0)                   (XXH3-64, core/checksum.hpp)
//   block = ((h >> 32) * num_blocks) >> 32           (multiply-shift range reduction)
//   x_0 = low 32 bits of h; x_i = x_{i-1} * 0x9E3779B9 mod 2^32
//   probe i (1..k) tests bit (x_i >> 23) of the block (the top 9 bits)
// Layout: num_blocks * 64 bytes of bits (bit b of a block is byte b/8, mask 1 << (b%8)), then
// fixed32 num_blocks, u8 k, u8 version (1).
//
// `memtable_filter` is the same blocked filter kept in memory beside a memtable (not a file
// format): bits are set as keys are inserted, so point reads skip a memtable that cannot hold
// the key instead of walking its skiplist.
//
// Thread safety: a bloom_view is immutable (any number of readers); a builder is one thread's.
// A memtable_filter takes one writer and any number of readers (relaxed atomics: a reader that
// must see a key learns of it through the release/acquire that publishes the key's commit).
#pragma once

#include <sochdb/core/checksum.hpp>
#include <sochdb/core/coding.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

SOCHDB_BEGIN_NAMESPACE

/// The hash a bloom filter takes: one per user key, computed once per point read.
inline std::uint64_t bloom_hash(std::string_view user_key) noexcept { return hash64(user_key, 0); }

namespace detail {
inline constexpr std::uint32_t bloom_multiplier = 0x9E3779B9u;  // format constant
inline constexpr std::size_t bloom_block_bytes = 64;            // format constant
inline constexpr std::uint8_t bloom_version = 1;                // format constant

inline std::uint32_t bloom_block_of(std::uint64_t h, std::uint32_t num_blocks) noexcept {
  return static_cast<std::uint32_t>(((h >> 32) * num_blocks) >> 32);
}
}  // namespace detail

/// Collects key hashes and writes the filter block.
class bloom_builder {
 public:
  /// `bits_per_key` in [1, 40] (10 gives ~1% false positives).
  explicit bloom_builder(int bits_per_key = 10) : bits_per_key_(bits_per_key) {
    // k = bits * ln 2 is optimal for a classic filter; blocked filters do a little better with
    // one probe less at ~10 bits/key.
    k_ = static_cast<int>(std::lround(bits_per_key * 0.69)) - (bits_per_key >= 8 ? 1 : 0);
    if (k_ < 1) k_ = 1;
    if (k_ > 24) k_ = 24;
  }

  /// Adds the hash of a user key (bloom_hash). Consecutive duplicates are skipped.
  void add_hash(std::uint64_t h) {
    if (!hashes_.empty() && hashes_.back() == h) return;
    hashes_.push_back(h);
  }
  [[nodiscard]] std::size_t count() const noexcept { return hashes_.size(); }

  /// Appends the filter block to `out`.
  void finish(std::string& out) const {
    std::uint64_t bits =
        static_cast<std::uint64_t>(hashes_.size()) * static_cast<std::uint64_t>(bits_per_key_);
    auto num_blocks = static_cast<std::uint32_t>(std::max<std::uint64_t>(1, (bits + 511) / 512));
    std::size_t base = out.size();
    out.resize(base + num_blocks * detail::bloom_block_bytes, '\0');
    auto* bytes = reinterpret_cast<unsigned char*>(out.data() + base);
    for (std::uint64_t h : hashes_) {
      unsigned char* blk =
          bytes + std::size_t{detail::bloom_block_of(h, num_blocks)} * detail::bloom_block_bytes;
      auto x = static_cast<std::uint32_t>(h);
      for (int i = 0; i < k_; ++i) {
        x *= detail::bloom_multiplier;
        std::uint32_t b = x >> 23;
        blk[b >> 3] |= static_cast<unsigned char>(1u << (b & 7));
      }
    }
    put_fixed32(out, num_blocks);
    out.push_back(static_cast<char>(k_));
    out.push_back(static_cast<char>(detail::bloom_version));
  }

 private:
  int bits_per_key_;
  int k_;
  std::vector<std::uint64_t> hashes_;
};

/// A filter block, read in place.
class bloom_view {
 public:
  bloom_view() = default;

  /// Parses a filter block; returns nullptr-equivalent (valid() false) and sets `error` when the
  /// layout is inconsistent.
  static bloom_view parse(std::string_view block, const char*& error) {
    bloom_view v;
    error = nullptr;
    if (block.size() < 6) {
      error = "filter block too short";
      return v;
    }
    std::uint32_t nb = decode_fixed32(block.data() + block.size() - 6);
    auto k = static_cast<std::uint8_t>(block[block.size() - 2]);
    auto ver = static_cast<std::uint8_t>(block[block.size() - 1]);
    if (ver != detail::bloom_version) {
      error = "unknown filter version";
      return v;
    }
    if (nb == 0 || k == 0 || k > 24 ||
        static_cast<std::uint64_t>(nb) * detail::bloom_block_bytes != block.size() - 6) {
      error = "filter block size does not match its header";
      return v;
    }
    v.bits_ = reinterpret_cast<const unsigned char*>(block.data());
    v.num_blocks_ = nb;
    v.k_ = k;
    return v;
  }

  [[nodiscard]] bool valid() const noexcept { return bits_ != nullptr; }

  /// False when the key is certainly absent; true when it may be present (or there is no
  /// filter).
  [[nodiscard]] bool may_contain(std::uint64_t h) const noexcept {
    if (bits_ == nullptr) return true;
    const unsigned char* blk =
        bits_ + std::size_t{detail::bloom_block_of(h, num_blocks_)} * detail::bloom_block_bytes;
    auto x = static_cast<std::uint32_t>(h);
    for (int i = 0; i < k_; ++i) {
      x *= detail::bloom_multiplier;
      std::uint32_t b = x >> 23;
      if ((blk[b >> 3] & (1u << (b & 7))) == 0) return false;
    }
    return true;
  }

  /// Starts loading the block may_contain(h) reads (a hint: a read path issues it for every
  /// filter it may probe so that their cache misses overlap instead of following each other).
  void prefetch(std::uint64_t h) const noexcept {
    if (bits_ == nullptr) return;
    __builtin_prefetch(bits_ + std::size_t{detail::bloom_block_of(h, num_blocks_)} *
                                   detail::bloom_block_bytes);
  }

 private:
  const unsigned char* bits_ = nullptr;
  std::uint32_t num_blocks_ = 0;
  int k_ = 0;
};

/// A blocked bloom filter that grows no further than its fixed size and is filled while readers
/// query it (a memtable's; see the file comment). The probes are the filter block's; k = 6.
class memtable_filter {
 public:
  /// `bytes` of bits (rounded down to whole 64-byte blocks; 0 = no filter, everything may be
  /// present).
  explicit memtable_filter(std::size_t bytes)
      : num_blocks_(static_cast<std::uint32_t>(
            std::min<std::size_t>(bytes / detail::bloom_block_bytes, 0xffffffffu))),
        words_(std::size_t{num_blocks_} * words_per_block) {}

  [[nodiscard]] bool enabled() const noexcept { return num_blocks_ != 0; }
  [[nodiscard]] std::size_t memory_usage() const noexcept {
    return words_.size() * sizeof(std::uint64_t);
  }

  /// Adds the hash of a user key (bloom_hash). One writer at a time.
  void add(std::uint64_t h) noexcept {
    if (num_blocks_ == 0) return;
    std::atomic<std::uint64_t>* blk = block(h);
    auto x = static_cast<std::uint32_t>(h);
    for (int i = 0; i < k; ++i) {
      x *= detail::bloom_multiplier;
      std::uint32_t b = x >> 23;
      std::uint64_t mask = std::uint64_t{1} << (b & 63);
      auto& w = blk[b >> 6];
      // One writer: a load and a store are enough, and cheaper than a locked fetch_or.
      std::uint64_t cur = w.load(std::memory_order_relaxed);
      if ((cur & mask) == 0) w.store(cur | mask, std::memory_order_relaxed);
    }
  }

  /// False when no key with hash `h` was added.
  [[nodiscard]] bool may_contain(std::uint64_t h) const noexcept {
    if (num_blocks_ == 0) return true;
    const std::atomic<std::uint64_t>* blk = block(h);
    auto x = static_cast<std::uint32_t>(h);
    for (int i = 0; i < k; ++i) {
      x *= detail::bloom_multiplier;
      std::uint32_t b = x >> 23;
      if ((blk[b >> 6].load(std::memory_order_relaxed) & (std::uint64_t{1} << (b & 63))) == 0) {
        return false;
      }
    }
    return true;
  }

  /// Starts loading the block may_contain(h) reads (a hint).
  void prefetch(std::uint64_t h) const noexcept {
    if (num_blocks_ != 0) __builtin_prefetch(block(h));
  }

 private:
  static constexpr int k = 6;
  static constexpr std::size_t words_per_block = detail::bloom_block_bytes / 8;

  std::atomic<std::uint64_t>* block(std::uint64_t h) const noexcept {
    return const_cast<std::atomic<std::uint64_t>*>(words_.data()) +
           std::size_t{detail::bloom_block_of(h, num_blocks_)} * words_per_block;
  }

  std::uint32_t num_blocks_;
  std::vector<std::atomic<std::uint64_t>> words_;
};

SOCHDB_END_NAMESPACE
