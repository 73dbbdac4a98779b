// sochdb/storage/sstable.hpp — SSTable writer, reader and iterator.
//
// An SSTable (`NNNNNN.sst`) holds internal keys (internal_key.hpp) in ascending order with
// their stored values, immutable once written. Layout (docs/formats/sstable.md, after seed
// 002's SST layout):
//
//     data block 0 .. data block n-1      ~block_size raw bytes each, compressed by the policy
//     filter block                        blocked bloom filter over user keys (bloom.hpp)
//     stats block                         entry counts, key range, timestamp range
//     compression dictionary block        only when the policy has a dictionary (zstd)
//     meta index block                    name -> handle of the three blocks above
//     index block                         last key of each data block -> its handle
//     footer (48 bytes)                   meta index and index handles, version, checksum, magic
//
// Every block carries a type byte and a checksum (sst_block.hpp). The writer cuts a data block
// once it reaches block_size; it never splits an entry. The reader loads the footer, meta
// index, index, filter, stats and dictionary when it opens (these stay in memory: the "indexes"
// of the memory budget) and reads data blocks on demand through the block cache, by pread or
// from an mmap of the file.
//
// Corruption: a damaged block throws `corruption` naming the file and the block's offset when
// it is read; blocks that are intact keep working, so keys elsewhere in the file stay readable.
//
// Thread safety: a builder is one thread's. A reader is immutable after open(): get() and
// iterators from any number of threads (each iterator used by one thread at a time).
#pragma once

#include <sochdb/core/fs.hpp>
#include <sochdb/storage/block_cache.hpp>
#include <sochdb/storage/bloom.hpp>
#include <sochdb/storage/compression.hpp>
#include <sochdb/storage/snapshot_cursor.hpp>
#include <sochdb/storage/sst_block.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

SOCHDB_BEGIN_NAMESPACE

/// "000012.sst"
inline std::string sst_file_name(std::uint64_t n) {
  char b[32];
  std::snprintf(b, sizeof b, "%06llu.sst", static_cast<unsigned long long>(n));
  return b;
}

/// How SSTables are written.
struct sst_options {
  std::size_t block_size = 4096;  ///< raw bytes per data block before it is cut; default 4 KiB
  int restart_interval = 16;      ///< entries between restart points; default 16
  int bloom_bits_per_key = 10;    ///< 0: no filter; default 10 (~1% false positives)
};

/// The stats block: what an SSTable holds.
struct sst_properties {
  std::uint64_t entries = 0;    ///< versions, deletions included
  std::uint64_t deletions = 0;  ///< tombstones
  std::uint64_t expiring = 0;   ///< values with an expiry
  std::uint64_t data_blocks = 0;
  std::uint64_t key_bytes = 0;    ///< internal key bytes before prefix compression
  std::uint64_t value_bytes = 0;  ///< stored value bytes before block compression
  std::uint64_t min_ts = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t max_ts = 0;
  std::string smallest;  ///< first internal key
  std::string largest;   ///< last internal key
  std::string compression;

  void encode_to(std::string& dst) const {
    dst.push_back(1);  // stats block version (format constant)
    for (std::uint64_t v :
         {entries, deletions, expiring, data_blocks, key_bytes, value_bytes, min_ts, max_ts}) {
      put_varint64(dst, v);
    }
    put_length_prefixed(dst, smallest);
    put_length_prefixed(dst, largest);
    put_length_prefixed(dst, compression);
  }
  static sst_properties decode(std::string_view in, std::string_view label, std::uint64_t off) {
    byte_reader r(in, label, off);
    if (r.u8() != 1) r.fail("unknown stats block version");
    sst_properties p;
    for (std::uint64_t* v : {&p.entries, &p.deletions, &p.expiring, &p.data_blocks, &p.key_bytes,
                             &p.value_bytes, &p.min_ts, &p.max_ts}) {
      *v = r.varint64();
    }
    p.smallest = r.length_prefixed();
    p.largest = r.length_prefixed();
    p.compression = r.length_prefixed();
    return p;
  }
};

