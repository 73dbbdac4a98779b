// sochdb/core/clock.hpp — hybrid logical clock for commit timestamps.
//
// A timestamp is 64 bits: the high 48 are milliseconds since the Unix epoch, the low 16 a
// logical counter. `now()` returns strictly increasing values across calls and threads even when
// the wall clock stalls or goes backwards: it takes max(wall, last + 1). A logical counter that
// runs past 16 bits simply carries into the millisecond field, so the clock runs at most a
// millisecond ahead of the wall per 65,536 calls in the same millisecond and stays monotonic.
//
// Thread safety: all members may be called concurrently (one atomic, compare-and-swap).
#pragma once

#include <sochdb/version.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <utility>

SOCHDB_BEGIN_NAMESPACE

/// Wall-clock source in milliseconds since the Unix epoch.
struct system_ms_source {
  std::uint64_t operator()() const noexcept {
    using namespace std::chrono;
    return static_cast<std::uint64_t>(
        duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
  }
};

/// Hybrid logical clock over a millisecond source (a callable returning uint64_t ms).
template <class Source = system_ms_source>
class basic_hybrid_clock {
 public:
  static constexpr unsigned logical_bits = 16;
  static constexpr std::uint64_t logical_mask = (std::uint64_t{1} << logical_bits) - 1;

  explicit basic_hybrid_clock(Source source = Source{}) : source_(std::move(source)) {}

  /// A timestamp greater than every one returned or observed before.
  std::uint64_t now() noexcept {
    std::uint64_t prev = last_.load(std::memory_order_relaxed);
    for (;;) {
      std::uint64_t wall = make(source_(), 0);
      std::uint64_t next = wall > prev ? wall : prev + 1;
      if (last_.compare_exchange_weak(prev, next, std::memory_order_acq_rel,
                                      std::memory_order_relaxed)) {
        return next;
      }
    }
  }

  /// Moves the clock past `ts` (e.g. the highest timestamp found during recovery), so later
  /// `now()` values are greater. Returns the clock's value afterwards.
  std::uint64_t observe(std::uint64_t ts) noexcept {
    std::uint64_t prev = last_.load(std::memory_order_relaxed);
    while (prev < ts && !last_.compare_exchange_weak(prev, ts, std::memory_order_acq_rel,
                                                     std::memory_order_relaxed)) {
    }
    return prev < ts ? ts : prev;
  }

  /// The last timestamp issued or observed (0 before any).
  [[nodiscard]] std::uint64_t current() const noexcept {
    return last_.load(std::memory_order_acquire);
  }

  static constexpr std::uint64_t make(std::uint64_t ms, std::uint64_t logical) noexcept {
    return (ms << logical_bits) | (logical & logical_mask);
  }
  static constexpr std::uint64_t physical_ms(std::uint64_t ts) noexcept {
    return ts >> logical_bits;
  }
  static constexpr std::uint64_t logical(std::uint64_t ts) noexcept { return ts & logical_mask; }

 private:
  Source source_;
  std::atomic<std::uint64_t> last_{0};
};

using hybrid_clock = basic_hybrid_clock<>;

SOCHDB_END_NAMESPACE
