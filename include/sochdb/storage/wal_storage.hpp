// sochdb/storage/wal_storage.hpp — the durable backend: WAL + memtable + checkpoint files.
//
// Every committed group is appended to the write-ahead log in one write (one transaction per
// entry: BEGIN_TXN, PUT/DELETE..., COMMIT_TXN(commit_ts)) and synced as the sync mode says,
// then inserted into the memtable. All data lives in memory; the log is what survives. A
// checkpoint rolls the log to a new segment N, garbage-collects the memtable below the snapshot
// horizon, writes the state as of the last commit to `N.ckpt` (temp file, sync, rename, sync
// directory), and deletes the segments and checkpoints below N. Opening loads the newest
// checkpoint and replays the segments from N on: committed transactions in log (= commit
// timestamp) order, uncommitted and aborted ones ignored; a torn or damaged record at the tail
// of the last segment is truncated and counted; damage anywhere else is a `corruption` error
// naming the file and offset, unless `skip_corrupt_records` (then the damaged region and every
// transaction it touches are skipped and counted). A `LOCK` file keeps a second process (or a
// second handle) from opening the directory.
//
// The LSM backend reuses these pieces (the WAL, the memtable, recovery); instead of checkpoint
// files it flushes memtables to SSTables.
//
// Thread safety: as the storage_backend concept says. apply(), checkpoint(), flush() and the
// background thread (normal-mode syncs, automatic checkpoints) serialize on the write lock;
// reads never take it. Checkpoints hold the write lock while they roll the log and rebuild the
// memtable (a stall proportional to the live data), then write the file without it.
#pragma once

#include <sochdb/core/clock.hpp>
#include <sochdb/core/fs.hpp>
#include <sochdb/storage/concepts.hpp>
#include <sochdb/storage/detail/mem_store.hpp>
#include <sochdb/storage/wal.hpp>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <stop_token>
#include <thread>

SOCHDB_BEGIN_NAMESPACE

template <file_system Fs = posix_fs>
class wal_storage {
 public:
  using fs_type = Fs;
  using cursor = detail::memtable_cursor;

  /// Opens `dir` (creating it when allowed), takes its lock and recovers.
  static std::unique_ptr<wal_storage> open(Fs fs, const std::string& dir,
                                           const storage_options& opt) {
    opt.validate();
    std::unique_ptr<wal_storage> s(new wal_storage(std::move(fs), dir, opt));
    s->recover();
    if (opt.sync == sync_mode::normal || opt.auto_checkpoint) {
      s->bg_ = std::jthread([p = s.get()](std::stop_token st) { p->background(st); });
    }
    return s;
  }

  wal_storage(const wal_storage&) = delete;
  wal_storage& operator=(const wal_storage&) = delete;
  ~wal_storage() {
    try {
      close();
    } catch (...) {
      // A destructor cannot report; close() explicitly to see errors.
    }
  }