/// Names in the meta index. Format constants.
inline constexpr std::string_view sst_meta_filter = "filter.blocked_bloom";
inline constexpr std::string_view sst_meta_stats = "stats";
inline constexpr std::string_view sst_meta_dictionary = "compression.dictionary";

/// Writes one SSTable. Add entries in ascending internal-key order, then finish() (or
/// abandon()).
template <file_system Fs, compression C = lz4>
class sst_builder {
 public:
  sst_builder(Fs fs, const std::string& path, const sst_options& opt,
              const compression_options& copt)
      : fs_(std::move(fs)),
        file_(fs_.open(path, open_mode::write | open_mode::create | open_mode::truncate)),
        opt_(opt),
        comp_(copt),
        data_(opt.restart_interval),
        index_(1),
        bloom_(opt.bloom_bits_per_key > 0 ? opt.bloom_bits_per_key : 10) {
    props_.compression = std::string(C::name);
  }

  /// Adds a version; `ikey` must sort after the previous one.
  void add(std::string_view ikey, std::string_view value) {
    std::string_view uk = user_key_of(ikey);
    if (props_.entries == 0) {
      props_.smallest.assign(ikey);
    }
    if (props_.entries == 0 || uk != last_user_key_) {
      if (opt_.bloom_bits_per_key > 0) bloom_.add_hash(bloom_hash(uk));
      last_user_key_.assign(uk);
    }
    std::uint64_t ts = timestamp_of(ikey);
    props_.min_ts = std::min(props_.min_ts, ts);
    props_.max_ts = std::max(props_.max_ts, ts);
    value_kind k = kind_of(ikey);
    if (k == value_kind::deletion) ++props_.deletions;
    if (k == value_kind::value_with_expiry) ++props_.expiring;
    ++props_.entries;
    props_.key_bytes += ikey.size();
    props_.value_bytes += value.size();
    data_.add(ikey, value);
    if (data_.size_estimate() >= opt_.block_size) flush_data_block();
  }

  /// Bytes the file will have if finished now (roughly: the open block counts raw).
  [[nodiscard]] std::uint64_t estimated_size() const noexcept {
    return written_ + pending_.size() + data_.size_estimate();
  }
  [[nodiscard]] std::uint64_t entries() const noexcept { return props_.entries; }
  /// The user key of the last entry added.
  [[nodiscard]] std::string_view last_user_key() const noexcept { return last_user_key_; }
  [[nodiscard]] const sst_properties& properties() const noexcept { return props_; }

  /// Writes the meta blocks, index and footer, syncs and closes the file; returns its size.
  /// (The caller syncs the directory before relying on the file.)
  std::uint64_t finish() {
    if (!data_.empty()) flush_data_block();
    props_.largest = last_key_;
    std::vector<std::pair<std::string_view, block_handle>> meta;
    if (opt_.bloom_bits_per_key > 0) {
      raw_.clear();
      bloom_.finish(raw_);
      meta.emplace_back(sst_meta_filter, append_raw(raw_));
    }
    raw_.clear();
    props_.encode_to(raw_);
    meta.emplace_back(sst_meta_stats, append_raw(raw_));
    if (!comp_.dictionary().empty()) {
      meta.emplace_back(sst_meta_dictionary, append_raw(comp_.dictionary()));
    }
    raw_.clear();
    put_varint64(raw_, meta.size());
    for (auto& [name, h] : meta) {
      put_length_prefixed(raw_, name);
      h.encode_to(raw_);
    }
    sst_footer f;
    f.meta_index = append_raw(raw_);
    f.index = append_raw(index_.finish());
    f.encode_to(pending_);
    file_.append(pending_);
    written_ += pending_.size();
    pending_.clear();
    file_.sync();
    file_.close();
    finished_ = true;
    return written_;
  }

  /// Stops writing (the caller removes the file).
  void abandon() {
    try {
      file_.close();
    } catch (const error&) {
    }
    finished_ = true;
  }

