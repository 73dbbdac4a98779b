// sochdb/storage/memtable.hpp — the in-memory sorted table of versions: a skiplist in an arena.
//
// Entries are (internal key, stored value) pairs (internal_key.hpp) ordered by
// `compare_internal_keys`, so the versions of a user key sit together, newest first. Nodes live
// in an arena and are never freed or modified before the whole memtable is destroyed; the only
// mutation is linking a new node in, level by level, bottom up, each link published with a
// release store. A reader that follows links with acquire loads therefore always sees fully
// initialized nodes, and needs no lock (Pugh, "Skip Lists: A Probabilistic Alternative to
// Balanced Trees", CACM 1990; the concurrent-reader discipline is LevelDB's).
//
// Thread safety: one writer at a time (`insert`, `append_sorted`: the caller serializes them, in
// sochdb the commit leader); any number of concurrent readers (iterators, stats). A second
// version of a key with the same timestamp is refused (insert returns false), which is how a
// batch naming one key twice keeps only its last operation. Iterators stay valid as long as the
// memtable lives.
#pragma once

#include <sochdb/core/arena.hpp>
#include <sochdb/storage/bloom.hpp>
#include <sochdb/storage/internal_key.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <vector>

SOCHDB_BEGIN_NAMESPACE

namespace detail {
/// A zeroed array of atomic words for a hash index probed at random: large ones are backed by
/// transparent huge pages where Linux offers them (one TLB entry per 2 MiB instead of 512),
/// which halves the cost of a probe that misses the cache.
class slot_array {
 public:
  slot_array() = default;
  explicit slot_array(std::size_t n) : n_(n) {
    constexpr std::size_t huge = arena::huge_page_size;
    std::size_t bytes = n * sizeof(std::atomic<std::uint64_t>);
    std::size_t align = bytes >= huge ? huge : alignof(std::atomic<std::uint64_t>);
    bytes = (bytes + align - 1) / align * align;
    void* p = ::operator new (bytes, std::align_val_t{align});
    if (align == huge) arena::advise_huge_pages(p, bytes);
    p_ = static_cast<std::atomic<std::uint64_t>*>(p);
    align_ = align;
    for (std::size_t i = 0; i < n; ++i) ::new (p_ + i) std::atomic<std::uint64_t>(0);
  }
  slot_array(const slot_array&) = delete;
  slot_array& operator=(const slot_array&) = delete;
  slot_array& operator=(slot_array&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    std::swap(align_, o.align_);
    return *this;
  }
  ~slot_array() {
    if (p_ != nullptr) ::operator delete (p_, std::align_val_t{align_});
  }
  [[nodiscard]] std::size_t size() const noexcept { return n_; }
  std::atomic<std::uint64_t>& operator[](std::size_t i) const noexcept { return p_[i]; }

 private:
  std::atomic<std::uint64_t>* p_ = nullptr;
  std::size_t n_ = 0;
  std::size_t align_ = alignof(std::atomic<std::uint64_t>);
};
}  // namespace detail

class memtable {
  using slot_array = detail::slot_array;

  static constexpr int max_height = 12;
  static constexpr unsigned branching = 4;  // 1 in 4 nodes reach the next level

  // Layout in the arena: node header, `height` link words, key bytes, value bytes.
  struct node {
    std::uint32_t key_size;
    std::uint32_t value_size;
    std::uint32_t height;

    std::atomic<node*>* links() noexcept {
      return reinterpret_cast<std::atomic<node*>*>(reinterpret_cast<char*>(this) + header_size);
    }
    node* next(int level) noexcept { return links()[level].load(std::memory_order_acquire); }
    void set_next(int level, node* n) noexcept {
      links()[level].store(n, std::memory_order_release);
    }
    const char* data() noexcept { return reinterpret_cast<const char*>(links() + height); }
    std::string_view key() noexcept { return {data(), key_size}; }
    std::string_view value() noexcept { return {data() + key_size, value_size}; }
  };
  static constexpr std::size_t header_size = (sizeof(node) + alignof(std::atomic<node*>) - 1) /
                                             alignof(std::atomic<node*>) *
                                             alignof(std::atomic<node*>);

