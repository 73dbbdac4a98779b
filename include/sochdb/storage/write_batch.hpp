// sochdb/storage/write_batch.hpp — an ordered list of puts and deletes committed atomically.
//
// A batch is what the commit pipeline hands to storage: it becomes one transaction in the WAL
// (BEGIN_TXN, one PUT or DELETE record per operation, COMMIT_TXN) and its versions all carry
// the same commit timestamp, so readers see all of it or none of it. When a batch names one key
// twice, the later operation wins.
//
// Representation: one contiguous buffer of operations
//     op (1 byte: 1 put, 2 delete) | varint key_len | key | [put: varint expiry_ms | varint
//     value_len | value]
// so building a batch allocates only when the buffer grows, and the WAL encoder walks it once.
// The buffer is in memory only; the WAL has its own format (docs/formats/wal.md).
//
// Thread safety: a batch is a value; concurrent const access is fine.
#pragma once

#include <sochdb/core/coding.hpp>

#include <cstdint>
#include <string>
#include <string_view>

SOCHDB_BEGIN_NAMESPACE

/// One operation of a write_batch, as seen by `for_each`.
struct batch_op {
  enum class type : std::uint8_t { put = 1, del = 2 };
  type op;
  std::string_view key;
  std::string_view value;       ///< empty for a delete
  std::uint64_t expiry_ms = 0;  ///< put only; 0 = never expires (Unix milliseconds otherwise)
};

class write_batch {
 public:
  /// Adds a put; `expiry_ms` (Unix ms, 0 = never) makes the value invisible from that instant.
  write_batch& put(std::string_view key, std::string_view value, std::uint64_t expiry_ms = 0) {
    rep_.push_back(static_cast<char>(batch_op::type::put));
    put_length_prefixed(rep_, key);
    put_varint64(rep_, expiry_ms);
    put_length_prefixed(rep_, value);
    ++count_;
    payload_bytes_ += key.size() + value.size();
    return *this;
  }
  /// Adds a delete.
  write_batch& del(std::string_view key) {
    rep_.push_back(static_cast<char>(batch_op::type::del));
    put_length_prefixed(rep_, key);
    ++count_;
    payload_bytes_ += key.size();
    return *this;
  }
  void clear() noexcept {
    rep_.clear();
    count_ = 0;
    payload_bytes_ = 0;
  }

  [[nodiscard]] std::size_t count() const noexcept { return count_; }
  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
  /// Sum of key and value sizes.
  [[nodiscard]] std::size_t payload_bytes() const noexcept { return payload_bytes_; }

  /// Calls f(const batch_op&) for every operation in insertion order.
  template <class F>
  void for_each(F&& f) const {
    std::string_view in = rep_;
    while (!in.empty()) {
      batch_op op{static_cast<batch_op::type>(in.front()), {}, {}, 0};
      in.remove_prefix(1);
      op.key = take(in);
      if (op.op == batch_op::type::put) {
        std::uint64_t e = 0;
        get_varint64(in, e);
        op.expiry_ms = e;
        op.value = take(in);
      }
      f(static_cast<const batch_op&>(op));
    }
  }

 private:
  // The buffer is built only by put/del above, so it is well formed.
  static std::string_view take(std::string_view& in) {
    std::uint64_t n = 0;
    get_varint64(in, n);
    std::string_view s = in.substr(0, static_cast<std::size_t>(n));
    in.remove_prefix(static_cast<std::size_t>(n));
    return s;
  }
  std::string rep_;
  std::size_t count_ = 0;
  std::size_t payload_bytes_ = 0;
};

SOCHDB_END_NAMESPACE