 private:
  // Appends a stored uncompressed block; returns its handle.
  block_handle append_raw(std::string_view raw) {
    block_handle h{written_ + pending_.size(), raw.size()};
    append_stored_block<no_compression>(pending_, raw, nullptr, scratch_);
    return h;
  }

  void flush_data_block() {
    std::string_view raw = data_.finish();
    block_handle h;
    h.offset = written_ + pending_.size();
    std::size_t before = pending_.size();
    append_stored_block(pending_, raw, &comp_, scratch_);
    h.size = pending_.size() - before - sst_block_trailer_size;
    last_key_.assign(data_.last_key());
    handle_buf_.clear();
    h.encode_to(handle_buf_);
    index_.add(last_key_, handle_buf_);
    data_.reset();
    ++props_.data_blocks;
    if (pending_.size() >= (1u << 20)) {  // write in ~1 MiB pieces
      file_.append(pending_);
      written_ += pending_.size();
      pending_.clear();
    }
  }

  Fs fs_;
  typename Fs::file file_;
  sst_options opt_;
  C comp_;
  block_builder data_;
  block_builder index_;
  bloom_builder bloom_;
  sst_properties props_;
  std::string pending_;
  std::string scratch_;
  std::string raw_;
  std::string handle_buf_;
  std::string last_key_;
  std::string last_user_key_;
  std::uint64_t written_ = 0;
  bool finished_ = false;
};

/// Counters a reader bumps (shared by all readers of a backend).
struct sst_read_counters {
  std::atomic<std::uint64_t> bloom_checks{0};  ///< point reads that consulted a filter
  std::atomic<std::uint64_t> bloom_useful{0};  ///< ... and were spared a block read by it
  std::atomic<std::uint64_t> block_reads{0};   ///< data blocks read from the file
  std::atomic<std::uint64_t> block_read_bytes{0};
};

/// Reads one SSTable. `Custom` decodes blocks of a user compression type (id >= 3).
template <file_system Fs, compression Custom = lz4>
class sst_reader {
  struct index_entry {
    std::uint32_t key_off;
    std::uint32_t key_len;
    block_handle handle;
  };

 public:
  struct open_args {
    std::uint64_t number = 0;        ///< file number: the block cache key
    std::uint64_t file_size = 0;     ///< 0: ask the file system
    block_cache* cache = nullptr;    ///< nullptr: no caching
    bool use_mmap = false;           ///< read through a mapping of the file
    const Custom* custom = nullptr;  ///< decoder of user compression types
    sst_read_counters* counters = nullptr;
  };

  /// Opens `path` and loads its footer, meta blocks and index. `label` names the file in
  /// errors ("sstable 000012.sst"). Throws corruption / unsupported / not_found / io_error.
  static std::unique_ptr<sst_reader> open(Fs& fs, const std::string& path, std::string label,
                                          const open_args& a) {
    std::unique_ptr<sst_reader> r(new sst_reader());
    r->ctx_.label = std::move(label);
    r->number_ = a.number;
    r->cache_ = a.cache;
    r->custom_ = a.custom;
    r->counters_ = a.counters;
    if (a.use_mmap) {
      r->map_ = fs.map(path);
      r->mapped_ = true;
      r->size_ = r->map_.size();
    } else {
      r->file_ = fs.open(path, open_mode::read);
      r->size_ = r->file_.size();
    }
    if (a.file_size != 0 && a.file_size != r->size_) {
      r->ctx_.fail(r->size_, "file size " + std::to_string(r->size_) + " differs from the " +
                                 std::to_string(a.file_size) + " bytes the manifest records");
    }
    r->load();
    return r;
  }

  [[nodiscard]] const sst_properties& properties() const noexcept { return props_; }
  [[nodiscard]] std::uint64_t file_size() const noexcept { return size_; }
  [[nodiscard]] const std::string& label() const noexcept { return ctx_.label; }
  [[nodiscard]] std::size_t block_count() const noexcept { return index_.size(); }
  /// Bytes this reader keeps in memory (index and filter).
  [[nodiscard]] std::size_t memory_usage() const noexcept {
    return index_keys_.size() + index_.size() * (sizeof(index_entry) + sizeof(std::uint64_t)) +
           filter_bytes_.size() + dict_bytes_.size();
  }