 public:
  /// `filter_bytes` > 0 keeps a bloom filter of the user keys (may_contain) of that size.
  /// `point_slots` > 0 keeps a hash index from each user key to its newest version
  /// (begin_point_lookup), with that many slots rounded up to a power of two; it switches itself
  /// off, for good, once more than 70% of the slots are used.
  explicit memtable(std::size_t arena_block = 1 << 20, std::size_t filter_bytes = 0,
                    std::size_t point_slots = 0)
      : arena_(arena_block), filter_(filter_bytes) {
    if (point_slots != 0) {
      std::size_t n = std::bit_ceil(std::max<std::size_t>(point_slots, 16));
      slots_ = slot_array(n);
      slot_mask_ = n - 1;
      slot_shift_ = 64 - std::countr_zero(n);
      index_ok_.store(true, std::memory_order_relaxed);
    }
    head_ = new_node(max_height, {}, {});
    for (int i = 0; i < max_height; ++i) tail_[static_cast<std::size_t>(i)] = head_;
  }
  memtable(const memtable&) = delete;
  memtable& operator=(const memtable&) = delete;

  /// Inserts a version; returns false (and changes nothing) when a version of the same user
  /// key with the same timestamp is present, whatever its kind. Writer only.
  bool insert(std::string_view ikey, std::string_view stored_value) {
    std::array<node*, max_height> prev{};
    node* at = find_greater_or_equal(ikey, prev.data());
    if (at != nullptr && same_version(at->key(), ikey)) return false;
    if (prev[0] != head_ && same_version(prev[0]->key(), ikey)) return false;
    int h = random_height();
    int cur = height_.load(std::memory_order_relaxed);
    if (h > cur) {
      for (int i = cur; i < h; ++i) prev[static_cast<std::size_t>(i)] = head_;
      // Readers that see the new height before the links find nullptr from head_ at the new
      // levels and simply drop a level: harmless.
      height_.store(h, std::memory_order_relaxed);
    }
    node* n = new_node(h, ikey, stored_value);
    std::uint64_t kh = key_hash(user_key_of(ikey));
    if (filter_.enabled()) filter_.add(kh);
    for (int i = 0; i < h; ++i) {
      auto* p = prev[static_cast<std::size_t>(i)];
      n->links()[i].store(p->next(i), std::memory_order_relaxed);
      p->set_next(i, n);
    }
    index_put(n, kh);
    account(ikey, stored_value);
    return true;
  }

  /// Appends a version greater than every key present (building a table from sorted input in
  /// O(1) per entry). Writer only; only before any insert() on the table.
  void append_sorted(std::string_view ikey, std::string_view stored_value) {
    int h = random_height();
    if (h > height_.load(std::memory_order_relaxed)) height_.store(h, std::memory_order_relaxed);
    node* n = new_node(h, ikey, stored_value);
    std::uint64_t kh = key_hash(user_key_of(ikey));
    if (filter_.enabled()) filter_.add(kh);
    for (int i = 0; i < h; ++i) {
      n->links()[i].store(nullptr, std::memory_order_relaxed);
      tail_[static_cast<std::size_t>(i)]->set_next(i, n);
      tail_[static_cast<std::size_t>(i)] = n;
    }
    index_put(n, kh);
    account(ikey, stored_value);
  }

  /// Number of versions (tombstones included).
  [[nodiscard]] std::uint64_t entries() const noexcept {
    return entries_.load(std::memory_order_relaxed);
  }
  /// Sum of internal key and stored value sizes.
  [[nodiscard]] std::uint64_t data_bytes() const noexcept {
    return data_bytes_.load(std::memory_order_relaxed);
  }
  /// Bytes the arena holds (in whole blocks).
  [[nodiscard]] std::size_t memory_usage() const noexcept {
    return arena_.memory_usage() + filter_.memory_usage() +
           slots_.size() * sizeof(std::atomic<std::uint64_t>);
  }
  /// Whether the point index answers lookups (configured and not switched off).
  [[nodiscard]] bool point_index_active() const noexcept {
    return index_ok_.load(std::memory_order_acquire);
  }

  /// False when no version of the user key with hash `h` (bloom_hash) is in the table; always
  /// true without a filter, and while the point index is active (its lookup answers absence
  /// with one probe, so the filter's cache miss would be wasted). A key inserted before the
  /// reader's snapshot was published is seen.
  [[nodiscard]] bool may_contain(std::uint64_t h) const noexcept {
    return index_ok_.load(std::memory_order_acquire) || filter_.may_contain(h);
  }
  /// Starts loading what a point read of hash `h` touches first: its point-index slot, or its
  /// filter block when the index is off (a hint, see bloom_view::prefetch).
  void prefetch(std::uint64_t h) const noexcept {
    if (index_ok_.load(std::memory_order_relaxed)) {
      __builtin_prefetch(&slots_[slot_of(h)]);
    } else {
      filter_.prefetch(h);
    }
  }
  /// Bytes the entries take, nodes included (an estimate independent of the arena's block
  /// size: key and value bytes plus a node header and two links on average each).
  [[nodiscard]] std::uint64_t approximate_size() const noexcept {
    return data_bytes() + entries() * (header_size + 2 * sizeof(void*));
  }