  void apply(std::span<const commit_entry> group) {
    if (group.empty()) return;
    std::lock_guard lk(write_mu_);
    throw_if_unusable();
    buf_.clear();
    std::uint64_t prev = last_ts_;
    for (const auto& e : group) {
      if (e.commit_ts <= prev) {
        throw invalid_argument("apply: commit_ts " + std::to_string(e.commit_ts) +
                               " is not after " + std::to_string(prev));
      }
      prev = e.commit_ts;
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
    auto t = mem_.current();
    for (const auto& e : group) mem_.insert_batch(*t, *e.batch, e.commit_ts);
    last_ts_ = prev;
    published_.store(prev, std::memory_order_release);
    commits_ += group.size();
    ++groups_;
    if (opt_.auto_checkpoint && t->approximate_size() > checkpoint_trigger_) {
      std::lock_guard bl(bg_mu_);
      checkpoint_due_ = true;
      bg_cv_.notify_all();
    }
  }

  bool get(std::string_view key, std::uint64_t ts, std::uint64_t now_ms, std::string& out) const {
    return mem_.get(key, ts, now_ms, out);
  }
  [[nodiscard]] std::uint64_t newest_ts(std::string_view key) const { return mem_.newest_ts(key); }
  [[nodiscard]] cursor scan(const scan_spec& spec) const { return mem_.scan(spec); }

  void set_snapshot_horizon(std::function<std::uint64_t()> f) {
    std::lock_guard lk(write_mu_);
    horizon_ = std::move(f);
  }

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

  /// Rolls the log, garbage-collects the memtable, writes a checkpoint file and deletes the
  /// segments it covers.
  void checkpoint() {
    std::lock_guard ck(checkpoint_mu_);
    std::shared_ptr<memtable> fresh;
    std::uint64_t c = 0, n = 0;
    {
      std::lock_guard lk(write_mu_);
      throw_if_unusable();
      try {
        c = last_ts_;
        n = wal_.roll();  // syncs the old segment: the log up to here is durable
        std::string rec;
        append_wal_checkpoint(rec, c, n, 0);
        wal_.append(rec);
        std::uint64_t h = horizon_ ? std::min(horizon_(), c) : 0;
        std::uint64_t dropped = 0;
        fresh = detail::mem_store::rebuild(*mem_.current(), h, wall_ms(), dropped);
        mem_.swap(fresh);
        gc_dropped_ += dropped;
        checkpoint_trigger_ =
            std::max<std::uint64_t>(opt_.memtable_size, 2 * fresh->approximate_size());
      } catch (const std::exception& e) {
        mark_failed(e.what());
        throw;
      }
    }
    write_checkpoint_file(fresh, c, n);
    remove_obsolete(n);
    std::lock_guard lk(write_mu_);
    ++checkpoints_;
  }

  [[nodiscard]] storage_stats stats() const {
    storage_stats s;
    {
      std::lock_guard lk(write_mu_);
      s.commits = commits_;
      s.commit_groups = groups_;
      s.wal_syncs = wal_.syncs();
      s.checkpoints = checkpoints_;
      s.gc_dropped_versions = gc_dropped_;
      s.last_commit_ts = last_ts_;
      s.recovery = recovery_;
    }
    auto t = mem_.current();
    s.memtable_entries = t->entries();
    s.memtable_bytes = t->memory_usage();
    s.data_bytes = t->data_bytes();
    try {
      auto d = list_wal_directory(fs_, dir_);
      for (auto n : d.segments) {
        try {
          s.wal_bytes += fs_.file_size(path_join(dir_, wal_segment_name(n)));
          ++s.wal_segments;
        } catch (const not_found&) {  // removed by a concurrent checkpoint
        }
      }
      if (!d.checkpoints.empty()) {
        try {
          s.checkpoint_bytes =
              fs_.file_size(path_join(dir_, checkpoint_file_name(d.checkpoints.back())));
        } catch (const not_found&) {
        }
      }
    } catch (const error&) {  // the directory is unreadable (e.g. simulated power loss)
    }
    return s;
  }

  [[nodiscard]] std::uint64_t last_commit_ts() const noexcept {
    return published_.load(std::memory_order_acquire);
  }

  /// Stops the background thread, syncs the WAL and releases the lock. Idempotent.
  void close() {
    if (bg_.joinable()) {
      bg_.request_stop();
      {
        std::lock_guard bl(bg_mu_);
        bg_cv_.notify_all();
      }
      bg_.join();
    }
    std::lock_guard lk(write_mu_);
    if (closed_) return;
    closed_ = true;
    auto release = [&] { lock_ = typename Fs::lock_handle{}; };
    if (failed_.empty()) {
      try {
        wal_.close();
      } catch (...) {
        release();
        throw;
      }
    }
    release();
  }

  [[nodiscard]] const std::string& directory() const noexcept { return dir_; }

 private:
  wal_storage(Fs fs, std::string dir, storage_options opt)
      : fs_(std::move(fs)),
        dir_(std::move(dir)),
        opt_(opt),
        wal_(fs_, dir_, opt.wal_segment_size),
        checkpoint_trigger_(opt.memtable_size) {}

  static std::uint64_t wall_ms() { return system_ms_source{}(); }

  void throw_if_unusable() const {
    if (closed_) throw closed("database '" + dir_ + "' is closed");
    if (!failed_.empty()) {
      throw io_error("database '" + dir_ + "' stopped accepting writes after an I/O error (" +
                     failed_ + "); reopen it to recover");
    }
  }
  void mark_failed(const std::string& what) {
    if (failed_.empty()) failed_ = what.empty() ? "unknown error" : what;
  }

  [[noreturn]] void damaged(const std::string& file, std::uint64_t offset,
                            const std::string& what) {
    throw corruption(file + ": " + what + " at offset " + std::to_string(offset));
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
    auto d = list_wal_directory(fs_, dir_);
    if (opt_.error_if_exists && (!d.segments.empty() || !d.checkpoints.empty())) {
      throw already_exists("database '" + dir_ + "' already exists");
    }
    for (auto& tmp : d.temporaries) fs_.remove(path_join(dir_, tmp));

    auto mem = std::make_shared<memtable>();
    std::uint64_t ckpt_seg = 0, ckpt_ts = 0;
    if (!d.checkpoints.empty()) {
      ckpt_seg = d.checkpoints.back();
      load_checkpoint(*mem, ckpt_seg, ckpt_ts);
    }
    std::vector<std::uint64_t> segs;
    for (auto n : d.segments) {
      if (n >= ckpt_seg) segs.push_back(n);
    }
    last_ts_ = ckpt_ts;
    wal_replay_options ro;
    ro.skip_corrupt_records = opt_.skip_corrupt_records;
    ro.first_segment = ckpt_seg != 0 ? ckpt_seg : 1;
    ro.after_ts = ckpt_ts;
    auto replayed =
        replay_wal(fs_, dir_, segs, ro, recovery_, [&](const write_batch& b, std::uint64_t ts) {
          mem_.insert_batch(*mem, b, ts);
          last_ts_ = ts;
        });
    std::uint64_t last_valid_end = replayed.last_segment_end;
    recovery_.last_commit_ts = last_ts_;
    published_.store(last_ts_, std::memory_order_release);
    mem_.swap(mem);

    if (segs.empty()) {
      wal_.create(ckpt_seg != 0 ? ckpt_seg : 1);
    } else if (last_valid_end == 0) {
      wal_.create(segs.back());  // its header was torn: start it afresh
    } else if (last_valid_end < opt_.wal_segment_size) {
      wal_.open_existing(segs.back(), last_valid_end);
    } else {
      wal_.create(segs.back() + 1);
    }
    last_sync_ = std::chrono::steady_clock::now();
    if (ckpt_seg != 0) remove_obsolete(ckpt_seg);
    recovery_.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  void load_checkpoint(memtable& mem, std::uint64_t n, std::uint64_t& ts) {
    std::string name = "checkpoint " + checkpoint_file_name(n);
    std::string buf = read_file(fs_, path_join(dir_, checkpoint_file_name(n)));
    std::uint64_t segno = 0;
    if (const char* e = check_wal_file_header(buf, checkpoint_magic, &segno)) damaged(name, 0, e);
    if (segno != n) damaged(name, 8, "header names segment " + std::to_string(segno));
    // Pass 1: validate everything and find the trailing CHECKPOINT record.
    std::size_t pos = wal_file_header_size;
    wal_record r;
    std::uint64_t count = 0;
    bool ended = false;
    std::string prev_key;
    while (pos < buf.size()) {
      auto st = decode_wal_record(buf, pos, r);
      if (st != wal_decode_status::ok) damaged(name, pos, to_string(st));
      if (ended) damaged(name, pos, "data after the CHECKPOINT record");
      if (r.type == wal_record_type::checkpoint) {
        if (r.segment != n || r.entries != count) {
          damaged(name, pos, "CHECKPOINT record does not match the file");
        }
        ts = r.ts;
        ended = true;
      } else if (r.type == wal_record_type::put) {
        if (count > 0 && r.key.compare(prev_key) <= 0) damaged(name, pos, "keys out of order");
        prev_key.assign(r.key);
        ++count;
      } else {
        damaged(name, pos,
                std::string("unexpected ") +
                    wal_record_type_name(static_cast<std::uint8_t>(r.type)) + " record");
      }
      pos += r.size;
    }
    if (!ended) damaged(name, buf.size(), "file ends without its CHECKPOINT record");
    // Pass 2: load. Keys ascend and share one timestamp, so internal keys ascend.
    pos = wal_file_header_size;
    std::string ikey, stored;
    while (pos < buf.size()) {
      decode_wal_record(buf, pos, r);
      if (r.type == wal_record_type::put) {
        ikey.clear();
        stored.clear();
        append_internal_key(ikey, r.key, ts,
                            r.expiry_ms != 0 ? value_kind::value_with_expiry : value_kind::value);
        append_stored_value(stored, r.value, r.expiry_ms);
        mem.append_sorted(ikey, stored);
      }
      pos += r.size;
    }
    recovery_.checkpoint_entries = count;
  }

  // ---- checkpoints ----

  // Writes the live keys of `table` as of `ts` to n.ckpt (temp file, sync, rename, sync dir).
  void write_checkpoint_file(std::shared_ptr<memtable> table, std::uint64_t ts, std::uint64_t n) {
    std::string name = checkpoint_file_name(n);
    std::string tmp = path_join(dir_, name + ".tmp");
    auto f = fs_.open(tmp, open_mode::write | open_mode::create | open_mode::truncate);
    std::string out;
    append_wal_file_header(out, checkpoint_magic, n);
    scan_spec spec;
    spec.ts = ts;
    spec.now_ms = wall_ms();
    detail::memtable_cursor c(detail::pinned_iterator(std::move(table)), spec);
    std::uint64_t count = 0;
    for (; c.valid(); c.next()) {
      append_wal_put(out, 0, c.key(), c.value(), c.expiry_ms());
      ++count;
      if (out.size() >= (1u << 20)) {
        f.append(out);
        out.clear();
      }
    }
    append_wal_checkpoint(out, ts, n, count);
    f.append(out);
    f.sync();
    f.close();
    fs_.rename(tmp, path_join(dir_, name));
    fs_.sync_dir(dir_);
  }

  void remove_obsolete(std::uint64_t n) {
    auto d = list_wal_directory(fs_, dir_);
    bool removed = false;
    for (auto s : d.segments) {
      if (s < n) removed |= fs_.remove(path_join(dir_, wal_segment_name(s)));
    }
    for (auto c : d.checkpoints) {
      if (c < n) removed |= fs_.remove(path_join(dir_, checkpoint_file_name(c)));
    }
    if (removed) fs_.sync_dir(dir_);
  }

  // ---- background: normal-mode syncs and automatic checkpoints ----

  void background(std::stop_token st) {
    std::unique_lock bl(bg_mu_);
    while (!st.stop_requested()) {
      bg_cv_.wait_for(bl, st, opt_.sync_interval, [&] { return checkpoint_due_; });
      if (st.stop_requested()) break;
      bool due = std::exchange(checkpoint_due_, false);
      bl.unlock();
      try {
        if (opt_.sync == sync_mode::normal) sync_if_due();
        if (due) checkpoint();
      } catch (const std::exception&) {
        // Recorded by mark_failed (or harmless for a checkpoint); the next write reports it.
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

  mutable Fs fs_;  // stats() lists the directory
  std::string dir_;
  storage_options opt_;
  typename Fs::lock_handle lock_{};

  mutable std::mutex write_mu_;  // WAL appends, memtable inserts, the checkpoint's cut
  std::mutex checkpoint_mu_;     // one checkpoint at a time
  wal_writer<Fs> wal_;
  detail::mem_store mem_;
  std::string buf_;  // the group being encoded
  std::function<std::uint64_t()> horizon_;
  std::uint64_t last_ts_ = 0;
  std::atomic<std::uint64_t> published_{0};
  std::chrono::steady_clock::time_point last_sync_{};
  std::uint64_t checkpoint_trigger_;
  std::string failed_;
  bool closed_ = false;
  std::uint64_t commits_ = 0, groups_ = 0, checkpoints_ = 0, gc_dropped_ = 0;
  recovery_stats recovery_;

  std::mutex bg_mu_;
  std::condition_variable_any bg_cv_;
  bool checkpoint_due_ = false;
  std::jthread bg_;  // last: stopped and joined first
};

static_assert(storage_backend<wal_storage<posix_fs>>);

SOCHDB_END_NAMESPACE
