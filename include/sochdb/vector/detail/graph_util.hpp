// sochdb/vector/detail/graph_util.hpp — building blocks of the graph indexes: the per-search
// scratch state (visited marks, candidate and result heaps) reused across queries through a
// small pool, a segmented record store whose records never move, the per-node seqlock that
// lets searches read neighbour lists while inserts rewrite them, and prefetch helpers.
//
// Thread-safety is stated per class.
#pragma once

#include <sochdb/version.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <utility>
#include <vector>

SOCHDB_BEGIN_NAMESPACE
namespace vector::detail {

/// Prefetches the first `bytes` (at most `max_lines` cache lines) of p into L1.
inline void prefetch_lines(const void* p, std::size_t bytes, std::size_t max_lines = 16) noexcept {
  const char* c = static_cast<const char*>(p);
  const std::size_t lines = std::min((bytes + 63) / 64, max_lines);
  for (std::size_t l = 0; l < lines; ++l) __builtin_prefetch(c + l * 64, 0, 3);
}

/// Visited marks by generation: `visit(id)` is one byte compare and store, and starting a new
/// query bumps the generation instead of clearing (a full clear every 255 queries). One
/// thread at a time.
class visited_set {
 public:
  /// Prepares for a query over ids < n (grows, never shrinks: no allocation in steady state).
  void begin(std::size_t n) {
    if (marks_.size() < n) marks_.resize(std::max(n, marks_.size() + marks_.size() / 2), 0);
    if (++gen_ == 0) {
      std::fill(marks_.begin(), marks_.end(), std::uint8_t{0});
      gen_ = 1;
    }
  }
  std::size_t capacity() const noexcept { return marks_.size(); }
  /// True the first time id is seen in this query (ids >= capacity are never "new").
  bool visit(std::uint32_t id) noexcept {
    if (id >= marks_.size() || marks_[id] == gen_) return false;
    marks_[id] = gen_;
    return true;
  }
  bool seen(std::uint32_t id) const noexcept { return id >= marks_.size() || marks_[id] == gen_; }
  void prefetch(std::uint32_t id) const noexcept {
    if (id < marks_.size()) __builtin_prefetch(marks_.data() + id, 1, 3);
  }
  std::size_t memory_bytes() const noexcept { return marks_.capacity(); }

 private:
  std::vector<std::uint8_t> marks_;
  std::uint8_t gen_ = 0;
};

struct scored {
  float dist;
  std::uint32_t id;
};
struct closer {
  bool operator()(const scored& a, const scored& b) const noexcept {
    return a.dist < b.dist || (a.dist == b.dist && a.id < b.id);
  }
};
struct farther {
  bool operator()(const scored& a, const scored& b) const noexcept { return closer{}(b, a); }
};

/// A binary heap on a reusable vector: `max_heap` keeps the farthest on top (the result set),
/// `min_heap` the closest (the candidates). No allocation once the vector has grown.
template <class Cmp>
class heap {
 public:
  void clear() noexcept { v_.clear(); }
  bool empty() const noexcept { return v_.empty(); }
  std::size_t size() const noexcept { return v_.size(); }
  const scored& top() const noexcept { return v_.front(); }
  void push(scored s) {
    v_.push_back(s);
    std::push_heap(v_.begin(), v_.end(), Cmp{});
  }
  void pop() noexcept {
    std::pop_heap(v_.begin(), v_.end(), Cmp{});
    v_.pop_back();
  }
  /// The elements in heap order; `sorted()` sorts them closest first (destroys the heap).
  std::vector<scored>& data() noexcept { return v_; }
  std::vector<scored>& sorted() {
    std::sort(v_.begin(), v_.end(), closer{});
    return v_;
  }
  void reserve(std::size_t n) { v_.reserve(n); }