  /// A cursor over internal keys. Cheap to copy; valid while the memtable lives.
  class iterator {
   public:
    explicit iterator(const memtable* t) : t_(const_cast<memtable*>(t)) {}
    [[nodiscard]] bool valid() const noexcept { return n_ != nullptr; }
    [[nodiscard]] std::string_view key() const noexcept { return n_->key(); }
    [[nodiscard]] std::string_view value() const noexcept { return n_->value(); }
    void next() noexcept { n_ = n_->next(0); }
    /// O(log n): a search for the last node before this one.
    void prev() noexcept {
      n_ = t_->find_less_than(n_->key());
      if (n_ == t_->head_) n_ = nullptr;
    }
    /// First entry >= target.
    /// Positions at the first entry >= target. An iterator from begin_point_lookup(uk, h)
    /// answers a target of user key `uk` from the point index when it can: from uk's newest
    /// version, forward, or invalid when the table has no version of uk.
    void seek(std::string_view target) noexcept {
      if (point_ == point_mode::absent) {
        n_ = nullptr;
        return;
      }
      if (point_ == point_mode::found) {
        n_ = start_;
        while (n_ != nullptr && compare_internal_keys(n_->key(), target) < 0) n_ = n_->next(0);
        return;
      }
      n_ = t_->find_greater_or_equal(target, nullptr);
    }
    /// Last entry < target.
    void seek_before(std::string_view target) noexcept {
      n_ = t_->find_less_than(target);
      if (n_ == t_->head_) n_ = nullptr;
    }
    void seek_to_first() noexcept { n_ = t_->head_->next(0); }
    void seek_to_last() noexcept {
      n_ = t_->find_last();
      if (n_ == t_->head_) n_ = nullptr;
    }

   private:
    friend class memtable;
    enum class point_mode : std::uint8_t { none, found, absent };
    memtable* t_;
    node* n_ = nullptr;
    node* start_ = nullptr;
    point_mode point_ = point_mode::none;
  };

  [[nodiscard]] iterator begin_iteration() const { return iterator(this); }

  /// An iterator for one point read of `user_key` (hash `h` = bloom_hash(user_key)): its first
  /// seek, with a target of that user key, uses the point index when it is active. A reader
  /// must take its snapshot before calling this (see index_put).
  [[nodiscard]] iterator begin_point_lookup(std::string_view user_key,
                                            std::uint64_t h) const noexcept {
    iterator it(this);
    if (!index_ok_.load(std::memory_order_acquire)) return it;
    const std::uint16_t tag = tag_of(h);
    for (std::size_t i = slot_of(h);; i = (i + 1) & slot_mask_) {
      std::uint64_t s = slots_[i].load(std::memory_order_acquire);
      if (s == 0) {
        it.point_ = iterator::point_mode::absent;
        return it;
      }
      if ((s >> 48) != tag) continue;
      node* n = reinterpret_cast<node*>(static_cast<std::uintptr_t>(s & pointer_mask));
      if (user_key_of(n->key()) == user_key) {
        it.point_ = iterator::point_mode::found;
        it.start_ = n;
        return it;
      }
    }
  }

 private:
  node* new_node(int h, std::string_view key, std::string_view value) {
    std::size_t bytes = header_size + sizeof(std::atomic<node*>) * static_cast<std::size_t>(h) +
                        key.size() + value.size();
    char* mem = arena_.allocate(bytes, alignof(std::atomic<node*>));
    auto* n =
        ::new (mem) node{static_cast<std::uint32_t>(key.size()),
                         static_cast<std::uint32_t>(value.size()), static_cast<std::uint32_t>(h)};
    for (int i = 0; i < h; ++i) ::new (n->links() + i) std::atomic<node*>(nullptr);
    char* d = mem + header_size + sizeof(std::atomic<node*>) * static_cast<std::size_t>(h);
    if (!key.empty()) std::memcpy(d, key.data(), key.size());
    if (!value.empty()) std::memcpy(d + key.size(), value.data(), value.size());
    return n;
  }

