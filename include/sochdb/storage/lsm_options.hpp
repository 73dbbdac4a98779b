// sochdb/storage/lsm_options.hpp — options and statistics of the LSM backend (lsm_storage.hpp).
//
// Kept apart from lsm_storage.hpp so storage_options (concepts.hpp) and the database options can
// carry them without pulling in the engine. docs/storage.md explains each knob.
//
// Thread safety: plain values.
#pragma once

#include <sochdb/core/error.hpp>

#include <cstdint>
#include <string>
#include <vector>

SOCHDB_BEGIN_NAMESPACE

/// Settings of a compression policy (compression.hpp).
struct compression_options {
  int level = 0;           ///< 0: the method's default (zstd 3; lz4 fast); lz4: > 0 selects LZ4HC
  std::string dictionary;  ///< zstd only: a dictionary from zstd_train_dictionary; "" = none
};

/// Shape and budgets of the LSM tree (lsm_storage). The memtable size and the sync mode are in
/// storage_options.
struct lsm_options {
  std::uint64_t block_size = 4096;  ///< raw bytes per SSTable data block; default 4 KiB
  int bloom_bits_per_key = 10;      ///< bloom filter bits per key, 0 = none; default 10 (~1% FP)
  std::uint64_t block_cache_size = 128ull << 20;  ///< decoded blocks kept; default 128 MiB
  compression_options compression;                ///< level / dictionary for the policy
  int level_ratio = 10;                           ///< size ratio between levels; default 10
  int max_levels = 7;                             ///< L0 .. L6; default 7
  std::uint64_t target_file_size = 32ull << 20;   ///< SSTable size compaction cuts at; 32 MiB
  std::uint64_t level1_size = 256ull << 20;       ///< L1's budget (L2 = ratio x ...); 256 MiB
  int l0_compaction_trigger = 4;      ///< L0 files that start an L0 -> L1 compaction; default 4
  int l0_slowdown_trigger = 12;       ///< L0 files from which each write group waits 1 ms; 12
  int l0_stop_trigger = 20;           ///< L0 files at which a full memtable waits; default 20
  int max_immutable_memtables = 2;    ///< full memtables awaiting flush before writes wait; 2
  bool use_mmap_reads = false;        ///< read SSTables through mmap instead of pread; default off
  bool background_compaction = true;  ///< compact in a background thread; default on
  bool flush_on_close = true;  ///< close() flushes a memtable of >= 1/16 memtable_size, so the
                               ///< next open replays at most that much WAL (default on)
  std::uint64_t max_manifest_size = 4ull << 20;  ///< a new manifest is written past this; 4 MiB

  void validate() const {
    auto bad = [](const std::string& what) { throw invalid_argument("lsm_options: " + what); };
    if (block_size < 256 || block_size > (64ull << 20)) bad("block_size must be in [256, 64 MiB]");
    if (bloom_bits_per_key < 0 || bloom_bits_per_key > 40) {
      bad("bloom_bits_per_key must be in [0, 40]");
    }
    if (level_ratio < 2 || level_ratio > 1000) bad("level_ratio must be in [2, 1000]");
    if (max_levels < 2 || max_levels > 16) bad("max_levels must be in [2, 16]");
    if (target_file_size < 1024) bad("target_file_size must be >= 1024");
    if (level1_size < 1024) bad("level1_size must be >= 1024");
    if (l0_compaction_trigger < 1) bad("l0_compaction_trigger must be >= 1");
    if (l0_slowdown_trigger < l0_compaction_trigger) {
      bad("l0_slowdown_trigger must be >= l0_compaction_trigger");
    }
    if (l0_stop_trigger < l0_slowdown_trigger)
      bad("l0_stop_trigger must be >= l0_slowdown_trigger");
    if (max_immutable_memtables < 1 || max_immutable_memtables > 64) {
      bad("max_immutable_memtables must be in [1, 64]");
    }
    if (max_manifest_size < 4096) bad("max_manifest_size must be >= 4096");
  }
};

/// One level of the tree in lsm_stats.
struct lsm_level_stats {
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
  std::uint64_t entries = 0;
  std::uint64_t compactions = 0;    ///< compactions that wrote into this level since open
  std::uint64_t bytes_read = 0;     ///< by those compactions, from this level and the one above
  std::uint64_t bytes_written = 0;  ///< by those compactions (flushes for L0)
};

/// LSM-specific counters (storage_stats::lsm; `enabled` is false for other backends).
struct lsm_stats {
  bool enabled = false;
  std::vector<lsm_level_stats> levels;
  std::uint64_t immutable_memtables = 0;  ///< full memtables waiting to be flushed
  std::uint64_t flushes = 0;
  std::uint64_t flush_bytes = 0;    ///< SSTable bytes written by flushes
  std::uint64_t compactions = 0;    ///< merges run (trivial moves not included)
  std::uint64_t trivial_moves = 0;  ///< files moved down a level without rewriting
  std::uint64_t compaction_bytes_read = 0;
  std::uint64_t compaction_bytes_written = 0;
  std::uint64_t user_bytes = 0;         ///< key + value bytes committed since open
  std::uint64_t wal_bytes_written = 0;  ///< WAL bytes appended since open
  double write_amplification = 0;       ///< (WAL + flush + compaction bytes) / user bytes
  std::uint64_t stall_micros = 0;       ///< time writes waited (slowdowns and stops)
  std::uint64_t slowdowns = 0;          ///< 1 ms delays applied (L0 >= slowdown trigger)
  std::uint64_t stops = 0;              ///< waits for a flush or compaction
  std::uint64_t cache_capacity = 0;
  std::uint64_t cache_usage = 0;
  std::uint64_t cache_hits = 0;
  std::uint64_t cache_misses = 0;
  double cache_hit_rate = 0;
  std::uint64_t bloom_checks = 0;  ///< point lookups that consulted a filter
  std::uint64_t bloom_useful = 0;  ///< ... that the filter answered "absent" (no block read)
  std::uint64_t block_reads = 0;   ///< data blocks read from files (cache misses, compaction)
  std::uint64_t table_memory = 0;  ///< bytes of index and filter blocks held by open tables
  std::uint64_t open_tables = 0;
  std::uint64_t sst_files = 0;
  std::uint64_t sst_bytes = 0;
  std::uint64_t obsolete_files_deleted = 0;
  std::uint64_t manifest_number = 0;
  std::string background_error;  ///< "" while healthy
};

SOCHDB_END_NAMESPACE