  /// False when the filter says the user key is absent.
  [[nodiscard]] bool may_contain(std::uint64_t bloom_h) const noexcept {
    return bloom_.may_contain(bloom_h);
  }

  /// Point read: the newest version of `user_key` at or below the snapshot encoded in `target`
  /// (lookup_key(user_key, ts)). Consults the filter first.
  lookup_state get(std::string_view target, std::string_view user_key, std::uint64_t bloom_h,
                   std::uint64_t now_ms, std::string& out) const {
    if (bloom_.valid()) {
      if (counters_ != nullptr) counters_->bloom_checks.fetch_add(1, std::memory_order_relaxed);
      if (!bloom_.may_contain(bloom_h)) {
        if (counters_ != nullptr) counters_->bloom_useful.fetch_add(1, std::memory_order_relaxed);
        return lookup_state::absent;
      }
    }
    std::size_t i = find_block(target);
    if (i == index_.size()) return lookup_state::absent;
    block_ptr b = read_block(i, true);
    block_iter it;
    it.init(b.get(), &ctx_);
    it.seek(target);
    if (!it.valid()) return lookup_state::absent;
    std::string_view k = it.key();
    if (user_key_of(k) != user_key) return lookup_state::absent;
    value_kind kind = kind_of(k);
    if (kind == value_kind::deletion) return lookup_state::deleted;
    stored_value sv = decode_stored_value(kind, it.value());
    if (now_ms != 0 && sv.expired(now_ms)) return lookup_state::deleted;
    out.assign(sv.value);
    return lookup_state::found;
  }

  /// Starts loading the filter block get(…, bloom_h, …) probes first (a hint).
  void prefetch_filter(std::uint64_t bloom_h) const noexcept { bloom_.prefetch(bloom_h); }

  /// Commit ts of the newest version of `user_key` in this file, 0 if none.
  [[nodiscard]] std::uint64_t newest_ts(std::string_view user_key, std::uint64_t bloom_h) const {
    if (!bloom_.may_contain(bloom_h)) return 0;
    std::string target = lookup_key(user_key, max_timestamp);
    std::size_t i = find_block(target);
    if (i == index_.size()) return 0;
    block_ptr b = read_block(i, true);
    block_iter it;
    it.init(b.get(), &ctx_);
    it.seek(target);
    if (!it.valid() || user_key_of(it.key()) != user_key) return 0;
    return timestamp_of(it.key());
  }

