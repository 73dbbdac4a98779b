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
#include <sochdb/storage/internal_key.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <string_view>

SOCHDB_BEGIN_NAMESPACE

class memtable {
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
  explicit memtable(std::size_t arena_block = 1 << 20) : arena_(arena_block) {
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
    for (int i = 0; i < h; ++i) {
      auto* p = prev[static_cast<std::size_t>(i)];
      n->links()[i].store(p->next(i), std::memory_order_relaxed);
      p->set_next(i, n);
    }
    account(ikey, stored_value);
    return true;
  }

  /// Appends a version greater than every key present (building a table from sorted input in
  /// O(1) per entry). Writer only; only before any insert() on the table.
  void append_sorted(std::string_view ikey, std::string_view stored_value) {
    int h = random_height();
    if (h > height_.load(std::memory_order_relaxed)) height_.store(h, std::memory_order_relaxed);
    node* n = new_node(h, ikey, stored_value);
    for (int i = 0; i < h; ++i) {
      n->links()[i].store(nullptr, std::memory_order_relaxed);
      tail_[static_cast<std::size_t>(i)]->set_next(i, n);
      tail_[static_cast<std::size_t>(i)] = n;
    }
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
  [[nodiscard]] std::size_t memory_usage() const noexcept { return arena_.memory_usage(); }
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
    void seek(std::string_view target) noexcept { n_ = t_->find_greater_or_equal(target, nullptr); }
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
    memtable* t_;
    node* n_ = nullptr;
  };

  [[nodiscard]] iterator begin_iteration() const { return iterator(this); }

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
  node* head_;
  std::atomic<int> height_{1};
  std::array<node*, max_height> tail_{};  // append_sorted's last node per level
  std::uint64_t rng_ = 0x9E3779B97F4A7C15ull;
  std::atomic<std::uint64_t> entries_{0};
  std::atomic<std::uint64_t> data_bytes_{0};
};

SOCHDB_END_NAMESPACE
