// sochdb/storage/block_cache.hpp — a sharded LRU cache of decoded SSTable blocks.
//
// Blocks are cached decompressed, keyed by (file number, block offset): file numbers are never
// reused within a database, so an entry can never be confused with a block of another file,
// and the blocks of a deleted file simply age out. The capacity (bytes of block data plus a
// small per-entry charge) is split evenly over 2^shard_bits shards chosen by the key's hash;
// each shard is a hash map plus an intrusive list under its own mutex, so concurrent readers
// rarely meet. Replacement is second-chance (CLOCK, an approximation of LRU): a hit only marks
// its entry referenced — it does not relink it, which would touch two more list neighbours,
// each likely a cache miss, on every read — and eviction takes from the cold end of the list,
// moving referenced entries back to the hot end with their mark cleared. Entries are
// shared_ptrs: an evicted block stays alive while an iterator still reads it.
//
// Thread safety: every member from any thread.
#pragma once

#include <sochdb/core/checksum.hpp>
#include <sochdb/storage/sst_block.hpp>

#include <tsl/robin_map.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

SOCHDB_BEGIN_NAMESPACE

/// Counters of a block_cache.
struct block_cache_stats {
  std::uint64_t capacity = 0;  ///< bytes
  std::uint64_t usage = 0;     ///< bytes charged now
  std::uint64_t entries = 0;
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t inserts = 0;
  std::uint64_t evictions = 0;
  [[nodiscard]] double hit_rate() const noexcept {
    auto n = hits + misses;
    return n == 0 ? 0.0 : static_cast<double>(hits) / static_cast<double>(n);
  }
};

class block_cache {
  struct key {
    std::uint64_t file;
    std::uint64_t offset;
    bool operator==(const key&) const = default;
  };
  struct key_hash {
    std::size_t operator()(const key& k) const noexcept {
      // A cheap mix (fmix64 of MurmurHash3's finalizer) of both words.
      std::uint64_t h = k.file * 0x9E3779B97F4A7C15ull ^ k.offset;
      h ^= h >> 33;
      h *= 0xff51afd7ed558ccdull;
      h ^= h >> 33;
      h *= 0xc4ceb9fe1a85ec53ull;
      h ^= h >> 33;
      return static_cast<std::size_t>(h);
    }
  };
  // The list node of an entry (its place in replacement order). The block and the reference
  // mark live in the map's slot, so a hit reads only the slot, not the node.
  struct node {
    key k;
    std::size_t charge;
    node* prev;
    node* next;
  };
  struct slot {
    block_ptr value;
    node* n;
    bool referenced;  // hit since it was inserted or last given a second chance
  };
  struct alignas(64) shard {
    std::mutex mu;
    tsl::robin_map<key, slot, key_hash> map;
    node head{{0, 0}, 0, nullptr, nullptr};  // circular list; head.next = most recent
    std::size_t capacity = 0;
    std::size_t usage = 0;
    std::uint64_t hits = 0, misses = 0, inserts = 0, evictions = 0;
    shard() { head.prev = head.next = &head; }
    ~shard() {
      for (auto& [k, e] : map) delete e.n;
    }
    void unlink(node* n) noexcept {
      n->prev->next = n->next;
      n->next->prev = n->prev;
    }
    void push_front(node* n) noexcept {
      n->next = head.next;
      n->prev = &head;
      head.next->prev = n;
      head.next = n;
    }
  };

 public:
  /// Per-entry bookkeeping charged on top of the block bytes.
  static constexpr std::size_t entry_overhead = 96;

  /// `capacity` bytes in total (0 disables caching); 2^shard_bits shards.
  explicit block_cache(std::size_t capacity, int shard_bits = 4)
      : shards_(std::size_t{1} << shard_bits), shard_mask_((std::size_t{1} << shard_bits) - 1) {
    capacity_ = capacity;
    for (auto& s : shards_) s.capacity = capacity / shards_.size();
  }
  block_cache(const block_cache&) = delete;
  block_cache& operator=(const block_cache&) = delete;

  /// The cached block, or nullptr (counted as a miss).
  block_ptr lookup(std::uint64_t file, std::uint64_t offset) {
    if (capacity_ == 0) return nullptr;
    key k{file, offset};
    std::size_t h = key_hash{}(k);
    shard& s = shards_[h & shard_mask_];
    std::lock_guard lk(s.mu);
    auto it = s.map.find(k, h);
    if (it == s.map.end()) {
      ++s.misses;
      return nullptr;
    }
    if (!it->second.referenced) it.value().referenced = true;  // no store when already set
    ++s.hits;
    return it->second.value;
  }

  /// Caches `b` under (file, offset), evicting least recently used blocks to make room. A block
  /// larger than a shard's capacity is not cached.
  void insert(std::uint64_t file, std::uint64_t offset, block_ptr b) {
    if (capacity_ == 0 || !b) return;
    key k{file, offset};
    std::size_t h = key_hash{}(k);
    shard& s = shards_[h & shard_mask_];
    std::size_t charge = b->data.size() + entry_overhead;
    if (charge > s.capacity) return;
    std::lock_guard lk(s.mu);
    auto it = s.map.find(k, h);
    if (it != s.map.end()) {  // a concurrent reader cached it first
      it.value().referenced = true;
      return;
    }
    while (s.usage + charge > s.capacity && s.head.prev != &s.head) {
      node* victim = s.head.prev;
      s.unlink(victim);
      auto vit = s.map.find(victim->k);
      if (vit->second.referenced) {  // second chance: back to the hot end, unmarked
        vit.value().referenced = false;
        s.push_front(victim);
        continue;
      }
      s.map.erase(vit);
      s.usage -= victim->charge;
      ++s.evictions;
      delete victim;
    }
    auto* n = new node{k, charge, nullptr, nullptr};
    s.map.insert({k, slot{std::move(b), n, false}});
    s.push_front(n);
    s.usage += charge;
    ++s.inserts;
  }

  [[nodiscard]] block_cache_stats stats() {
    block_cache_stats st;
    st.capacity = capacity_;
    for (auto& s : shards_) {
      std::lock_guard lk(s.mu);
      st.usage += s.usage;
      st.entries += s.map.size();
      st.hits += s.hits;
      st.misses += s.misses;
      st.inserts += s.inserts;
      st.evictions += s.evictions;
    }
    return st;
  }

  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

 private:
  std::vector<shard> shards_;
  std::size_t shard_mask_;
  std::size_t capacity_ = 0;
};

SOCHDB_END_NAMESPACE
