// sochdb/storage/lsm_storage.hpp — the durable default backend: WAL + memtables + leveled
// SSTables.
//
// Writes: each committed group is appended to the WAL (one write, synced as the sync mode says;
// the same records as wal_storage, docs/formats/wal.md) and inserted into the active memtable.
// When the memtable's entries exceed `memtable_size`, the WAL rolls to a new segment and the
// memtable becomes immutable; a background thread writes it to an L0 SSTable (sstable.hpp),
// records the file in the manifest (manifest.hpp) together with the first WAL segment still
// needed, and only then deletes the segments the memtable covered. Writes continue into a fresh
// memtable meanwhile.
//
// Write stalls (bounded, docs/storage.md): while L0 holds `l0_slowdown_trigger` files or more,
// each write group is delayed 1 ms once; a full memtable waits when `max_immutable_memtables`
// are already waiting for flush or L0 holds `l0_stop_trigger` files, until the flush or
// compaction thread makes room. Both are counted in stats().lsm (stall time).
//
// Compaction (a second background thread, or compact()/compact_range() on the caller's
// thread): leveled, L0 files may overlap, L1+ do not; level i+1 may hold level_ratio times
// level i (L1: level1_size). The level with the highest score (L0: files / trigger; Li: bytes /
// budget) >= 1 is compacted: all of L0 with the overlapping L1 files, or one Li file (round
// robin by a per-level pointer) with the overlapping Li+1 files; a file with nothing to merge
// with is moved down by a manifest edit alone. Merging drops every version no reader can see.
// The read points are the live snapshots' timestamps (set_snapshot_points; the database passes
// its snapshot tracker's) and the top, min(published, last applied); without a points function
// the only point is the snapshot horizon (set_snapshot_horizon). Versions above the top are
// kept; below it a version is kept only if it is the newest at or below some read point (so of
// the versions between two live snapshots only the newest survives); the newest at or below the
// oldest point is dropped at the bottommost level when it is a deletion or an expired value
// (elsewhere an expired value becomes a deletion). Output files are cut at target_file_size,
// only between user keys.
//
// Reads: memtable, immutable memtables, L0 files newest first, then one file per level
// (bloom-filtered, min-timestamp-filtered); scans merge all sources (merging_iterator) under a
// snapshot_cursor, in either direction, pinned to one read_state so they stay consistent while
// flushes and compactions replace files. Blocks come through a sharded LRU cache
// (block_cache.hpp), by pread or mmap (lsm_options::use_mmap_reads).
//
// Recovery = manifest + WAL tail: CURRENT -> MANIFEST -> live files, log_number and
// flushed_ts; the WAL segments from log_number on are replayed (commits above flushed_ts) into
// a memtable. Files the manifest does not list (interrupted flushes or compactions) and WAL
// segments below log_number are deleted. A new manifest is written at every open and whenever
// the live one exceeds max_manifest_size. SSTables are opened on first use, so opening costs
// the manifest and the WAL tail, not the data.
//
// Errors: an I/O error or corruption in the WAL, a flush or a compaction stops the backend from
// accepting writes (reads keep working); reopen to recover. A corrupted SSTable block fails
// only the reads that touch it, with the file name and offset.
//
// Thread safety: as the storage_backend concept says (reads never lock; apply, checkpoint and
// compact serialize internally). Lock order: compaction_mu_ -> manifest_mu_ -> write_mu_.
#pragma once

#include <sochdb/core/clock.hpp>
#include <sochdb/core/fs.hpp>
#include <sochdb/storage/compression.hpp>
#include <sochdb/storage/concepts.hpp>
#include <sochdb/storage/detail/lsm_version.hpp>
#include <sochdb/storage/detail/mem_store.hpp>
#include <sochdb/storage/manifest.hpp>
#include <sochdb/storage/sstable.hpp>
#include <sochdb/storage/wal.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <thread>
#include <utility>
#include <vector>

SOCHDB_BEGIN_NAMESPACE

template <file_system Fs = posix_fs, compression Compression = lz4>
class lsm_storage {
  using env_type = detail::lsm_env<Fs, Compression>;
  using meta_type = detail::file_meta<Fs, Compression>;
  using file_ptr = detail::file_ptr<Fs, Compression>;
  using version_type = detail::version<Fs, Compression>;
  using read_state_type = detail::read_state<Fs, Compression>;
  using reader_type = sst_reader<Fs, Compression>;

 public:
  using fs_type = Fs;
  using compression_type = Compression;
  using internal_iterator = detail::merging_iterator<Fs, Compression>;
  using cursor = snapshot_cursor<internal_iterator>;

  /// Opens `dir` (creating it when allowed), takes its lock and recovers.
  static std::unique_ptr<lsm_storage> open(Fs fs, const std::string& dir,
                                           const storage_options& opt) {
    opt.validate();
    std::unique_ptr<lsm_storage> s(new lsm_storage(std::move(fs), dir, opt));
    s->recover();
    s->flush_thread_ = std::jthread([p = s.get()](std::stop_token st) { p->flush_loop(st); });
    if (opt.auto_checkpoint && opt.lsm.background_compaction) {
      s->bg_compaction_ = true;
      s->compact_thread_ =
          std::jthread([p = s.get()](std::stop_token st) { p->compaction_loop(st); });
      s->wake_compaction();
    }
    return s;
  }

  lsm_storage(const lsm_storage&) = delete;
  lsm_storage& operator=(const lsm_storage&) = delete;
  ~lsm_storage() {
    try {
      close();
    } catch (...) {
      // A destructor cannot report; close() explicitly to see errors.
    }
  }

  // ---- writes ----

  void apply(std::span<const commit_entry> group) {
    if (group.empty()) return;
    std::unique_lock lk(write_mu_);
    throw_if_unusable();
    make_room(lk);
    buf_.clear();
    std::uint64_t prev = last_ts_;
    std::uint64_t payload = 0;
    for (const auto& e : group) {
      if (e.commit_ts <= prev) {
        throw invalid_argument("apply: commit_ts " + std::to_string(e.commit_ts) +
                               " is not after " + std::to_string(prev));
      }
      prev = e.commit_ts;
      payload += e.batch->payload_bytes();
      append_wal_transaction(buf_, e.txn_id, e.commit_ts, *e.batch);
    }
    try {
      wal_.append(buf_);
      if (opt_.sync == sync_mode::full) {
        wal_.sync();
        last_sync_ = std::chrono::steady_clock::now();
      } else if (opt_.sync == sync_mode::normal) {
        auto now = std::chrono::steady_clock::now();
        if (now - last_sync_ >= opt_.sync_interval) {
          wal_.sync();
          last_sync_ = now;
        }
      }
    } catch (const std::exception& e) {
      mark_failed(e.what());
      throw;
    }
    for (const auto& e : group) inserter_.insert_batch(*mem_, *e.batch, e.commit_ts);
    last_ts_ = prev;
    published_.store(prev, std::memory_order_release);
    commits_ += group.size();
    ++groups_;
    user_bytes_ += payload;
    wal_bytes_written_ += buf_.size();
  }

  // ---- reads ----