 private:
  std::vector<scored> v_;
};
// The comparator of std::push_heap builds a max-heap: "farther" on top needs `closer`.
using max_heap = heap<closer>;
using min_heap = heap<farther>;

/// A pool of per-search scratch objects: `acquire()` hands one out (creating it on first use),
/// the returned handle gives it back. Any number of threads.
template <class T>
class scratch_pool {
 public:
  class handle {
   public:
    handle(scratch_pool* p, std::unique_ptr<T> t) : p_(p), t_(std::move(t)) {}
    handle(handle&&) noexcept = default;
    handle& operator=(handle&&) = delete;
    ~handle() {
      if (t_) p_->release(std::move(t_));
    }
    T& operator*() const noexcept { return *t_; }
    T* operator->() const noexcept { return t_.get(); }

   private:
    scratch_pool* p_;
    std::unique_ptr<T> t_;
  };

  handle acquire() {
    {
      std::lock_guard lk(mu_);
      if (!free_.empty()) {
        auto t = std::move(free_.back());
        free_.pop_back();
        return handle(this, std::move(t));
      }
    }
    return handle(this, std::make_unique<T>());
  }
  void clear() {
    std::lock_guard lk(mu_);
    free_.clear();
  }
  std::size_t memory_bytes() const {
    std::lock_guard lk(mu_);
    std::size_t s = 0;
    for (auto& t : free_) s += t->memory_bytes();
    return s;
  }

 private:
  void release(std::unique_ptr<T> t) {
    std::lock_guard lk(mu_);
    if (free_.size() < 64) free_.push_back(std::move(t));
  }
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<T>> free_;
};

/// Fixed-size records addressed by a 32-bit id, in segments that never move: ids below
/// `first_capacity` live in the first segment (sized at construction, or a mapped file), the
/// rest in segments of 1024, 2048, 4096, ... records. Records are 64-byte aligned.
/// Thread-safety: `ensure` may run concurrently with `at` on ids already ensured (segment
/// pointers are published with release stores); concurrent `ensure` calls serialize.
class record_store {
 public:
  static constexpr unsigned base_bits = 10;
  static constexpr std::size_t max_segments = 33;

  record_store() = default;
  record_store(std::size_t record_size, std::size_t first_capacity)
      : rec_(record_size), first_cap_(first_capacity) {
    if (first_cap_ != 0) first_ = alloc(first_cap_);
    ensured_.store(first_cap_, std::memory_order_relaxed);
  }
  /// A read-only store over external memory holding n records (a mapped file).
  static record_store external(const char* base, std::size_t record_size, std::size_t n) {
    record_store s;
    s.rec_ = record_size;
    s.first_cap_ = n;
    s.first_ = const_cast<char*>(base);
    s.owns_first_ = false;
    s.ensured_.store(n, std::memory_order_relaxed);
    return s;
  }
  record_store(record_store&& o) noexcept { *this = std::move(o); }
  record_store& operator=(record_store&& o) noexcept {
    if (this != &o) {
      free_all();
      rec_ = o.rec_;
      first_cap_ = o.first_cap_;
      first_ = std::exchange(o.first_, nullptr);
      owns_first_ = o.owns_first_;
      for (std::size_t k = 0; k < max_segments; ++k)
        seg_[k].store(o.seg_[k].exchange(nullptr, std::memory_order_relaxed),
                      std::memory_order_relaxed);
      ensured_.store(o.ensured_.exchange(0, std::memory_order_relaxed), std::memory_order_relaxed);
      o.first_cap_ = 0;
    }
    return *this;
  }
  ~record_store() { free_all(); }

  std::size_t record_size() const noexcept { return rec_; }

  char* at(std::uint32_t i) const noexcept {
    if (i < first_cap_) [[likely]]
      return first_ + static_cast<std::size_t>(i) * rec_;
    const std::uint64_t r = i - first_cap_;
    const std::uint64_t j = (r >> base_bits) + 1;
    const unsigned k = static_cast<unsigned>(std::bit_width(j)) - 1;
    const std::uint64_t off =
        r + (std::uint64_t{1} << base_bits) - (std::uint64_t{1} << (base_bits + k));
    return seg_[k].load(std::memory_order_acquire) + off * rec_;
  }