  // Same user key and timestamp: the internal keys differ at most in the kind byte.
  static std::uint64_t key_hash(std::string_view user_key) noexcept { return bloom_hash(user_key); }
  static constexpr std::uint64_t pointer_mask = (std::uint64_t{1} << 48) - 1;
  static std::uint16_t tag_of(std::uint64_t h) noexcept {
    auto t = static_cast<std::uint16_t>(h >> 16);
    return t == 0 ? 1 : t;  // 0 marks an empty slot
  }
  std::size_t slot_of(std::uint64_t h) const noexcept {
    return static_cast<std::size_t>((h * 0xff51afd7ed558ccdull) >> slot_shift_);
  }

  // Points the slot of n's user key at n when n is that key's newest version. Called after n
  // is linked, so a reader that finds n can walk on from it. Readers see an index that is off
  // or an entry that is missing only for commits their snapshot cannot see: the commit
  // pipeline publishes a commit after inserting it, and readers take their snapshot before
  // consulting the index.
  void index_put(node* n, std::uint64_t h) noexcept {
    if (!index_ok_.load(std::memory_order_relaxed)) return;
    auto p = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(n));
    if ((p & ~pointer_mask) != 0 || (slots_used_ + 1) * 10 > slots_.size() * 7) {
      index_ok_.store(false, std::memory_order_release);  // pointer too wide, or too full
      return;
    }
    const std::uint16_t tag = tag_of(h);
    const std::uint64_t entry = std::uint64_t{tag} << 48 | p;
    std::string_view uk = user_key_of(n->key());
    for (std::size_t i = slot_of(h);; i = (i + 1) & slot_mask_) {
      std::uint64_t s = slots_[i].load(std::memory_order_relaxed);
      if (s == 0) {
        slots_[i].store(entry, std::memory_order_release);
        ++slots_used_;
        return;
      }
      if ((s >> 48) != tag) continue;
      node* o = reinterpret_cast<node*>(static_cast<std::uintptr_t>(s & pointer_mask));
      if (user_key_of(o->key()) != uk) continue;
      if (compare_internal_keys(n->key(), o->key()) < 0) {
        slots_[i].store(entry, std::memory_order_release);
      }
      return;
    }
  }

  static bool same_version(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && a.substr(0, a.size() - 1) == b.substr(0, b.size() - 1);
  }

  void account(std::string_view k, std::string_view v) {
    entries_.store(entries_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    data_bytes_.store(data_bytes_.load(std::memory_order_relaxed) + k.size() + v.size(),
                      std::memory_order_relaxed);
  }

  int random_height() noexcept {
    int h = 1;
    while (h < max_height) {
      // xorshift64: the writer is single-threaded, so plain state is enough.
      rng_ ^= rng_ << 13;
      rng_ ^= rng_ >> 7;
      rng_ ^= rng_ << 17;
      if ((rng_ & (branching - 1)) != 0) break;
      ++h;
    }
    return h;
  }

  // First node >= key; fills prev[level] with the last node < key on each level when asked.
  node* find_greater_or_equal(std::string_view key, node** prev) const {
    node* x = head_;
    int level = height_.load(std::memory_order_relaxed) - 1;
    for (;;) {
      node* next = x->next(level);
      if (next != nullptr && compare_internal_keys(next->key(), key) < 0) {
        x = next;
      } else {
        if (prev != nullptr) prev[level] = x;
        if (level == 0) return next;
        --level;
      }
    }
  }
  // Last node < key (head_ if none).
  node* find_less_than(std::string_view key) const {
    node* x = head_;
    int level = height_.load(std::memory_order_relaxed) - 1;
    for (;;) {
      node* next = x->next(level);
      if (next != nullptr && compare_internal_keys(next->key(), key) < 0) {
        x = next;
      } else {
        if (level == 0) return x;
        --level;
      }
    }
  }
  node* find_last() const {
    node* x = head_;
    int level = height_.load(std::memory_order_relaxed) - 1;
    for (;;) {
      node* next = x->next(level);
      if (next != nullptr) {
        x = next;
      } else {
        if (level == 0) return x;
        --level;
      }
    }
  }

  arena arena_;
  memtable_filter filter_;
  slot_array slots_;  // point index: tag << 48 | node pointer
  std::size_t slot_mask_ = 0;
  int slot_shift_ = 64;
  std::size_t slots_used_ = 0;  // writer only
  std::atomic<bool> index_ok_{false};
  node* head_;
  std::atomic<int> height_{1};
  std::array<node*, max_height> tail_{};  // append_sorted's last node per level
  std::uint64_t rng_ = 0x9E3779B97F4A7C15ull;
  std::atomic<std::uint64_t> entries_{0};
  std::atomic<std::uint64_t> data_bytes_{0};
};

SOCHDB_END_NAMESPACE
