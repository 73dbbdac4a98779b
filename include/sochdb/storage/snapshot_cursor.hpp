// sochdb/storage/snapshot_cursor.hpp — user-key view of versioned internal entries at a
// snapshot.
//
// `snapshot_cursor<It>` turns an iterator over internal keys (ordered by
// compare_internal_keys: user key ascending, versions newest first) into a cursor over user keys
// as they were at snapshot `ts`: for each user key in [lower, upper) it yields the newest
// version with commit_ts <= ts, and skips the key when that version is a deletion or has
// expired at `now_ms`. It works in either direction and streams: nothing is materialized
// beyond the current key and value. Any internal iterator with this interface fits (the
// memtable's now, a merging iterator over memtables and SSTables in the LSM):
//
//     valid() key() value() next() prev() seek(ikey) seek_before(ikey) seek_to_first()
//     seek_to_last()
//
// `key()` and `value()` views stay valid until the cursor moves. Forward, they point into the
// underlying iterator; backward, the cursor keeps copies (an iterator going backwards passes
// the newest version of a key last, so it must remember it).
//
// Thread safety: a cursor is used by one thread at a time.
#pragma once

#include <sochdb/storage/internal_key.hpp>

#include <cstring>
#include <optional>
#include <string>
#include <string_view>

SOCHDB_BEGIN_NAMESPACE

/// Which way a scan runs.
enum class scan_order { forward, reverse };

/// What a scan covers: user keys in [lower, upper) as of snapshot `ts`.
struct scan_spec {
  std::uint64_t ts = max_timestamp;  ///< snapshot timestamp
  std::string lower;                 ///< inclusive lower bound ("" = from the first key)
  std::optional<std::string> upper;  ///< exclusive upper bound (none = to the last key)
  scan_order order = scan_order::forward;
  std::uint64_t now_ms = 0;  ///< TTL reference time (Unix ms); 0 = nothing expires
};

/// Point lookup result of `lookup_version`.
enum class lookup_state { absent, deleted, found };

/// Looks `user_key` up at snapshot `ts` with one seek. On `found`, `value` views the user value
/// (valid while the iterator does not move). An expired value reads as `deleted`.
template <class It>
lookup_state lookup_version(It& it, std::string_view user_key, std::uint64_t ts,
                            std::uint64_t now_ms, std::string_view& value) {
  // The lookup key on the stack for ordinary key sizes: no allocation per read.
  char stack[256];
  std::string heap;
  std::string_view target;
  if (user_key.size() + internal_key_trailer <= sizeof stack) {
    std::memcpy(stack, user_key.data(), user_key.size());
    encode_fixed64_be(stack + user_key.size(), ~ts);
    stack[user_key.size() + 8] = static_cast<char>(value_kind::deletion);
    target = std::string_view(stack, user_key.size() + internal_key_trailer);
  } else {
    heap = lookup_key(user_key, ts);
    target = heap;
  }
  it.seek(target);
  if (!it.valid()) return lookup_state::absent;
  std::string_view k = it.key();
  if (user_key_of(k) != user_key) return lookup_state::absent;
  value_kind kind = kind_of(k);
  if (kind == value_kind::deletion) return lookup_state::deleted;
  stored_value sv = decode_stored_value(kind, it.value());
  if (now_ms != 0 && sv.expired(now_ms)) return lookup_state::deleted;
  value = sv.value;
  return lookup_state::found;
}

template <class It>
class snapshot_cursor {
 public:
  snapshot_cursor(It it, scan_spec spec) : it_(std::move(it)), spec_(std::move(spec)) {
    if (spec_.order == scan_order::forward) {
      if (spec_.lower.empty()) {
        it_.seek_to_first();
      } else {
        it_.seek(lookup_key(spec_.lower, max_timestamp));
      }
      settle_forward();
    } else {
      if (spec_.upper) {
        it_.seek_before(lookup_key(*spec_.upper, max_timestamp));
      } else {
        it_.seek_to_last();
      }
      settle_backward();
    }
  }

  [[nodiscard]] bool valid() const noexcept { return valid_; }
  [[nodiscard]] std::string_view key() const noexcept {
    return spec_.order == scan_order::forward ? user_key_of(it_.key())
                                              : std::string_view(saved_key_);
  }
  [[nodiscard]] std::string_view value() const noexcept {
    // Backwards the value is a copy the cursor owns; computed here so a moved cursor does not
    // hand out a view into its old self.
    return spec_.order == scan_order::forward ? value_ : std::string_view(saved_value_);
  }
  /// Expiry of the current value (Unix ms), 0 when it never expires.
  [[nodiscard]] std::uint64_t expiry_ms() const noexcept { return expiry_; }

  void next() {
    if (!valid_) return;
    if (spec_.order == scan_order::forward) {
      saved_key_.assign(user_key_of(it_.key()));
      it_.next();
      skip_versions_of(saved_key_);
      settle_forward();
    } else {
      settle_backward();  // the iterator already sits on the previous user key
    }
  }

 private:
  void skip_versions_of(std::string_view uk) {
    // Usually zero or one older version follows; after a few, one seek is cheaper.
    for (int i = 0; it_.valid() && user_key_of(it_.key()) == uk; ++i) {
      if (i == 4) {
        it_.seek(make_internal_key(uk, 0, static_cast<value_kind>(0xff)));
        return;
      }
      it_.next();
    }
  }

  // Moves forward to the first user key with a live version at the snapshot.
  void settle_forward() {
    valid_ = false;
    while (it_.valid()) {
      std::string_view k = it_.key();
      std::string_view uk = user_key_of(k);
      if (spec_.upper && uk.compare(*spec_.upper) >= 0) return;
      if (timestamp_of(k) > spec_.ts) {  // newer than the snapshot
        it_.next();
        continue;
      }
      value_kind kind = kind_of(k);
      if (kind != value_kind::deletion) {
        stored_value sv = decode_stored_value(kind, it_.value());
        if (spec_.now_ms == 0 || !sv.expired(spec_.now_ms)) {
          value_ = sv.value;
          expiry_ = sv.expiry_ms;
          valid_ = true;
          return;
        }
      }
      saved_key_.assign(uk);
      it_.next();
      skip_versions_of(saved_key_);
    }
  }

  // Moves backward to the previous user key with a live version at the snapshot. The iterator
  // sits on the oldest version of some user key (or is invalid); walking back over that key's
  // versions ends on its newest one <= ts, which decides.
  void settle_backward() {
    valid_ = false;
    while (it_.valid()) {
      std::string_view uk = user_key_of(it_.key());
      if (uk.compare(spec_.lower) < 0) return;
      saved_key_.assign(uk);
      bool have = false;
      bool live = false;
      while (it_.valid()) {
        std::string_view k = it_.key();
        if (user_key_of(k) != saved_key_) break;
        if (timestamp_of(k) <= spec_.ts) {
          have = true;
          value_kind kind = kind_of(k);
          live = false;
          if (kind != value_kind::deletion) {
            stored_value sv = decode_stored_value(kind, it_.value());
            if (spec_.now_ms == 0 || !sv.expired(spec_.now_ms)) {
              saved_value_.assign(sv.value);
              expiry_ = sv.expiry_ms;
              live = true;
            }
          }
        }
        it_.prev();
      }
      if (have && live) {
        valid_ = true;
        return;
      }
    }
  }

  It it_;
  scan_spec spec_;
  bool valid_ = false;
  std::string saved_key_;
  std::string saved_value_;
  std::string_view value_;
  std::uint64_t expiry_ = 0;
};

SOCHDB_END_NAMESPACE