  bool get(std::string_view key, std::uint64_t ts, std::uint64_t now_ms, std::string& out) const {
    auto rs = read_state();
    std::string_view v;
    std::uint64_t h = bloom_hash(key);
    deeper_files deeper{};
    plan_point_read(*rs, key, ts, h, deeper);
    if (rs->mem->may_contain(h)) {
      auto it = rs->mem->begin_point_lookup(key, h);
      auto st = lookup_version(it, key, ts, now_ms, v);
      if (st != lookup_state::absent) return found(st, v, out);
    }
    for (const auto& m : rs->imm) {
      if (!m->may_contain(h)) continue;
      auto it = m->begin_point_lookup(key, h);
      auto st = lookup_version(it, key, ts, now_ms, v);
      if (st != lookup_state::absent) return found(st, v, out);
    }
    const version_type& ver = *rs->ver;
    if (ver.levels[0].empty() && all_upper_empty(ver)) return false;
    lookup_target target(key, ts);
    for (const auto& f : ver.levels[0]) {
      if (f->info.min_ts > ts || !f->covers(key)) continue;
      auto st = f->table().get(target.view(), key, h, now_ms, out);
      if (st != lookup_state::absent) return st == lookup_state::found;
    }
    for (std::size_t l = 1; l < ver.levels.size(); ++l) {
      const meta_type* f = deeper[l];
      if (f == nullptr || key.compare(f->smallest_user) < 0) continue;
      auto st = f->table().get(target.view(), key, h, now_ms, out);
      if (st != lookup_state::absent) return st == lookup_state::found;
    }
    return false;
  }

  [[nodiscard]] std::uint64_t newest_ts(std::string_view key) const {
    auto rs = read_state();
    std::uint64_t h = bloom_hash(key);
    auto in_mem = [&](const memtable& m) -> std::uint64_t {
      if (!m.may_contain(h)) return 0;
      auto it = m.begin_point_lookup(key, h);
      it.seek(lookup_key(key, max_timestamp));
      if (!it.valid() || user_key_of(it.key()) != key) return 0;
      return timestamp_of(it.key());
    };
    if (auto t = in_mem(*rs->mem)) return t;
    for (const auto& m : rs->imm) {
      if (auto t = in_mem(*m)) return t;
    }
    for (const auto& f : rs->ver->levels[0]) {
      if (!f->covers(key)) continue;
      if (auto t = f->table().newest_ts(key, h)) return t;
    }
    for (std::size_t l = 1; l < rs->ver->levels.size(); ++l) {
      const auto& files = rs->ver->levels[l];
      std::size_t i = rs->ver->find_file(static_cast<int>(l), key);
      if (i >= files.size() || !files[i]->covers(key)) continue;
      if (auto t = files[i]->table().newest_ts(key, h)) return t;
    }
    return 0;
  }

  [[nodiscard]] cursor scan(const scan_spec& spec) const {
    return cursor(internal_iterator::over(read_state()), spec);
  }

  /// An iterator over every internal key (all versions) of the current state, for tools and
  /// tests.
  [[nodiscard]] internal_iterator internal_scan() const {
    return internal_iterator::over(read_state());
  }

  void set_snapshot_horizon(std::function<std::uint64_t()> f) {
    std::lock_guard lk(write_mu_);
    horizon_ = std::move(f);
  }

  /// The finer form of the horizon: `f(points)` fills `points` with the timestamps of every
  /// live snapshot followed by the published timestamp (any order, duplicates allowed). Version
  /// GC then keeps, below the top, only the newest version at or below each point. Called under
  /// the backend's write lock: it must not call back into the backend. Replaces the horizon.
  void set_snapshot_points(std::function<void(std::vector<std::uint64_t>&)> f) {
    std::lock_guard lk(write_mu_);
    points_ = std::move(f);
  }

  // ---- maintenance ----

  /// Syncs the WAL: everything applied so far is durable.
  void flush() {
    std::lock_guard lk(write_mu_);
    throw_if_unusable();
    try {
      wal_.sync();
      last_sync_ = std::chrono::steady_clock::now();
    } catch (const std::exception& e) {
      mark_failed(e.what());
      throw;
    }
  }

  /// Flushes the memtable to L0 and waits until every full memtable is on disk; the WAL
  /// written so far is then deleted. Versions below the snapshot horizon are dropped on the
  /// way (the storage_backend contract's checkpoint).
  void checkpoint() {
    std::unique_lock lk(write_mu_);
    throw_if_unusable();
    if (mem_->entries() != 0) {
      switch_memtable();
    } else if (imm_.empty()) {
      ++checkpoints_;
      return;
    }
    std::uint64_t target = switches_;
    stall_cv_.wait(lk, [&] { return flushed_switches_ >= target || !failed_.empty() || closing_; });
    throw_if_unusable();
    ++checkpoints_;
  }

  /// Flushes, then compacts every level down to the deepest level that holds data and rewrites
  /// that one too: afterwards the data sits in one sorted level with only the versions a
  /// reader can still see.
  void compact() { compact_range({}, std::nullopt); }

  /// compact() restricted to the files overlapping user keys [begin, end) (end: nullopt = to
  /// the last key).
  void compact_range(std::string_view begin, std::optional<std::string_view> end) {
    checkpoint();
    std::lock_guard ck(compaction_mu_);
    int deepest = -1;
    {
      std::lock_guard mk(manifest_mu_);
      for (int l = 0; l < opt_.lsm.max_levels; ++l) {
        if (!overlapping(*ver_, l, begin, end).empty()) deepest = l;
      }
    }
    if (deepest < 0) return;
    // L0 always moves to L1; the files of the deepest level that the merge from above did not
    // rewrite are rewritten in place.
    int last = std::max(deepest, 1);
    std::set<std::uint64_t> fresh;  // outputs of the previous step
    for (int level = 0; level <= last; ++level) {
      std::shared_ptr<const version_type> v;
      {
        std::lock_guard mk(manifest_mu_);
        v = ver_;
      }
      auto in0 = overlapping(*v, level, begin, end);
      std::erase_if(in0, [&](const file_ptr& f) { return fresh.count(f->info.number) != 0; });
      fresh.clear();
      if (in0.empty()) continue;
      compaction_job c;
      c.level = level;
      c.out_level = level == last ? level : level + 1;
      c.inputs[0] = std::move(in0);
      c.manual = true;
      if (c.out_level != c.level) expand_to_next_level(*v, c);
      try {
        for (auto n : run_compaction(c)) fresh.insert(n);
      } catch (const aborted&) {
        throw closed("database '" + dir_ + "' closed during compact()");
      }
      throw_if_failed_locked();
    }
  }