  /// Index of the first data block whose last key is >= target (block_count() if none).
  /// Searches the dense array of 8-byte key prefixes first (taken after the prefix all index
  /// keys share, so keys like "user:000123" still differ there); keys are compared only where
  /// the prefixes tie.
  [[nodiscard]] std::size_t find_block(std::string_view target) const {
    std::string_view uk = user_key_of(target);
    const std::size_t shared = common_prefix_.size();
    if (shared != 0) {
      int c = compare_prefix_bytes(uk.data(), common_prefix_.data(), std::min(shared, uk.size()));
      if (c < 0 || (c == 0 && uk.size() < shared)) return 0;  // before every index key
      if (c > 0) return index_.size();                        // after every index key
    }
    const std::uint64_t p = key_prefix(uk.substr(shared));
    std::size_t lo = 0, hi = index_.size();
    while (lo < hi) {
      std::size_t mid = lo + (hi - lo) / 2;
      std::uint64_t q = index_prefix_[mid];
      if (q != p ? q < p : compare_internal_keys(index_key(mid), target) < 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  /// Data block i, from the cache or the file (cached when fill_cache).
  [[nodiscard]] block_ptr read_block(std::size_t i, bool fill_cache) const {
    const block_handle& h = index_[i].handle;
    if (cache_ != nullptr) {
      if (auto b = cache_->lookup(number_, h.offset)) return b;
    }
    auto b = std::make_shared<block_contents>(load_block(h));
    b->parse_restarts(ctx_);
    // A raw block read through a mapping views the mapping: it must not outlive this reader,
    // so only blocks that own their bytes go into the (longer-lived) cache.
    bool owns = !b->owned.empty();
    block_ptr p = std::move(b);
    if (cache_ != nullptr && fill_cache && owns) cache_->insert(number_, h.offset, p);
    return p;
  }

  /// Reads and decodes the block at `h` from `buf` if it lies inside it (sequential readers
  /// pass their readahead window), otherwise from the file.
  [[nodiscard]] block_contents load_block(const block_handle& h, std::string_view window = {},
                                          std::uint64_t window_off = 0) const {
    std::uint64_t len = h.size + sst_block_trailer_size;
    if (counters_ != nullptr) {
      counters_->block_reads.fetch_add(1, std::memory_order_relaxed);
      counters_->block_read_bytes.fetch_add(len, std::memory_order_relaxed);
    }
    if (mapped_) {
      std::string_view stored(map_.data() + h.offset, static_cast<std::size_t>(len));
      return decode_stored_block(stored, h.offset, true, ctx_, ddict_.get(), custom_);
    }
    if (h.offset >= window_off && h.offset + len <= window_off + window.size()) {
      std::string_view stored = window.substr(static_cast<std::size_t>(h.offset - window_off),
                                              static_cast<std::size_t>(len));
      return decode_stored_block(stored, h.offset, false, ctx_, ddict_.get(), custom_);
    }
    std::string buf(static_cast<std::size_t>(len), '\0');
    read_exact(h.offset, buf);
    block_contents b = decode_stored_block(buf, h.offset, true, ctx_, ddict_.get(), custom_);
    if (b.owned.empty() && b.data.data() == buf.data()) {  // raw: keep the buffer
      std::size_t n = b.data.size();
      b.owned = std::move(buf);
      b.owned.resize(n);
      b.data = b.owned;
    }
    return b;
  }

  /// Reads [off, off+n) of the file into out (resized); for readahead.
  void read_range(std::uint64_t off, std::uint64_t n, std::string& out) const {
    n = std::min(n, size_ - std::min(off, size_));
    out.resize(static_cast<std::size_t>(n));
    read_exact(off, out);
  }

  [[nodiscard]] std::string_view index_key(std::size_t i) const noexcept {
    return {index_keys_.data() + index_[i].key_off, index_[i].key_len};
  }
  [[nodiscard]] const block_handle& handle(std::size_t i) const noexcept {
    return index_[i].handle;
  }
  [[nodiscard]] const sst_error_context& error_context() const noexcept { return ctx_; }
  [[nodiscard]] bool mapped() const noexcept { return mapped_; }

 private:
  sst_reader() = default;

  // The first 8 bytes of a user key as a big-endian number, zero-padded: when two prefixes
  // differ, the keys compare the same way.
  static std::uint64_t key_prefix(std::string_view user_key) noexcept {
    unsigned char b[8] = {};
    std::memcpy(b, user_key.data(), std::min<std::size_t>(8, user_key.size()));
    std::uint64_t v = 0;
    for (unsigned char c : b) v = v << 8 | c;
    return v;
  }

  void read_exact(std::uint64_t off, std::string& buf) const {
    if (off + buf.size() > size_) ctx_.fail(off, "block extends past the end of the file");
    if (mapped_) {
      std::memcpy(buf.data(), map_.data() + off, buf.size());
      return;
    }
    std::size_t n = file_.read_at(off, std::span<char>(buf.data(), buf.size()));
    if (n != buf.size()) ctx_.fail(off, "short read");
  }

  std::string read_meta_block(const block_handle& h) {
    block_contents b = load_block(h);
    return std::string(b.data);
  }

  void load() {
    if (size_ < sst_footer_size) ctx_.fail(size_, "file too short for an sstable footer");
    std::string foot(sst_footer_size, '\0');
    read_exact(size_ - sst_footer_size, foot);
    sst_footer f = sst_footer::decode(foot, size_, ctx_);
    std::uint64_t meta_start = std::min(f.meta_index.offset, f.index.offset);

    // Meta index: name -> handle.
    std::string meta = read_meta_block(f.meta_index);
    byte_reader mr(meta, ctx_.label, f.meta_index.offset);
    std::uint64_t count = mr.varint64();
    if (count > 16) mr.fail("too many meta index entries");
    std::optional<block_handle> filter_h, stats_h, dict_h;
    for (std::uint64_t i = 0; i < count; ++i) {
      std::string_view name = mr.length_prefixed();
      block_handle h{mr.varint64(), mr.varint64()};
      if (h.offset > size_ || h.size > size_ - h.offset ||
          size_ - h.offset - h.size < sst_block_trailer_size + sst_footer_size) {
        mr.fail("meta block handle points outside the file");
      }
      meta_start = std::min(meta_start, h.offset);
      if (name == sst_meta_filter) filter_h = h;
      if (name == sst_meta_stats) stats_h = h;
      if (name == sst_meta_dictionary) dict_h = h;
    }
    if (!stats_h) ctx_.fail(f.meta_index.offset, "meta index has no stats block");
    std::string stats = read_meta_block(*stats_h);
    props_ = sst_properties::decode(stats, ctx_.label, stats_h->offset);
    if (filter_h) {
      filter_bytes_ = read_meta_block(*filter_h);
      const char* err = nullptr;
      bloom_ = bloom_view::parse(filter_bytes_, err);
      if (err != nullptr) ctx_.fail(filter_h->offset, err);
    }
    if (dict_h) {
      dict_bytes_ = read_meta_block(*dict_h);
      try {
        ddict_ = std::make_shared<zstd_decoder_dictionary>(dict_bytes_);
      } catch (const corruption&) {
        ctx_.fail(dict_h->offset, "bad compression dictionary");
      }
    }

    // Index: last key of each data block -> handle. Kept decoded for binary search.
    block_contents ib = load_block(f.index);
    ib.parse_restarts(ctx_);
    block_iter it;
    it.init(&ib, &ctx_);
    std::uint64_t expect_off = 0;
    for (it.seek_to_first(); it.valid(); it.next()) {
      std::string_view v = it.value();
      block_handle h;
      if (!block_handle::decode_from(v, h) || h.offset != expect_off || h.size > meta_start ||
          meta_start - h.size < sst_block_trailer_size ||
          h.offset > meta_start - h.size - sst_block_trailer_size) {
        ctx_.fail(f.index.offset, "index entry points outside the data blocks");
      }
      expect_off = h.offset + h.size + sst_block_trailer_size;
      if (index_keys_.size() + it.key().size() > 0xffffffffu) {
        ctx_.fail(f.index.offset, "index too large");
      }
      index_.push_back({static_cast<std::uint32_t>(index_keys_.size()),
                        static_cast<std::uint32_t>(it.key().size()), h});
      index_keys_.append(it.key());
    }
    // The prefix every index user key shares (the keys are sorted: the first and the last
    // bound it; a damaged index that is not sorted gives wrong answers, not a crash), then the
    // 8 bytes after it of each key.
    if (!index_.empty()) {
      std::string_view first = user_key_of(index_key(0)),
                       last = user_key_of(index_key(index_.size() - 1));
      std::size_t n = 0;
      while (n < first.size() && n < last.size() && first[n] == last[n]) ++n;
      common_prefix_.assign(first.substr(0, n));
    }
    index_prefix_.reserve(index_.size());
    for (std::size_t i = 0; i < index_.size(); ++i) {
      std::string_view uk = user_key_of(index_key(i));
      index_prefix_.push_back(key_prefix(uk.substr(std::min(common_prefix_.size(), uk.size()))));
    }
  }

  sst_error_context ctx_;
  std::uint64_t number_ = 0;
  std::uint64_t size_ = 0;
  block_cache* cache_ = nullptr;
  const Custom* custom_ = nullptr;
  sst_read_counters* counters_ = nullptr;
  typename Fs::file file_{};
  typename Fs::mapping map_{};
  bool mapped_ = false;
  sst_properties props_;
  std::string filter_bytes_;
  bloom_view bloom_;
  std::string dict_bytes_;
  std::shared_ptr<zstd_decoder_dictionary> ddict_;
  std::vector<index_entry> index_;
  std::string common_prefix_;                // the user-key prefix all index keys share
  std::vector<std::uint64_t> index_prefix_;  // key_prefix after it of each index key
  std::string index_keys_;
};

/// A two-level iterator over one SSTable (index entry -> data block), both directions.
/// `sequential` reads ahead 1 MiB at a time and does not fill the cache (compaction).
template <class Reader>
class sst_iterator {
 public:
  sst_iterator() = default;
  /// `r` must outlive the iterator; `keep` (optional) is what keeps it alive.
  explicit sst_iterator(const Reader* r, std::shared_ptr<const void> keep = {},
                        bool sequential = false)
      : r_(r), keep_(std::move(keep)), sequential_(sequential) {}

  [[nodiscard]] bool valid() const noexcept { return bi_.valid(); }
  [[nodiscard]] std::string_view key() const noexcept { return bi_.key(); }
  [[nodiscard]] std::string_view value() const noexcept { return bi_.value(); }

  void next() {
    bi_.next();
    if (!bi_.valid()) forward_to_next_block();
  }
  void prev() {
    bi_.prev();
    if (!bi_.valid()) back_to_previous_block();
  }
  void seek(std::string_view target) {
    std::size_t i = r_->find_block(target);
    if (i == r_->block_count()) {
      invalidate();
      return;
    }
    load(i);
    bi_.seek(target);
    if (!bi_.valid()) forward_to_next_block();
  }
  void seek_before(std::string_view target) {
    std::size_t i = r_->find_block(target);
    if (i == r_->block_count()) {
      seek_to_last();
      return;
    }
    load(i);
    bi_.seek_before(target);
    if (!bi_.valid()) back_to_previous_block();
  }
  void seek_to_first() {
    if (r_->block_count() == 0) {
      invalidate();
      return;
    }
    load(0);
    bi_.seek_to_first();
    if (!bi_.valid()) forward_to_next_block();
  }
  void seek_to_last() {
    if (r_->block_count() == 0) {
      invalidate();
      return;
    }
    load(r_->block_count() - 1);
    bi_.seek_to_last();
    if (!bi_.valid()) back_to_previous_block();
  }

 private:
  void invalidate() {
    blk_.reset();
    bi_ = block_iter();
    idx_ = 0;
  }
  void load(std::size_t i) {
    if (blk_ && idx_ == i) return;
    idx_ = i;
    if (sequential_) {
      const block_handle& h = r_->handle(i);
      std::uint64_t len = h.size + sst_block_trailer_size;
      if (r_->mapped() || (h.offset >= ra_off_ && h.offset + len <= ra_off_ + ra_.size())) {
        // in the window (or mapped)
      } else {
        ra_off_ = h.offset;
        r_->read_range(h.offset, std::max<std::uint64_t>(len, 1u << 20), ra_);
      }
      auto b = std::make_shared<block_contents>(r_->load_block(h, ra_, ra_off_));
      b->parse_restarts(r_->error_context());
      blk_ = std::move(b);
    } else {
      blk_ = r_->read_block(i, true);
    }
    bi_.init(blk_.get(), &r_->error_context());
  }
  void forward_to_next_block() {
    while (!bi_.valid()) {
      if (!blk_ || idx_ + 1 >= r_->block_count()) {
        invalidate();
        return;
      }
      load(idx_ + 1);
      bi_.seek_to_first();
    }
  }
  void back_to_previous_block() {
    while (!bi_.valid()) {
      if (!blk_ || idx_ == 0) {
        invalidate();
        return;
      }
      load(idx_ - 1);
      bi_.seek_to_last();
    }
  }

  const Reader* r_ = nullptr;
  std::shared_ptr<const void> keep_;
  bool sequential_ = false;
  std::size_t idx_ = 0;
  block_ptr blk_;
  block_iter bi_;
  std::string ra_;
  std::uint64_t ra_off_ = 0;
};

SOCHDB_END_NAMESPACE
