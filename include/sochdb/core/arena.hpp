// sochdb/core/arena.hpp — bump allocator for memtables and other build-then-drop structures.
//
// Memory is handed out from large blocks and freed all at once when the arena is destroyed;
// pointers stay valid for the arena's lifetime (blocks never move). Allocations larger than a
// quarter block get a block of their own so little space is wasted.
//
// Thread safety: allocate() is for one thread at a time (the memtable's single writer);
// memory_usage() may be read from any thread.
#pragma once

#include <sochdb/core/error.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

SOCHDB_BEGIN_NAMESPACE

class arena {
 public:
  /// Bytes of a transparent huge page on x86-64 and most Linux targets.
  static constexpr std::size_t huge_page_size = std::size_t{2} << 20;

  /// Offers [p, p + bytes), aligned to huge_page_size, to Linux as transparent huge pages: a
  /// hint (failure is fine), nothing elsewhere. Also used by the memtable's point index.
  static void advise_huge_pages([[maybe_unused]] void* p,
                                [[maybe_unused]] std::size_t bytes) noexcept {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    (void)::madvise(p, bytes, MADV_HUGEPAGE);
#endif
  }

  /// `block_size`: bytes per block (default 64 KiB). When it is a multiple of huge_page_size
  /// the blocks are aligned to it and offered to Linux as transparent huge pages (a hint): a
  /// structure walked at random, like a memtable's skiplist, then takes one TLB entry per
  /// 2 MiB instead of 512.
  explicit arena(std::size_t block_size = 64 * 1024) : block_size_(block_size) {
    if (block_size_ < 256) throw invalid_argument("arena: block_size must be at least 256");
  }
  arena(const arena&) = delete;
  arena& operator=(const arena&) = delete;
  ~arena() {
    for (auto& b : blocks_) ::operator delete (b.ptr, std::align_val_t{b.align});
  }

  /// `bytes` bytes aligned to `align` (a power of two, at most 4096).
  [[nodiscard]] char* allocate(std::size_t bytes, std::size_t align = alignof(std::max_align_t)) {
    if (bytes == 0) bytes = 1;
    auto cur = reinterpret_cast<std::uintptr_t>(ptr_);
    std::size_t pad = (align - (cur & (align - 1))) & (align - 1);
    if (ptr_ != nullptr && pad + bytes <= remaining_) {
      char* result = ptr_ + pad;
      ptr_ += pad + bytes;
      remaining_ -= pad + bytes;
      return result;
    }
    if (bytes > block_size_ / 4) {
      // Large: own block, the current block keeps serving small allocations.
      return new_block(bytes,
                       align < alignof(std::max_align_t) ? alignof(std::max_align_t) : align);
    }
    bool huge = block_size_ % huge_page_size == 0;
    char* block =
        new_block(block_size_, huge                                ? huge_page_size
                               : alignof(std::max_align_t) > align ? alignof(std::max_align_t)
                                                                   : align);
    if (huge) advise_huge_pages(block, block_size_);
    ptr_ = block + bytes;
    remaining_ = block_size_ - bytes;
    return block;
  }

  /// Total bytes of blocks held (what the arena costs, not what was asked for).
  [[nodiscard]] std::size_t memory_usage() const noexcept {
    return usage_.load(std::memory_order_relaxed);
  }

 private:
  struct block {
    char* ptr;
    std::size_t align;
  };
  char* new_block(std::size_t bytes, std::size_t align) {
    auto* p = static_cast<char*>(::operator new (bytes, std::align_val_t{align}));
    try {
      blocks_.push_back({p, align});
    } catch (...) {
      ::operator delete (p, std::align_val_t{align});
      throw;
    }
    usage_.fetch_add(bytes + sizeof(block), std::memory_order_relaxed);
    return p;
  }

  std::size_t block_size_;
  char* ptr_ = nullptr;
  std::size_t remaining_ = 0;
  std::vector<block> blocks_;
  std::atomic<std::size_t> usage_{0};
};

SOCHDB_END_NAMESPACE
