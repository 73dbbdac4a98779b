// sochdb/storage/detail/lsm_version.hpp — the LSM backend's file metadata, versions, read
// states and iterators.
//
// A `version` is an immutable set of live SSTables per level (L0 newest first, possibly
// overlapping; L1+ sorted by key, never overlapping, and one user key never spans two files of
// a level). A `read_state` pins what a reader needs: the active memtable, the immutable ones
// waiting for flush (newest first) and a version. Readers take the current read_state with one
// atomic shared_ptr load and never lock; writers publish a new one when a memtable fills or a
// flush or compaction installs a version. Everything a read_state references stays alive
// while it is referenced, so a scan keeps reading its snapshot while compactions replace files.
//
// Obsolete files: a compaction marks its input files obsolete once the manifest edit that
// removes them is durable; the file is deleted when the last version (and so the last reader)
// referencing its metadata lets go.
//
// Per user key, versions are ordered across sources: memtable > immutable memtables (newest
// first) > L0 files (newest first) > L1 > L2 ...; a point read stops at the first source that
// holds a version at or below its snapshot.
//
// Thread safety: file_meta::table() opens the reader once (mutex, then an atomic pointer);
// versions and read states are immutable; iterators are one thread's.
#pragma once

#include <sochdb/storage/detail/mem_store.hpp>
#include <sochdb/storage/manifest.hpp>
#include <sochdb/storage/sstable.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

SOCHDB_BEGIN_NAMESPACE
namespace detail {

/// What every file_meta of one backend shares: where files live and how they are read.
template <file_system Fs, compression C>
struct lsm_env {
  lsm_env(Fs f, std::string d, std::size_t cache_bytes, bool mmap, const compression_options& co)
      : fs(std::move(f)), dir(std::move(d)), cache(cache_bytes), use_mmap(mmap), custom(co) {}
  Fs fs;
  std::string dir;
  block_cache cache;
  bool use_mmap;
  C custom;  // decodes blocks of a user compression type (decompress is const, thread-safe)
  sst_read_counters counters;
  std::atomic<std::uint64_t> deleted{0};
  std::atomic<std::uint64_t> open_tables{0};
  std::atomic<std::uint64_t> table_memory{0};

  [[nodiscard]] std::string path_of(std::uint64_t number) const {
    return path_join(dir, sst_file_name(number));
  }
  void remove_file(std::uint64_t number) noexcept {
    try {
      if (fs.remove(path_of(number))) deleted.fetch_add(1, std::memory_order_relaxed);
    } catch (...) {
      // A file that cannot be removed now is removed as an orphan at the next open.
    }
  }
};

/// One live SSTable: its manifest entry and (opened on first use) its reader.
template <file_system Fs, compression C>
struct file_meta {
  using reader_type = sst_reader<Fs, C>;

  file_meta(sst_file_entry entry, std::shared_ptr<lsm_env<Fs, C>> e)
      : info(std::move(entry)), env(std::move(e)) {
    smallest_user = user_key_of(info.smallest);
    largest_user = user_key_of(info.largest);
  }
  file_meta(const file_meta&) = delete;
  file_meta& operator=(const file_meta&) = delete;
  ~file_meta() {
    if (owned) {
      env->open_tables.fetch_sub(1, std::memory_order_relaxed);
      env->table_memory.fetch_sub(owned->memory_usage(), std::memory_order_relaxed);
    }
    owned.reset();  // close the file before removing it
    if (obsolete.load(std::memory_order_acquire)) env->remove_file(info.number);
  }

  /// The reader, opened on first use (throws what sst_reader::open throws).
  const reader_type& table() const {
    if (const reader_type* r = reader.load(std::memory_order_acquire)) return *r;
    std::lock_guard lk(mu);
    if (!owned) {
      typename reader_type::open_args a;
      a.number = info.number;
      a.file_size = info.size;
      a.cache = &env->cache;
      a.use_mmap = env->use_mmap;
      a.custom = &env->custom;
      a.counters = &env->counters;
      owned = reader_type::open(env->fs, env->path_of(info.number),
                                "sstable " + sst_file_name(info.number), a);
      env->open_tables.fetch_add(1, std::memory_order_relaxed);
      env->table_memory.fetch_add(owned->memory_usage(), std::memory_order_relaxed);
      reader.store(owned.get(), std::memory_order_release);
    }
    return *owned;
  }

  /// The reader if it is open already, else nullptr (never opens: for hints).
  [[nodiscard]] const reader_type* table_if_open() const noexcept {
    return reader.load(std::memory_order_acquire);
  }

  /// True when user key `k` lies within the file's key range.
  [[nodiscard]] bool covers(std::string_view k) const noexcept {
    return k.compare(smallest_user) >= 0 && k.compare(largest_user) <= 0;
  }

