// sochdb/db/options.hpp — database_options: durability, sizes and limits of a database.
//
// An aggregate for designated initializers:
//     sochdb::database::open("./db", {.sync = sochdb::sync_mode::normal});
// validated once by open() (invalid_argument naming the field).
#pragma once

#include <sochdb/storage/concepts.hpp>

#include <chrono>
#include <cstdint>

SOCHDB_BEGIN_NAMESPACE

/// Hard ceilings of the formats (the options below may only lower them).
inline constexpr std::size_t max_key_size_limit = 1u << 20;     ///< 1 MiB
inline constexpr std::size_t max_value_size_limit = 1u << 30;   ///< 1 GiB
inline constexpr std::size_t max_batch_bytes_limit = 1u << 30;  ///< 1 GiB

struct database_options {
  // ---- durability (docs/kv.md "Durability") ----
  sync_mode sync = sync_mode::full;              ///< default full: a commit returns when synced
  std::chrono::milliseconds sync_interval{100};  ///< normal mode: sync period; default 100 ms
  std::uint64_t wal_segment_size = 64ull << 20;  ///< WAL segment roll size; default 64 MiB
  std::uint64_t memtable_size = 64ull << 20;     ///< bytes; a checkpoint (with version GC)
                                                 ///< runs when the memtable's entries exceed
                                                 ///< max(this, 2 x their size after the last
                                                 ///< one); default 64 MiB
  bool auto_checkpoint = true;                   ///< checkpoint in the background; default on
  bool skip_corrupt_records = false;  ///< recover past damage in the middle of the WAL (the
                                      ///< damaged transactions are lost); default off: error
  bool create_if_missing = true;      ///< default on
  bool error_if_exists = false;       ///< default off

  // ---- limits ----
  std::size_t max_key_size = 64 * 1024;        ///< bytes; default 64 KiB, at most 1 MiB
  std::size_t max_value_size = 64ull << 20;    ///< bytes; default 64 MiB, at most 1 GiB
  std::size_t max_batch_bytes = 256ull << 20;  ///< key+value bytes of one batch; default
                                               ///< 256 MiB, at most 1 GiB
  std::size_t max_group_bytes = 4ull << 20;    ///< group commit: a leader stops adding
                                               ///< members past this payload; default 4 MiB
  std::size_t ssi_memory_limit = 64ull << 20;  ///< bytes of serializable-conflict tracking
                                               ///< (read sets, recent writes) before the
                                               ///< oldest is summarized; default 64 MiB

  void validate() const {
    auto bad = [](const char* what) {
      throw invalid_argument(std::string("database_options: ") + what);
    };
    if (max_key_size == 0 || max_key_size > max_key_size_limit)
      bad("max_key_size must be in [1, 1 MiB]");
    if (max_value_size > max_value_size_limit) bad("max_value_size must be at most 1 GiB");
    if (max_batch_bytes == 0 || max_batch_bytes > max_batch_bytes_limit)
      bad("max_batch_bytes must be in [1, 1 GiB]");
    if (max_group_bytes == 0) bad("max_group_bytes must be positive");
    if (ssi_memory_limit < 4096) bad("ssi_memory_limit must be at least 4096 bytes");
    storage().validate();
  }

  /// The part the storage backend reads.
  [[nodiscard]] storage_options storage() const {
    return storage_options{.sync = sync,
                           .sync_interval = sync_interval,
                           .wal_segment_size = wal_segment_size,
                           .memtable_size = memtable_size,
                           .auto_checkpoint = auto_checkpoint,
                           .skip_corrupt_records = skip_corrupt_records,
                           .create_if_missing = create_if_missing,
                           .error_if_exists = error_if_exists};
  }
};

SOCHDB_END_NAMESPACE