  [[nodiscard]] storage_stats stats() const {
    storage_stats s;
    std::shared_ptr<const read_state_type> rs;
    {
      std::lock_guard lk(write_mu_);
      s.commits = commits_;
      s.commit_groups = groups_;
      s.wal_syncs = wal_.syncs();
      s.checkpoints = checkpoints_;
      s.gc_dropped_versions = gc_dropped_;
      s.last_commit_ts = last_ts_;
      s.recovery = recovery_;
      s.lsm.immutable_memtables = imm_.size();
      s.lsm.user_bytes = user_bytes_;
      s.lsm.wal_bytes_written = wal_bytes_written_;
      s.lsm.stall_micros = stall_micros_;
      s.lsm.slowdowns = slowdowns_;
      s.lsm.stops = stops_;
      s.lsm.background_error = failed_;
      rs = read_state();
    }
    s.lsm.enabled = true;
    s.memtable_entries = rs->mem->entries();
    s.memtable_bytes = rs->mem->memory_usage();
    s.data_bytes = rs->mem->data_bytes();
    for (const auto& m : rs->imm) {
      s.memtable_entries += m->entries();
      s.memtable_bytes += m->memory_usage();
      s.data_bytes += m->data_bytes();
    }
    {
      std::lock_guard mk(counters_mu_);
      s.lsm.levels = level_counters_;
      s.lsm.flushes = flushes_;
      s.lsm.flush_bytes = flush_bytes_;
      s.lsm.compactions = compactions_;
      s.lsm.trivial_moves = trivial_moves_;
      s.lsm.compaction_bytes_read = compaction_read_;
      s.lsm.compaction_bytes_written = compaction_written_;
      s.lsm.manifest_number = manifest_number_;
    }
    s.lsm.levels.resize(rs->ver->levels.size());
    for (std::size_t l = 0; l < rs->ver->levels.size(); ++l) {
      auto& ls = s.lsm.levels[l];
      ls.files = rs->ver->levels[l].size();
      ls.bytes = 0;
      ls.entries = 0;
      for (const auto& f : rs->ver->levels[l]) {
        ls.bytes += f->info.size;
        ls.entries += f->info.entries;
      }
      s.lsm.sst_files += ls.files;
      s.lsm.sst_bytes += ls.bytes;
    }
    if (s.lsm.user_bytes != 0) {
      s.lsm.write_amplification = static_cast<double>(s.lsm.wal_bytes_written + s.lsm.flush_bytes +
                                                      s.lsm.compaction_bytes_written) /
                                  static_cast<double>(s.lsm.user_bytes);
    }
    auto cs = env_->cache.stats();
    s.lsm.cache_capacity = cs.capacity;
    s.lsm.cache_usage = cs.usage;
    s.lsm.cache_hits = cs.hits;
    s.lsm.cache_misses = cs.misses;
    s.lsm.cache_hit_rate = cs.hit_rate();
    s.lsm.bloom_checks = env_->counters.bloom_checks.load(std::memory_order_relaxed);
    s.lsm.bloom_useful = env_->counters.bloom_useful.load(std::memory_order_relaxed);
    s.lsm.block_reads = env_->counters.block_reads.load(std::memory_order_relaxed);
    s.lsm.table_memory = env_->table_memory.load(std::memory_order_relaxed);
    s.lsm.open_tables = env_->open_tables.load(std::memory_order_relaxed);
    s.lsm.obsolete_files_deleted = env_->deleted.load(std::memory_order_relaxed);
    s.checkpoint_bytes = 0;
    try {
      for (auto& name : fs_.list(dir_)) {
        if (auto n = parse_numbered_name(name, ".log")) {
          try {
            s.wal_bytes += fs_.file_size(path_join(dir_, name));
            ++s.wal_segments;
          } catch (const not_found&) {  // removed by a concurrent flush
          }
        }
      }
    } catch (const error&) {  // the directory is unreadable (e.g. simulated power loss)
    }
    return s;
  }

  [[nodiscard]] std::uint64_t last_commit_ts() const noexcept {
    return published_.load(std::memory_order_acquire);
  }

  /// Stops the background threads (an interrupted compaction leaves no trace), syncs the WAL
  /// and releases the lock. With flush_on_close, a memtable holding 1/16 of memtable_size or
  /// more (or memtables still waiting for flush) is flushed first, so the next open replays at
  /// most that much WAL; a smaller one stays in the WAL (replayed in milliseconds) rather than
  /// becoming a tiny L0 file per close. Idempotent.
  void close() {
    if (opt_.lsm.flush_on_close) {
      bool flush = false;
      {
        std::lock_guard lk(write_mu_);
        flush = recovered_ && !closed_ && failed_.empty() &&
                (mem_->approximate_size() * 16 >= opt_.memtable_size || !imm_.empty());
      }
      if (flush) checkpoint();
    }
    {
      std::lock_guard lk(write_mu_);
      closing_ = true;
      stall_cv_.notify_all();
    }
    stop_threads();
    // The documented lock order (manifest_mu_ before write_mu_), as install() takes them.
    std::lock_guard mk(manifest_mu_);
    std::lock_guard lk(write_mu_);
    if (closed_) return;
    closed_ = true;
    auto release = [&] { lock_ = typename Fs::lock_handle{}; };
    if (failed_.empty()) {
      try {
        wal_.close();
        manifest_.close();
      } catch (...) {
        release();
        throw;
      }
    }
    release();
  }

  [[nodiscard]] const std::string& directory() const noexcept { return dir_; }
  [[nodiscard]] const storage_options& options() const noexcept { return opt_; }