  /// Makes ids < n addressable (zero-filled records).
  void ensure(std::size_t n) {
    if (ensured_.load(std::memory_order_acquire) >= n) return;
    std::lock_guard lk(mu_);
    std::size_t have = ensured_.load(std::memory_order_relaxed);
    while (have < n) {
      if (have < first_cap_) {
        have = first_cap_;
        continue;
      }
      const std::uint64_t r = have - first_cap_;
      const std::uint64_t j = (r >> base_bits) + 1;
      const unsigned k = static_cast<unsigned>(std::bit_width(j)) - 1;
      const std::size_t seg_n = std::size_t{1} << (base_bits + k);
      seg_[k].store(alloc(seg_n), std::memory_order_release);
      have += seg_n;
    }
    ensured_.store(have, std::memory_order_release);
  }
  std::size_t capacity() const noexcept { return ensured_.load(std::memory_order_acquire); }
  /// Bytes allocated (0 for the external part).
  std::size_t memory_bytes() const noexcept {
    std::size_t cap = capacity();
    std::size_t b = owns_first_ ? std::min(cap, first_cap_) * rec_ : 0;
    if (cap > first_cap_) b += (cap - first_cap_) * rec_;
    return b;
  }

 private:
  char* alloc(std::size_t n) {
    auto* p = static_cast<char*>(::operator new (n* rec_, std::align_val_t{64}));
    std::memset(p, 0, n * rec_);
    return p;
  }
  void free_all() noexcept {
    if (first_ && owns_first_) ::operator delete (first_, std::align_val_t{64});
    first_ = nullptr;
    for (auto& s : seg_) {
      if (char* p = s.exchange(nullptr, std::memory_order_relaxed))
        ::operator delete (p, std::align_val_t{64});
    }
  }

  std::size_t rec_ = 0;
  std::size_t first_cap_ = 0;
  char* first_ = nullptr;
  bool owns_first_ = true;
  std::array<std::atomic<char*>, max_segments> seg_{};
  std::atomic<std::size_t> ensured_{0};
  std::mutex mu_;
};

/// A node's link lock: a 32-bit word whose bit 0 is a writer lock (held while a new list is
/// computed) and whose upper bits count published versions (odd while the list is being
/// overwritten). Readers never block writers and only retry during the short overwrite.
/// All link words of a list are accessed with atomic_ref, so readers racing a writer read
/// stale or new values, never undefined ones, and discard the copy if the version moved.
class link_lock {
 public:
  explicit link_lock(std::uint32_t* word) noexcept : w_(*word) {}

  void lock() noexcept {
    for (unsigned spins = 0;; ++spins) {
      std::uint32_t v = w_.load(std::memory_order_relaxed);
      if ((v & 1u) == 0 &&
          w_.compare_exchange_weak(v, v | 1u, std::memory_order_acquire, std::memory_order_relaxed))
        return;
      if (spins > 64) std::this_thread::yield();
    }
  }
  /// Called with the lock held, just before the list is overwritten.
  void begin_write() noexcept {
    w_.fetch_add(2u, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
  }
  /// Called after the overwrite: publishes the new list.
  void end_write() noexcept { w_.fetch_add(2u, std::memory_order_release); }
  void unlock() noexcept { w_.fetch_and(~1u, std::memory_order_release); }

  /// Reader side: a version to validate against, waiting out an overwrite in progress.
  std::uint32_t read_begin() const noexcept {
    for (unsigned spins = 0;; ++spins) {
      std::uint32_t v = w_.load(std::memory_order_acquire);
      if ((v & 2u) == 0) return v >> 1;
      if (spins > 64) std::this_thread::yield();
    }
  }
  bool read_valid(std::uint32_t version) const noexcept {
    std::atomic_thread_fence(std::memory_order_acquire);
    return (w_.load(std::memory_order_relaxed) >> 1) == version;
  }

 private:
  std::atomic_ref<std::uint32_t> w_;
};

inline std::uint32_t load_relaxed(const std::uint32_t* p) noexcept {
  return std::atomic_ref<std::uint32_t>(*const_cast<std::uint32_t*>(p))
      .load(std::memory_order_relaxed);
}
inline void store_relaxed(std::uint32_t* p, std::uint32_t v) noexcept {
  std::atomic_ref<std::uint32_t>(*p).store(v, std::memory_order_relaxed);
}

}  // namespace vector::detail
SOCHDB_END_NAMESPACE
