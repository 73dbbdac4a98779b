// sochdb/core/clock.hpp — hybrid logical clock for commit timestamps, and ISO-8601 times.
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
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
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

/// Microseconds since the Unix epoch by the wall clock (log and event timestamps).
inline std::int64_t system_now_us() noexcept {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

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

// ---- ISO-8601 times (the MCP tools, agent memory) ----

/// Microseconds since the Unix epoch of an ISO-8601 UTC time "YYYY-MM-DD[THH:MM[:SS[.f]]][Z]"
/// (or with a ±HH:MM offset), or of a string of digits (microseconds). nullopt when malformed.
inline std::optional<std::int64_t> parse_iso8601_us(std::string_view s) {
  using namespace std::chrono;
  if (!s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos) {
    if (s.size() > 18) return std::nullopt;
    return std::stoll(std::string(s));
  }
  std::size_t i = 0;
  auto num = [&](std::size_t digits) -> std::optional<int> {
    if (i + digits > s.size()) return std::nullopt;
    int v = 0;
    for (std::size_t k = 0; k < digits; ++k) {
      char c = s[i + k];
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + (c - '0');
    }
    i += digits;
    return v;
  };
  auto lit = [&](char c) {
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  };
  auto Y = num(4);
  if (!Y || !lit('-')) return std::nullopt;
  auto M = num(2);
  if (!M || !lit('-')) return std::nullopt;
  auto D = num(2);
  if (!D) return std::nullopt;
  year_month_day ymd{year(*Y), month(static_cast<unsigned>(*M)), day(static_cast<unsigned>(*D))};
  if (!ymd.ok()) return std::nullopt;
  std::int64_t us =
      static_cast<std::int64_t>(sys_days(ymd).time_since_epoch().count()) * 86400000000LL;
  if (i == s.size()) return us;
  if (!lit('T') && !lit(' ')) return std::nullopt;
  auto h = num(2);
  if (!h || *h > 23 || !lit(':')) return std::nullopt;
  auto mi = num(2);
  if (!mi || *mi > 59) return std::nullopt;
  us += (*h * 3600LL + *mi * 60LL) * 1000000LL;
  if (lit(':')) {
    auto sec = num(2);
    if (!sec || *sec > 60) return std::nullopt;
    us += *sec * 1000000LL;
    if (lit('.')) {
      std::int64_t frac = 0, scale = 100000;
      std::size_t start = i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        frac += (s[i] - '0') * scale;
        scale /= 10;
        ++i;
      }
      if (i == start) return std::nullopt;
      us += frac;
    }
  }
  if (lit('Z') || i == s.size()) return i == s.size() ? std::optional(us) : std::nullopt;
  int sign = lit('+') ? 1 : lit('-') ? -1 : 0;
  if (sign == 0) return std::nullopt;
  auto oh = num(2);
  if (!oh || !lit(':')) return std::nullopt;
  auto om = num(2);
  if (!om || i != s.size()) return std::nullopt;
  return us - sign * (*oh * 3600LL + *om * 60LL) * 1000000LL;
}

/// ISO-8601 UTC with microseconds: "2026-11-21T20:34:44.123456Z".
inline std::string format_iso8601_us(std::int64_t us) {
  using namespace std::chrono;
  std::int64_t days = us >= 0 ? us / 86400000000LL : -((-us + 86400000000LL - 1) / 86400000000LL);
  std::int64_t rest = us - days * 86400000000LL;
  year_month_day ymd{sys_days(std::chrono::days(days))};
  char buf[64];
  std::snprintf(
      buf, sizeof buf, "%04d-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ", static_cast<int>(ymd.year()),
      static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
      static_cast<long long>(rest / 3600000000LL), static_cast<long long>(rest / 60000000LL % 60),
      static_cast<long long>(rest / 1000000LL % 60), static_cast<long long>(rest % 1000000LL));
  return buf;
}

SOCHDB_END_NAMESPACE