  /// Waits until no flush is pending and no compaction is due or running (tests, tools).
  void wait_for_background() {
    for (;;) {
      {
        std::unique_lock lk(write_mu_);
        stall_cv_.wait(lk, [&] { return imm_.empty() || !failed_.empty() || closing_; });
        throw_if_unusable();
      }
      if (!opt_.auto_checkpoint || !opt_.lsm.background_compaction) return;
      std::lock_guard ck(compaction_mu_);
      std::lock_guard mk(manifest_mu_);
      if (!pick_compaction(*ver_)) return;
      // A compaction is due: let the thread run it.
      wake_compaction();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

 private:
  struct imm_entry {
    std::shared_ptr<memtable> mem;
    std::uint64_t next_log = 0;  // first WAL segment not covered by it
    std::uint64_t last_ts = 0;
  };

  struct compaction_job {
    int level = 0;      // inputs[0] come from here
    int out_level = 1;  // inputs[1] and the outputs live here (level + 1, or level itself when
                        // a manual compaction rewrites the deepest level in place)
    std::vector<file_ptr> inputs[2];
    bool manual = false;
  };

  class aborted {};  // thrown inside a compaction when the backend closes

  // Per level >= 1, the one file a point read may visit there (nullptr: none); max_levels <= 16.
  using deeper_files = std::array<const meta_type*, 16>;

  // Starts loading the first cache line each source of a point read probes — the memtables'
  // point-index slots or filters, the filters of the SSTables it may visit — so that the
  // misses overlap rather than follow one another (each is otherwise a full memory latency).
  // Fills `deeper` with the file of each level >= 1 whose range may hold `key` at `ts`.
  void plan_point_read(const read_state_type& rs, std::string_view key, std::uint64_t ts,
                       std::uint64_t h, deeper_files& deeper) const noexcept {
    rs.mem->prefetch(h);
    for (const auto& m : rs.imm) m->prefetch(h);
    const version_type& ver = *rs.ver;
    for (const auto& f : ver.levels[0]) {
      if (f->info.min_ts > ts || !f->covers(key)) continue;
      if (const auto* r = f->table_if_open()) r->prefetch_filter(h);
    }
    for (std::size_t l = 1; l < ver.levels.size(); ++l) {
      const auto& files = ver.levels[l];
      if (files.empty()) continue;
      std::size_t i = ver.find_file(static_cast<int>(l), key);
      if (i >= files.size() || files[i]->info.min_ts > ts) continue;
      deeper[l] = files[i].get();
      if (const auto* r = files[i]->table_if_open()) r->prefetch_filter(h);
    }
  }

  // The lookup key user_key | ~ts | 0 on the stack for ordinary keys.
  class lookup_target {
   public:
    lookup_target(std::string_view user_key, std::uint64_t ts) {
      std::size_t n = user_key.size() + internal_key_trailer;
      if (n <= sizeof stack_) {
        std::memcpy(stack_, user_key.data(), user_key.size());
        encode_fixed64_be(stack_ + user_key.size(), ~ts);
        stack_[user_key.size() + 8] = static_cast<char>(value_kind::deletion);
        view_ = std::string_view(stack_, n);
      } else {
        heap_ = lookup_key(user_key, ts);
        view_ = heap_;
      }
    }
    [[nodiscard]] std::string_view view() const noexcept { return view_; }

   private:
    char stack_[192];
    std::string heap_;
    std::string_view view_;
  };

  lsm_storage(Fs fs, std::string dir, storage_options opt)
      : fs_(fs),
        dir_(std::move(dir)),
        opt_(std::move(opt)),
        wal_(fs_, dir_, opt_.wal_segment_size),
        manifest_(fs_, dir_),
        level_counters_(static_cast<std::size_t>(opt_.lsm.max_levels)) {
    env_ = std::make_shared<env_type>(fs_, dir_, opt_.lsm.block_cache_size, opt_.lsm.use_mmap_reads,
                                      opt_.lsm.compression);
  }

  static bool found(lookup_state st, std::string_view v, std::string& out) {
    if (st != lookup_state::found) return false;
    out.assign(v);
    return true;
  }
  static bool all_upper_empty(const version_type& v) {
    for (std::size_t l = 1; l < v.levels.size(); ++l) {
      if (!v.levels[l].empty()) return false;
    }
    return true;
  }

  [[nodiscard]] std::shared_ptr<const read_state_type> read_state() const {
    std::lock_guard g(rs_mu_);
    return rs_;
  }

  static std::uint64_t wall_ms() { return system_ms_source{}(); }

  void throw_if_unusable() const {
    if (closed_ || closing_) throw closed("database '" + dir_ + "' is closed");
    if (!failed_.empty()) {
      throw io_error("database '" + dir_ + "' stopped accepting writes after an error (" + failed_ +
                     "); reopen it to recover");
    }
  }
  void throw_if_failed_locked() {
    std::lock_guard lk(write_mu_);
    throw_if_unusable();
  }
  // Caller holds write_mu_.
  void mark_failed(const std::string& what) {
    if (failed_.empty()) failed_ = what.empty() ? "unknown error" : what;
    stall_cv_.notify_all();
  }
  void fail_background(const std::string& what) {
    std::lock_guard lk(write_mu_);
    mark_failed(what);
  }

  // Publishes mem_, imm_ and ver_ as the new read state. Caller holds write_mu_.
  void publish() {
    auto rs = std::make_shared<read_state_type>();
    rs->mem = mem_;
    rs->imm.reserve(imm_.size());
    for (auto it = imm_.rbegin(); it != imm_.rend(); ++it) rs->imm.push_back(it->mem);
    rs->ver = ver_;
    std::shared_ptr<const read_state_type> old;
    {
      std::lock_guard g(rs_mu_);
      old = std::exchange(rs_, std::move(rs));
    }  // the old state is released outside the lock
  }

  // ---- write path: memtable switches and stalls ----

  void make_room(std::unique_lock<std::mutex>& lk) {
    bool slowed = false;
    for (;;) {
      throw_if_unusable();
      // L0 limits apply only while a compaction thread can lower L0.
      std::size_t l0 = bg_compaction_ ? ver_->levels[0].size() : 0;
      if (!slowed && opt_.auto_checkpoint &&
          l0 >= static_cast<std::size_t>(opt_.lsm.l0_slowdown_trigger)) {
        // Spread the delay over many writes instead of stopping them all later.
        slowed = true;
        auto t0 = std::chrono::steady_clock::now();
        lk.unlock();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        lk.lock();
        stall_micros_ += micros_since(t0);
        ++slowdowns_;
        continue;
      }
      if (!opt_.auto_checkpoint || mem_->approximate_size() < opt_.memtable_size) return;
      if (imm_.size() >= static_cast<std::size_t>(opt_.lsm.max_immutable_memtables) ||
          l0 >= static_cast<std::size_t>(opt_.lsm.l0_stop_trigger)) {
        auto t0 = std::chrono::steady_clock::now();
        ++stops_;
        if (l0 >= static_cast<std::size_t>(opt_.lsm.l0_stop_trigger)) wake_compaction();
        stall_cv_.wait_for(lk, std::chrono::milliseconds(100));
        stall_micros_ += micros_since(t0);
        continue;
      }
      switch_memtable();
      return;
    }
  }

  static std::uint64_t micros_since(std::chrono::steady_clock::time_point t0) {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
            .count());
  }

  // A memtable with a bloom filter of 1/64 of memtable_size (1 MiB for 64 MiB: ~20 bits per
  // key at ~130-byte entries), so point reads of keys it does not hold skip its skiplist, and a
  // point index of memtable_size / 64 slots (8 bytes each: 8 MiB for 64 MiB; it serves up to
  // 0.7 x 1 Mi keys, ~730k, and switches itself off beyond), so reads of keys it holds skip the
  // skiplist search too. Memtables of 32 MiB and more take their arena in 2 MiB blocks on
  // transparent huge pages (core/arena.hpp): the skiplist search of an insert misses the cache
  // at every node of its lower levels, and with 4 KiB pages each miss was a TLB miss too.
  [[nodiscard]] std::shared_ptr<memtable> new_memtable() const {
    std::size_t bytes = std::clamp<std::size_t>(opt_.memtable_size / 64, 64, std::size_t{64} << 20);
    std::size_t slots = std::clamp<std::size_t>(opt_.memtable_size / 64, 64, std::size_t{1} << 26);
    std::size_t block = opt_.memtable_size >= (std::size_t{32} << 20) ? arena::huge_page_size
                                                                      : std::size_t{1} << 20;
    return std::make_shared<memtable>(block, bytes, slots);
  }

  // Rolls the WAL and queues the memtable for flush. Caller holds write_mu_.
  void switch_memtable() {
    std::uint64_t next = 0;
    try {
      next = wal_.roll();
    } catch (const std::exception& e) {
      mark_failed(e.what());
      throw;
    }
    imm_.push_back({mem_, next, last_ts_});
    mem_ = new_memtable();
    ++switches_;
    publish();
    {
      std::lock_guard bl(bg_mu_);
      flush_due_ = true;
    }
    bg_cv_.notify_all();
  }

  // ---- recovery ----

  void recover() {
    auto t0 = std::chrono::steady_clock::now();
    if (!fs_.exists(dir_)) {
      if (!opt_.create_if_missing) {
        throw not_found("database directory '" + dir_ + "' does not exist");
      }
      fs_.create_directories(dir_);
      fs_.sync_dir(parent_path(dir_));
    }
    try {
      lock_ = fs_.lock(path_join(dir_, "LOCK"));
    } catch (const locked&) {
      throw locked("database '" + dir_ +
                   "' is already open for writing (by another process or handle)");
    }
    auto names = fs_.list(dir_);
    std::vector<std::uint64_t> segments, tables, manifests;
    bool has_current = false, has_ckpt = false;
    for (auto& n : names) {
      if (auto x = parse_numbered_name(n, ".log")) segments.push_back(*x);
      if (auto x = parse_numbered_name(n, ".sst")) tables.push_back(*x);
      if (parse_numbered_name(n, ".ckpt")) has_ckpt = true;
      if (n.starts_with("MANIFEST-")) {
        if (auto x = parse_numbered_name(n.substr(9), "")) manifests.push_back(*x);
      }
      if (n == "CURRENT") has_current = true;
    }
    std::sort(segments.begin(), segments.end());
    if (has_ckpt && !has_current) {
      throw unsupported("database '" + dir_ +
                        "' holds a wal_storage checkpoint file; open it with wal_storage (or "
                        "export and re-import its keys) — lsm_storage does not read .ckpt files");
    }
    if (opt_.error_if_exists && (has_current || !segments.empty())) {
      throw already_exists("database '" + dir_ + "' already exists");
    }
    for (auto& n : names) {
      if (n.size() > 4 && n.ends_with(".tmp")) fs_.remove(path_join(dir_, n));
    }

    manifest_state ms;
    std::uint64_t current_manifest = 0;
    if (has_current) {
      std::string cur = read_file(fs_, path_join(dir_, "CURRENT"));
      auto n = parse_current_file(cur);
      if (!n) throw corruption("CURRENT: malformed contents at offset 0");
      current_manifest = *n;
      std::string name = manifest_file_name(*n);
      std::string buf;
      try {
        buf = read_file(fs_, path_join(dir_, name));
      } catch (const not_found&) {
        throw corruption("CURRENT names " + name + ", which is missing");
      }
      auto res = decode_manifest(buf, "manifest " + name, *n);
      ms = std::move(res.state);
    } else {
      ms.log_number = segments.empty() ? 1 : segments.front();
    }
    if (ms.log_number == 0) ms.log_number = segments.empty() ? 1 : segments.front();

    // Files the manifest lists must exist; every other SSTable is a leftover.
    std::set<std::uint64_t> live;
    for (int l = 0; l < manifest_max_levels; ++l) {
      for (auto& [num, f] : ms.levels[static_cast<std::size_t>(l)]) {
        if (l >= opt_.lsm.max_levels) {
          throw invalid_argument("database '" + dir_ + "' has files at level " + std::to_string(l) +
                                 " but max_levels is " + std::to_string(opt_.lsm.max_levels));
        }
        live.insert(num);
      }
    }
    std::set<std::uint64_t> present(tables.begin(), tables.end());
    for (auto n : live) {
      if (!present.count(n)) {
        throw corruption("manifest " + manifest_file_name(current_manifest) + " lists " +
                         sst_file_name(n) + ", which is missing");
      }
    }
    bool removed = false;
    for (auto n : tables) {
      if (!live.count(n)) removed |= fs_.remove(path_join(dir_, sst_file_name(n)));
    }
    std::vector<std::uint64_t> segs;
    for (auto n : segments) {
      if (n < ms.log_number) {
        removed |= fs_.remove(path_join(dir_, wal_segment_name(n)));
      } else {
        segs.push_back(n);
      }
    }
    if (removed) fs_.sync_dir(dir_);

    // The version.
    auto v = std::make_shared<version_type>(opt_.lsm.max_levels);
    for (int l = 0; l < opt_.lsm.max_levels; ++l) {
      auto& out = v->levels[static_cast<std::size_t>(l)];
      for (auto& [num, f] : ms.levels[static_cast<std::size_t>(l)]) {
        out.push_back(std::make_shared<meta_type>(f, env_));
      }
      sort_level(out, l);
      if (l > 0) check_level(out, l);
    }
    ver_ = std::move(v);

    // The WAL tail.
    last_ts_ = ms.flushed_ts;
    mem_ = new_memtable();
    wal_replay_options ro;
    ro.skip_corrupt_records = opt_.skip_corrupt_records;
    ro.first_segment = ms.log_number;
    ro.after_ts = ms.flushed_ts;
    auto replayed =
        replay_wal(fs_, dir_, segs, ro, recovery_, [&](const write_batch& b, std::uint64_t ts) {
          inserter_.insert_batch(*mem_, b, ts);
          last_ts_ = ts;
        });
    recovery_.last_commit_ts = last_ts_;
    published_.store(last_ts_, std::memory_order_release);
    if (segs.empty()) {
      wal_.create(ms.log_number);
    } else if (replayed.last_segment_end == 0) {
      wal_.create(segs.back());  // its header was torn: start it afresh
    } else if (replayed.last_segment_end < opt_.wal_segment_size) {
      wal_.open_existing(segs.back(), replayed.last_segment_end);
    } else {
      wal_.create(segs.back() + 1);
    }
    last_sync_ = std::chrono::steady_clock::now();

    // A fresh manifest holding the recovered state; older ones go.
    mstate_ = std::move(ms);
    next_file_ = std::max<std::uint64_t>(mstate_.next_file, 1);
    std::uint64_t mnum = next_file_++;
    mstate_.next_file = next_file_;
    manifest_.create(mnum, mstate_);
    manifest_number_ = mnum;
    removed = false;
    for (auto n : manifests) {
      if (n != mnum) removed |= fs_.remove(path_join(dir_, manifest_file_name(n)));
    }
    if (removed) fs_.sync_dir(dir_);
    publish();
    recovered_ = true;
    recovery_.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  static void sort_level(std::vector<file_ptr>& files, int level) {
    if (level == 0) {  // newest first: flushes take increasing file numbers
      std::sort(files.begin(), files.end(), [](const file_ptr& a, const file_ptr& b) {
        return a->info.number > b->info.number;
      });
    } else {
      std::sort(files.begin(), files.end(), [](const file_ptr& a, const file_ptr& b) {
        return compare_internal_keys(a->info.smallest, b->info.smallest) < 0;
      });
    }
  }
  void check_level(const std::vector<file_ptr>& files, int level) const {
    for (std::size_t i = 1; i < files.size(); ++i) {
      if (files[i - 1]->largest_user.compare(files[i]->smallest_user) >= 0) {
        throw corruption("manifest: level " + std::to_string(level) + " files " +
                         sst_file_name(files[i - 1]->info.number) + " and " +
                         sst_file_name(files[i]->info.number) + " overlap");
      }
    }
  }

  // ---- installing versions ----

  // Appends `e` to the manifest (synced), builds the next version from the current one and
  // publishes it; `after` runs under write_mu_ in the same critical section. Caller holds
  // manifest_mu_.
  template <class After>
  void install(version_edit& e, const std::vector<file_ptr>& added_meta, After&& after) {
    e.next_file = next_file_.load();
    manifest_.append(e);
    mstate_.apply(e, "manifest");
    auto v = std::make_shared<version_type>(opt_.lsm.max_levels);
    std::set<std::pair<int, std::uint64_t>> gone(e.deleted.begin(), e.deleted.end());
    for (int l = 0; l < opt_.lsm.max_levels; ++l) {
      auto& out = v->levels[static_cast<std::size_t>(l)];
      for (auto& f : ver_->levels[static_cast<std::size_t>(l)]) {
        if (!gone.count({l, f->info.number})) out.push_back(f);
      }
    }
    for (std::size_t i = 0; i < e.added.size(); ++i) {
      v->levels[static_cast<std::size_t>(e.added[i].level)].push_back(added_meta[i]);
    }
    for (int l = 0; l < opt_.lsm.max_levels; ++l) {
      sort_level(v->levels[static_cast<std::size_t>(l)], l);
    }
    {
      std::lock_guard lk(write_mu_);
      ver_ = std::move(v);
      after();
      publish();
      stall_cv_.notify_all();
    }
    if (manifest_.size() > opt_.lsm.max_manifest_size) roll_manifest();
  }

  // Writes a new manifest with the whole state and deletes the old one. Caller holds
  // manifest_mu_.
  void roll_manifest() {
    std::uint64_t old = manifest_.number();
    std::uint64_t n = next_file_++;
    mstate_.next_file = next_file_;
    manifest_.close();
    manifest_.create(n, mstate_);
    {
      std::lock_guard lk(counters_mu_);
      manifest_number_ = n;
    }
    if (fs_.remove(path_join(dir_, manifest_file_name(old)))) fs_.sync_dir(dir_);
  }

  // ---- flush ----

  void flush_loop(std::stop_token st) {
    std::unique_lock bl(bg_mu_);
    while (!st.stop_requested()) {
      auto wait = opt_.sync == sync_mode::normal ? opt_.sync_interval : std::chrono::hours(1);
      bg_cv_.wait_for(bl, st, wait, [&] { return flush_due_; });
      if (st.stop_requested()) break;
      flush_due_ = false;
      bl.unlock();
      try {
        if (opt_.sync == sync_mode::normal) sync_if_due();
        while (!st.stop_requested() && flush_one()) {
        }
      } catch (const std::exception& e) {
        fail_background(std::string("flush: ") + e.what());
      }
      bl.lock();
    }
  }

  void sync_if_due() {
    std::lock_guard lk(write_mu_);
    if (closed_ || !failed_.empty() || !wal_.dirty()) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_sync_ < opt_.sync_interval) return;
    try {
      wal_.sync();
      last_sync_ = now;
    } catch (const std::exception& e) {
      mark_failed(e.what());
    }
  }

  // Flushes the oldest immutable memtable; false when there is none.
  bool flush_one() {
    imm_entry job;
    std::vector<std::uint64_t> points;
    {
      std::lock_guard lk(write_mu_);
      if (imm_.empty() || !failed_.empty()) return false;
      job = imm_.front();
      points = read_points();
    }
    std::uint64_t number = next_file_++;
    std::string path = env_->path_of(number);
    std::optional<sst_file_entry> out;
    std::uint64_t dropped = 0;
    try {
      if (job.mem->entries() != 0) {
        sst_builder<Fs, Compression> b(fs_, path, sst_opts(), opt_.lsm.compression);
        detail::pinned_iterator it(job.mem);
        it.seek_to_first();
        gc_filter gc(std::move(points), wall_ms());
        for (; it.valid(); it.next()) {
          auto d = gc.decide(it.key(), it.value(), false);
          if (d == gc_filter::drop) {
            ++dropped;
            continue;
          }
          if (d == gc_filter::as_deletion) {
            b.add(gc.deletion_key(it.key()), {});
          } else {
            b.add(it.key(), it.value());
          }
        }
        std::uint64_t size = b.finish();
        fs_.sync_dir(dir_);
        out = entry_of(b.properties(), 0, number, size);
      }
    } catch (...) {
      fs_remove_quietly(path);
      throw;
    }
    std::lock_guard mk(manifest_mu_);
    version_edit e;
    e.log_number = job.next_log;
    e.flushed_ts = job.last_ts;
    std::vector<file_ptr> metas;
    if (out) {
      e.added.push_back(*out);
      metas.push_back(std::make_shared<meta_type>(*out, env_));
    }
    try {
      install(e, metas, [&] {
        imm_.pop_front();
        gc_dropped_ += dropped;
      });
    } catch (const std::exception&) {
      fs_remove_quietly(path);
      throw;
    }
    {
      std::lock_guard lk(counters_mu_);
      ++flushes_;
      if (out) {
        flush_bytes_ += out->size;
        level_counters_[0].bytes_written += out->size;
      }
    }
    // The WAL the memtable covered is no longer needed: its flush is durable in the manifest.
    remove_wal_below(job.next_log);
    {
      // Counted only now, so that checkpoint() returns after the covered segments are gone.
      std::lock_guard lk(write_mu_);
      ++flushed_switches_;
      stall_cv_.notify_all();
    }
    wake_compaction();
    return true;
  }

  void remove_wal_below(std::uint64_t n) {
    bool removed = false;
    for (auto& name : fs_.list(dir_)) {
      if (auto s = parse_numbered_name(name, ".log"); s && *s < n) {
        removed |= fs_.remove(path_join(dir_, name));
      }
    }
    if (removed) fs_.sync_dir(dir_);
  }

  void fs_remove_quietly(const std::string& path) noexcept {
    try {
      fs_.remove(path);
    } catch (...) {
    }
  }

  [[nodiscard]] sst_options sst_opts() const {
    return sst_options{.block_size = static_cast<std::size_t>(opt_.lsm.block_size),
                       .restart_interval = 16,
                       .bloom_bits_per_key = opt_.lsm.bloom_bits_per_key};
  }

  static sst_file_entry entry_of(const sst_properties& p, int level, std::uint64_t number,
                                 std::uint64_t size) {
    sst_file_entry f;
    f.level = level;
    f.number = number;
    f.size = size;
    f.entries = p.entries;
    f.min_ts = p.min_ts;
    f.max_ts = p.max_ts;
    f.smallest = p.smallest;
    f.largest = p.largest;
    return f;
  }

  // The GC read points, ascending and unique, the last one the top (see the header comment);
  // empty when nothing may be dropped. Under write_mu_.
  std::vector<std::uint64_t> read_points() const {
    std::vector<std::uint64_t> p;
    if (points_) {
      points_(p);
    } else if (horizon_) {
      p.push_back(horizon_());
    }
    if (p.empty()) return p;
    std::sort(p.begin(), p.end());
    p.erase(std::unique(p.begin(), p.end()), p.end());
    // The top: never above what this backend has applied (points are published timestamps).
    std::uint64_t top = std::min(p.back(), last_ts_);
    while (!p.empty() && p.back() > top) p.pop_back();
    if (p.empty() || p.back() != top) p.push_back(top);
    return p;
  }

  // Version GC while merging (see the header comment). Entries arrive in internal-key order:
  // by user key, each key's versions newest first.
  class gc_filter {
   public:
    enum decision { keep, drop, as_deletion };
    gc_filter(std::vector<std::uint64_t> points, std::uint64_t now)
        : points_(std::move(points)), now_(now) {}

    decision decide(std::string_view ikey, std::string_view value, bool bottommost) {
      std::string_view uk = user_key_of(ikey);
      if (!have_ || uk != cur_) {
        cur_.assign(uk);
        have_ = true;
        newer_ts_ = max_timestamp;
      }
      std::uint64_t ts = timestamp_of(ikey);
      if (points_.empty() || ts > points_.back()) {
        newer_ts_ = ts;
        return keep;
      }
      // Readers at points in [ts, newer version's ts) read this version; none: it is shadowed
      // for every reader.
      auto it = std::lower_bound(points_.begin(), points_.end(), ts);
      bool needed = it != points_.end() && *it < newer_ts_;
      newer_ts_ = ts;
      if (!needed) return drop;
      // Only the version the oldest reader reads may go entirely: no reader reads anything older.
      if (it != points_.begin()) return keep;
      value_kind kind = kind_of(ikey);
      if (kind == value_kind::deletion) return bottommost ? drop : keep;
      if (kind == value_kind::value_with_expiry && decode_stored_value(kind, value).expired(now_)) {
        return bottommost ? drop : as_deletion;
      }
      return keep;
    }
    std::string_view deletion_key(std::string_view ikey) {
      buf_.assign(ikey);
      buf_.back() = static_cast<char>(value_kind::deletion);
      return buf_;
    }

   private:
    std::vector<std::uint64_t> points_;
    std::uint64_t now_;
    std::string cur_;
    bool have_ = false;
    std::uint64_t newer_ts_ = max_timestamp;
    std::string buf_;
  };

  // ---- compaction ----

  void wake_compaction() {
    {
      std::lock_guard bl(bg_mu_);
      compaction_due_ = true;
    }
    compact_cv_.notify_all();
  }

  void compaction_loop(std::stop_token st) {
    std::unique_lock bl(bg_mu_);
    while (!st.stop_requested()) {
      compact_cv_.wait(bl, st, [&] { return compaction_due_; });
      if (st.stop_requested()) break;
      compaction_due_ = false;
      bl.unlock();
      try {
        for (;;) {
          if (st.stop_requested()) break;
          {
            std::lock_guard lk(write_mu_);
            if (!failed_.empty()) break;
          }
          std::lock_guard ck(compaction_mu_);
          std::optional<compaction_job> c;
          {
            std::lock_guard mk(manifest_mu_);
            c = pick_compaction(*ver_);
          }
          if (!c) break;
          run_compaction(*c);
        }
      } catch (const aborted&) {
      } catch (const std::exception& e) {
        fail_background(std::string("compaction: ") + e.what());
      }
      bl.lock();
    }
  }

  [[nodiscard]] std::uint64_t level_budget(int level) const {
    double b = static_cast<double>(opt_.lsm.level1_size);
    for (int l = 1; l < level; ++l) b *= opt_.lsm.level_ratio;
    return static_cast<std::uint64_t>(b);
  }

  // The most urgent compaction of `v`, if any level's score reaches 1.
  std::optional<compaction_job> pick_compaction(const version_type& v) const {
    double best = 0;
    int level = -1;
    double s0 = static_cast<double>(v.levels[0].size()) / opt_.lsm.l0_compaction_trigger;
    if (s0 >= 1) {
      best = s0;
      level = 0;
    }
    for (int l = 1; l + 1 < opt_.lsm.max_levels; ++l) {
      double s = static_cast<double>(v.level_bytes(l)) / static_cast<double>(level_budget(l));
      if (s >= 1 && s > best) {
        best = s;
        level = l;
      }
    }
    if (level < 0) return std::nullopt;
    compaction_job c;
    c.level = level;
    if (level == 0) {
      c.inputs[0] = v.levels[0];
    } else {
      // Round robin: the first file past the level's compaction pointer.
      const auto& files = v.levels[static_cast<std::size_t>(level)];
      const std::string& ptr = mstate_.compact_pointers[static_cast<std::size_t>(level)];
      std::size_t i = 0;
      if (!ptr.empty()) {
        while (i < files.size() && compare_internal_keys(files[i]->info.largest, ptr) <= 0) ++i;
        if (i == files.size()) i = 0;
      }
      c.inputs[0].push_back(files[i]);
    }
    expand_to_next_level(v, c);
    return c;
  }

  // Files of `level` overlapping user keys [begin, end).
  std::vector<file_ptr> overlapping(const version_type& v, int level, std::string_view begin,
                                    std::optional<std::string_view> end) const {
    std::vector<file_ptr> out;
    for (auto& f : v.levels[static_cast<std::size_t>(level)]) {
      if (f->largest_user.compare(begin) < 0) continue;
      if (end && f->smallest_user.compare(*end) >= 0) continue;
      out.push_back(f);
    }
    return out;
  }

  // Adds the files of level+1 that overlap inputs[0]'s user-key range.
  void expand_to_next_level(const version_type& v, compaction_job& c) const {
    std::string_view lo, hi;
    bool first = true;
    for (auto& f : c.inputs[0]) {
      if (first || f->smallest_user.compare(lo) < 0) lo = f->smallest_user;
      if (first || f->largest_user.compare(hi) > 0) hi = f->largest_user;
      first = false;
    }
    c.inputs[1].clear();
    c.out_level = c.level + 1;
    for (auto& f : v.levels[static_cast<std::size_t>(c.out_level)]) {
      if (f->largest_user.compare(lo) < 0 || f->smallest_user.compare(hi) > 0) continue;
      c.inputs[1].push_back(f);
    }
  }

  // True when no level below `output_level` can hold a version of user key `uk`; walks each
  // level's files forward as keys ascend.
  class bottommost_check {
   public:
    bottommost_check(std::shared_ptr<const version_type> v, int output_level)
        : v_(std::move(v)), first_(output_level + 1) {
      pos_.assign(v_->levels.size(), 0);
    }
    bool operator()(std::string_view uk) {
      for (std::size_t l = static_cast<std::size_t>(first_); l < v_->levels.size(); ++l) {
        const auto& files = v_->levels[l];
        std::size_t& p = pos_[l];
        while (p < files.size() && files[p]->largest_user.compare(uk) < 0) ++p;
        if (p < files.size() && files[p]->smallest_user.compare(uk) <= 0) return false;
      }
      return true;
    }

   private:
    std::shared_ptr<const version_type> v_;
    int first_;
    std::vector<std::size_t> pos_;
  };

  // Runs compaction `c` and installs its result; returns the numbers of the files it wrote (or
  // moved). Caller holds compaction_mu_.
  std::vector<std::uint64_t> run_compaction(const compaction_job& c) {
    int out_level = c.out_level;
    std::uint64_t in_bytes = 0;
    for (auto& in : c.inputs) {
      for (auto& f : in) in_bytes += f->info.size;
    }
    // A file with nothing to merge with moves down by a manifest edit.
    if (c.inputs[1].empty() && c.inputs[0].size() == 1 && c.level > 0 && !c.manual) {
      const file_ptr& f = c.inputs[0][0];
      std::lock_guard mk(manifest_mu_);
      version_edit e;
      e.deleted.emplace_back(c.level, f->info.number);
      sst_file_entry moved = f->info;
      moved.level = out_level;
      e.added.push_back(moved);
      e.compact_pointers.emplace_back(c.level, f->info.largest);
      install(e, {f}, [] {});
      std::lock_guard lk(counters_mu_);
      ++trivial_moves_;
      return {f->info.number};
    }
    std::vector<std::uint64_t> points;
    std::shared_ptr<const version_type> base;
    {
      std::lock_guard lk(write_mu_);
      points = read_points();
    }
    {
      std::lock_guard mk(manifest_mu_);
      base = ver_;
    }
    // Inputs, merged: L0 files newest first, then the next level's files in order.
    std::vector<typename internal_iterator::child> children;
    for (auto& f : c.inputs[0]) {
      children.emplace_back(std::in_place_type<sst_iterator<reader_type>>, &f->table(), f, true);
    }
    if (!c.inputs[1].empty()) {
      auto lv = std::make_shared<version_type>(opt_.lsm.max_levels);
      lv->levels[static_cast<std::size_t>(out_level)] = c.inputs[1];
      children.emplace_back(std::in_place_type<detail::level_iterator<Fs, Compression>>, lv,
                            out_level, true);
    }
    internal_iterator it(std::move(children));
    bottommost_check bottom(base, out_level);
    gc_filter gc(std::move(points), wall_ms());
    std::vector<sst_file_entry> outputs;
    std::vector<std::uint64_t> numbers;
    std::optional<sst_builder<Fs, Compression>> b;
    std::uint64_t out_bytes = 0, dropped = 0, n = 0;
    auto finish_output = [&] {
      std::uint64_t size = b->finish();
      outputs.push_back(entry_of(b->properties(), out_level, numbers.back(), size));
      out_bytes += size;
      b.reset();
    };
    try {
      std::string last_uk;
      bool bottom_known = false, is_bottom = false;
      for (it.seek_to_first(); it.valid(); it.next()) {
        if ((++n & 1023) == 0 && stopping_.load(std::memory_order_relaxed)) throw aborted();
        std::string_view k = it.key();
        std::string_view uk = user_key_of(k);
        if (!bottom_known || uk != last_uk) {
          // Cut files only between user keys, so a key never spans two files of a level.
          if (b && b->estimated_size() >= opt_.lsm.target_file_size) finish_output();
          last_uk.assign(uk);
          is_bottom = bottom(uk);
          bottom_known = true;
        }
        auto d = gc.decide(k, it.value(), is_bottom);
        if (d == gc_filter::drop) {
          ++dropped;
          continue;
        }
        if (!b) {
          numbers.push_back(next_file_++);
          b.emplace(fs_, env_->path_of(numbers.back()), sst_opts(), opt_.lsm.compression);
        }
        if (d == gc_filter::as_deletion) {
          b->add(gc.deletion_key(k), {});
        } else {
          b->add(k, it.value());
        }
      }
      if (b) finish_output();
      fs_.sync_dir(dir_);
    } catch (...) {
      if (b) b->abandon();
      for (auto num : numbers) fs_remove_quietly(env_->path_of(num));
      throw;
    }
    std::vector<file_ptr> metas;
    {
      std::lock_guard mk(manifest_mu_);
      version_edit e;
      for (int w = 0; w < 2; ++w) {
        for (auto& f : c.inputs[w])
          e.deleted.emplace_back(w == 0 ? c.level : out_level, f->info.number);
      }
      for (auto& o : outputs) {
        e.added.push_back(o);
        metas.push_back(std::make_shared<meta_type>(o, env_));
      }
      if (c.level > 0 && !c.inputs[0].empty()) {
        e.compact_pointers.emplace_back(c.level, c.inputs[0].back()->info.largest);
      }
      try {
        install(e, metas, [&] { gc_dropped_ += dropped; });
      } catch (...) {
        for (auto num : numbers) fs_remove_quietly(env_->path_of(num));
        throw;
      }
    }
    // The inputs are gone from the manifest (durably): delete each once no reader holds it.
    for (auto& in : c.inputs) {
      for (auto& f : in) f->obsolete.store(true, std::memory_order_release);
    }
    std::lock_guard lk(counters_mu_);
    ++compactions_;
    compaction_read_ += in_bytes;
    compaction_written_ += out_bytes;
    auto& lc = level_counters_[static_cast<std::size_t>(out_level)];
    ++lc.compactions;
    lc.bytes_read += in_bytes;
    lc.bytes_written += out_bytes;
    return numbers;
  }

  void stop_threads() {
    stopping_.store(true, std::memory_order_relaxed);
    for (auto* t : {&flush_thread_, &compact_thread_}) {
      if (t->joinable()) t->request_stop();
    }
    {
      std::lock_guard bl(bg_mu_);
      bg_cv_.notify_all();
      compact_cv_.notify_all();
    }
    for (auto* t : {&flush_thread_, &compact_thread_}) {
      if (t->joinable()) t->join();
    }
  }

  mutable Fs fs_;
  std::string dir_;
  storage_options opt_;
  typename Fs::lock_handle lock_{};
  std::shared_ptr<env_type> env_;

  // Guarded by write_mu_: the WAL, the memtables, the published read state, failure.
  mutable std::mutex write_mu_;
  std::condition_variable stall_cv_;
  wal_writer<Fs> wal_;
  detail::mem_store inserter_;  // batch insertion (its own table is unused)
  std::shared_ptr<memtable> mem_;
  std::deque<imm_entry> imm_;  // oldest first
  // The published read state. A plain mutex rather than std::atomic<std::shared_ptr>: the
  // critical section is a reference-count increment, and libstdc++ 12's atomic<shared_ptr>
  // synchronizes through a lock bit that ThreadSanitizer cannot see.
  mutable std::mutex rs_mu_;
  std::shared_ptr<const read_state_type> rs_;
  std::string buf_;
  std::function<std::uint64_t()> horizon_;
  std::function<void(std::vector<std::uint64_t>&)> points_;
  std::uint64_t last_ts_ = 0;
  std::atomic<std::uint64_t> published_{0};
  std::chrono::steady_clock::time_point last_sync_{};
  std::string failed_;
  bool closed_ = false;
  bool closing_ = false;
  std::uint64_t switches_ = 0, flushed_switches_ = 0;
  std::uint64_t commits_ = 0, groups_ = 0, checkpoints_ = 0, gc_dropped_ = 0;
  std::uint64_t user_bytes_ = 0, wal_bytes_written_ = 0;
  std::uint64_t stall_micros_ = 0, slowdowns_ = 0, stops_ = 0;
  recovery_stats recovery_;

  // Guarded by manifest_mu_ (ver_ also by write_mu_ for writes): the manifest and the version.
  std::mutex manifest_mu_;
  manifest_writer<Fs> manifest_;
  manifest_state mstate_;
  std::shared_ptr<const version_type> ver_;
  std::atomic<std::uint64_t> next_file_{1};

  std::mutex compaction_mu_;  // one compaction at a time

  mutable std::mutex counters_mu_;
  std::vector<lsm_level_stats> level_counters_;
  std::uint64_t flushes_ = 0, flush_bytes_ = 0, compactions_ = 0, trivial_moves_ = 0;
  std::uint64_t compaction_read_ = 0, compaction_written_ = 0, manifest_number_ = 0;

  std::mutex bg_mu_;
  std::condition_variable_any bg_cv_;
  std::condition_variable_any compact_cv_;
  bool recovered_ = false;  // recover() finished: close() may flush (an open that threw may not)
  bool flush_due_ = false;
  bool compaction_due_ = false;
  std::atomic<bool> stopping_{false};
  bool bg_compaction_ = false;   // set once by open()
  std::jthread compact_thread_;  // last: stopped and joined first
  std::jthread flush_thread_;
};

static_assert(storage_backend<lsm_storage<posix_fs>>);

/// What verify_lsm_directory found.
struct lsm_check_report {
  std::uint64_t wal_files = 0;
  std::uint64_t wal_records = 0;
  std::uint64_t transactions = 0;
  std::uint64_t sst_files = 0;
  std::uint64_t sst_blocks = 0;
  std::uint64_t sst_entries = 0;
  std::uint64_t bytes = 0;
  bool ok = true;
  std::string message;  ///< the first problem: "sstable 000012.sst: ... at offset N"
};

/// Verifies an LSM database directory without opening it: CURRENT, the manifest, every block
/// checksum and entry of every live SSTable (and that each holds what the manifest says), and
/// every WAL segment. Stops at the first damage. Reads only.
template <file_system Fs>
lsm_check_report verify_lsm_directory(Fs& fs, const std::string& dir) {
  lsm_check_report rep;
  auto fail = [&](const std::string& m) {
    rep.ok = false;
    rep.message = m;
    return rep;
  };
  try {
    auto w = verify_wal_directory(fs, dir);
    rep.wal_files = w.files;
    rep.wal_records = w.records;
    rep.transactions = w.transactions;
    rep.bytes += w.bytes;
    if (!w.ok) return fail(w.message());
    std::string cur = read_file(fs, path_join(dir, "CURRENT"));
    auto n = parse_current_file(cur);
    if (!n) return fail("CURRENT: malformed contents at offset 0");
    std::string mname = manifest_file_name(*n);
    std::string mbuf = read_file(fs, path_join(dir, mname));
    rep.bytes += mbuf.size();
    auto m = decode_manifest(mbuf, "manifest " + mname, *n);
    for (auto& level : m.state.levels) {
      for (auto& [num, f] : level) {
        std::string name = sst_file_name(num);
        typename sst_reader<Fs, lz4>::open_args a;
        a.number = num;
        a.file_size = f.size;
        auto r = sst_reader<Fs, lz4>::open(fs, path_join(dir, name), "sstable " + name, a);
        std::uint64_t entries = 0;
        std::string prev;
        for (std::size_t i = 0; i < r->block_count(); ++i) {
          block_ptr b = r->read_block(i, false);
          block_iter it;
          it.init(b.get(), &r->error_context());
          for (it.seek_to_first(); it.valid(); it.next()) {
            if (entries != 0 && compare_internal_keys(prev, it.key()) >= 0) {
              return fail("sstable " + name + ": keys out of order in the block at offset " +
                          std::to_string(r->handle(i).offset));
            }
            prev.assign(it.key());
            ++entries;
          }
          if (compare_internal_keys(prev, r->index_key(i)) != 0) {
            return fail("sstable " + name + ": index entry does not match the block at offset " +
                        std::to_string(r->handle(i).offset));
          }
          ++rep.sst_blocks;
        }
        if (entries != r->properties().entries || entries != f.entries ||
            r->properties().smallest != f.smallest || r->properties().largest != f.largest) {
          return fail("sstable " + name +
                      ": contents differ from its stats block or manifest entry");
        }
        rep.sst_entries += entries;
        rep.bytes += r->file_size();
        ++rep.sst_files;
      }
    }
  } catch (const corruption& e) {
    return fail(e.what());
  } catch (const unsupported& e) {
    return fail(e.what());
  } catch (const not_found& e) {
    return fail(e.what());
  }
  return rep;
}

SOCHDB_END_NAMESPACE