  sst_file_entry info;
  std::string_view smallest_user;
  std::string_view largest_user;
  std::shared_ptr<lsm_env<Fs, C>> env;
  std::atomic<bool> obsolete{false};
  mutable std::mutex mu;
  mutable std::atomic<const reader_type*> reader{nullptr};
  mutable std::unique_ptr<reader_type> owned;
};

template <file_system Fs, compression C>
using file_ptr = std::shared_ptr<file_meta<Fs, C>>;

/// The live files per level.
template <file_system Fs, compression C>
struct version {
  std::vector<std::vector<file_ptr<Fs, C>>> levels;

  explicit version(int n) : levels(static_cast<std::size_t>(n)) {}

  /// Index of the first file of level `l` (>= 1) whose largest user key is >= k.
  [[nodiscard]] std::size_t find_file(int l, std::string_view k) const {
    const auto& files = levels[static_cast<std::size_t>(l)];
    std::size_t lo = 0, hi = files.size();
    while (lo < hi) {
      std::size_t mid = lo + (hi - lo) / 2;
      if (files[mid]->largest_user.compare(k) < 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  /// Index of the first file of level `l` (>= 1) whose largest internal key is >= ikey.
  [[nodiscard]] std::size_t find_file_ikey(int l, std::string_view ikey) const {
    const auto& files = levels[static_cast<std::size_t>(l)];
    std::size_t lo = 0, hi = files.size();
    while (lo < hi) {
      std::size_t mid = lo + (hi - lo) / 2;
      if (compare_internal_keys(files[mid]->info.largest, ikey) < 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  [[nodiscard]] std::uint64_t level_bytes(int l) const {
    std::uint64_t b = 0;
    for (auto& f : levels[static_cast<std::size_t>(l)]) b += f->info.size;
    return b;
  }
};

/// What a reader pins: memtables and a version.
template <file_system Fs, compression C>
struct read_state {
  std::shared_ptr<memtable> mem;
  std::vector<std::shared_ptr<memtable>> imm;  // newest first
  std::shared_ptr<const version<Fs, C>> ver;
};

/// Iterates the files of one level >= 1 as one sorted sequence, opening files as it reaches
/// them.
template <file_system Fs, compression C>
class level_iterator {
  using reader_type = sst_reader<Fs, C>;

 public:
  level_iterator(std::shared_ptr<const version<Fs, C>> v, int level, bool sequential)
      : v_(std::move(v)), level_(level), sequential_(sequential) {}

  [[nodiscard]] bool valid() const noexcept { return it_.valid(); }
  [[nodiscard]] std::string_view key() const noexcept { return it_.key(); }
  [[nodiscard]] std::string_view value() const noexcept { return it_.value(); }

  void next() {
    it_.next();
    skip_forward();
  }
  void prev() {
    it_.prev();
    skip_backward();
  }
  void seek(std::string_view target) {
    std::size_t i = v_->find_file_ikey(level_, target);
    if (i >= files().size()) {
      reset();
      return;
    }
    open(i);
    it_.seek(target);
    skip_forward();
  }
  void seek_before(std::string_view target) {
    std::size_t i = v_->find_file_ikey(level_, target);
    if (i >= files().size()) {
      seek_to_last();
      return;
    }
    open(i);
    it_.seek_before(target);
    skip_backward();
  }
  void seek_to_first() {
    if (files().empty()) {
      reset();
      return;
    }
    open(0);
    it_.seek_to_first();
    skip_forward();
  }
  void seek_to_last() {
    if (files().empty()) {
      reset();
      return;
    }
    open(files().size() - 1);
    it_.seek_to_last();
    skip_backward();
  }

 private:
  [[nodiscard]] const std::vector<file_ptr<Fs, C>>& files() const {
    return v_->levels[static_cast<std::size_t>(level_)];
  }
  void reset() {
    it_ = sst_iterator<reader_type>();
    file_ = files().size();
  }
  void open(std::size_t i) {
    if (file_ == i && opened_) return;
    const auto& f = files()[i];
    it_ = sst_iterator<reader_type>(&f->table(), f, sequential_);
    file_ = i;
    opened_ = true;
  }
  void skip_forward() {
    while (!it_.valid()) {
      if (!opened_ || file_ + 1 >= files().size()) {
        reset();
        return;
      }
      open(file_ + 1);
      it_.seek_to_first();
    }
  }
  void skip_backward() {
    while (!it_.valid()) {
      if (!opened_ || file_ == 0 || file_ >= files().size()) {
        reset();
        return;
      }
      open(file_ - 1);
      it_.seek_to_last();
    }
  }

  std::shared_ptr<const version<Fs, C>> v_;
  int level_;
  bool sequential_;
  std::size_t file_ = 0;
  bool opened_ = false;
  sst_iterator<reader_type> it_;
};

/// Merges internal iterators (memtables, L0 files, levels) into one ordered sequence, in
/// either direction. Internal keys are unique across children (a version lives in exactly one
/// place of a read state), so the merge never has to break ties. Each child's current key is
/// cached, so picking the next entry only compares views.
template <file_system Fs, compression C>
class merging_iterator {
  using reader_type = sst_reader<Fs, C>;

 public:
  using child = std::variant<pinned_iterator, sst_iterator<reader_type>, level_iterator<Fs, C>>;

  merging_iterator() = default;
  explicit merging_iterator(std::vector<child> children, std::shared_ptr<const void> keep = {})
      : children_(std::move(children)), keys_(children_.size()), keep_(std::move(keep)) {}

  /// All sources of a read state (sequential: compaction-style reads without cache fills).
  static merging_iterator over(std::shared_ptr<const read_state<Fs, C>> rs) {
    std::vector<child> cs;
    cs.reserve(1 + rs->imm.size() + rs->ver->levels[0].size() + rs->ver->levels.size());
    cs.emplace_back(std::in_place_type<pinned_iterator>, rs->mem);
    for (auto& m : rs->imm) cs.emplace_back(std::in_place_type<pinned_iterator>, m);
    for (auto& f : rs->ver->levels[0]) {
      cs.emplace_back(std::in_place_type<sst_iterator<reader_type>>, &f->table(), f, false);
    }
    for (std::size_t l = 1; l < rs->ver->levels.size(); ++l) {
      if (rs->ver->levels[l].empty()) continue;
      cs.emplace_back(std::in_place_type<level_iterator<Fs, C>>, rs->ver, static_cast<int>(l),
                      false);
    }
    return merging_iterator(std::move(cs), std::move(rs));
  }

  [[nodiscard]] bool valid() const noexcept { return cur_ >= 0; }
  [[nodiscard]] std::string_view key() const noexcept {
    return keys_[static_cast<std::size_t>(cur_)];
  }
  [[nodiscard]] std::string_view value() const {
    return std::visit([](const auto& c) { return c.value(); },
                      children_[static_cast<std::size_t>(cur_)]);
  }

  void next() {
    if (backward_) {
      // Put every other child on its first entry after the current key.
      std::string k(key());
      for (std::size_t i = 0; i < children_.size(); ++i) {
        if (static_cast<int>(i) == cur_) continue;
        std::visit([&](auto& c) { c.seek(k); }, children_[i]);
        refresh(i);
        if (keys_[i].data() != nullptr && compare_internal_keys(keys_[i], k) == 0) {
          std::visit([](auto& c) { c.next(); }, children_[i]);
          refresh(i);
        }
      }
      backward_ = false;
    }
    auto i = static_cast<std::size_t>(cur_);
    std::visit([](auto& c) { c.next(); }, children_[i]);
    refresh(i);
    pick_smallest();
  }

  void prev() {
    if (!backward_) {
      std::string k(key());
      for (std::size_t i = 0; i < children_.size(); ++i) {
        if (static_cast<int>(i) == cur_) continue;
        std::visit([&](auto& c) { c.seek_before(k); }, children_[i]);
        refresh(i);
      }
      backward_ = true;
    }
    auto i = static_cast<std::size_t>(cur_);
    std::visit([](auto& c) { c.prev(); }, children_[i]);
    refresh(i);
    pick_largest();
  }

  void seek(std::string_view target) {
    for (std::size_t i = 0; i < children_.size(); ++i) {
      std::visit([&](auto& c) { c.seek(target); }, children_[i]);
      refresh(i);
    }
    backward_ = false;
    pick_smallest();
  }
  void seek_before(std::string_view target) {
    for (std::size_t i = 0; i < children_.size(); ++i) {
      std::visit([&](auto& c) { c.seek_before(target); }, children_[i]);
      refresh(i);
    }
    backward_ = true;
    pick_largest();
  }
  void seek_to_first() {
    for (std::size_t i = 0; i < children_.size(); ++i) {
      std::visit([](auto& c) { c.seek_to_first(); }, children_[i]);
      refresh(i);
    }
    backward_ = false;
    pick_smallest();
  }
  void seek_to_last() {
    for (std::size_t i = 0; i < children_.size(); ++i) {
      std::visit([](auto& c) { c.seek_to_last(); }, children_[i]);
      refresh(i);
    }
    backward_ = true;
    pick_largest();
  }

 private:
  // keys_[i] is the child's key, or a null view when it is exhausted.
  void refresh(std::size_t i) {
    keys_[i] = std::visit([](const auto& c) { return c.valid() ? c.key() : std::string_view(); },
                          children_[i]);
  }
  void pick_smallest() {
    cur_ = -1;
    for (std::size_t i = 0; i < keys_.size(); ++i) {
      if (keys_[i].data() == nullptr) continue;
      if (cur_ < 0 || compare_internal_keys(keys_[i], keys_[static_cast<std::size_t>(cur_)]) < 0) {
        cur_ = static_cast<int>(i);
      }
    }
  }
  void pick_largest() {
    cur_ = -1;
    for (std::size_t i = 0; i < keys_.size(); ++i) {
      if (keys_[i].data() == nullptr) continue;
      if (cur_ < 0 || compare_internal_keys(keys_[i], keys_[static_cast<std::size_t>(cur_)]) > 0) {
        cur_ = static_cast<int>(i);
      }
    }
  }

  std::vector<child> children_;
  std::vector<std::string_view> keys_;
  std::shared_ptr<const void> keep_;
  int cur_ = -1;
  bool backward_ = false;
};

}  // namespace detail
SOCHDB_END_NAMESPACE
