// sochdb/storage/compression.hpp — block compression policies for SSTables.
//
// Every SSTable block is stored as `payload | type (1 byte) | checksum32 (4 bytes)`
// (docs/formats/sstable.md). The type byte names how the payload was compressed, so a reader
// decodes any block whatever policy wrote it: the built-in methods are decoded by
// `decompress_block` here, and a user method by the `Compression` policy of the reading
// backend (its `id` must be 128 or more).
//
// The `compression` concept, written out on the reference model `lz4` below:
//
//   C::id                        uint8_t: the type byte of the blocks it writes (format constant)
//   C::name                      printable name ("lz4")
//   C(const compression_options&)  level and dictionary (either may be ignored)
//   c.compress(raw, out) -> bool  appends the compressed form of `raw` to `out`; false (and `out`
//                                 unchanged) when the block is better stored raw
//   cc.decompress(in, dst, n) -> bool  decodes `in` into exactly n bytes at dst; false on damage.
//                                 Must be thread-safe on a const object (many readers at once).
//   cc.dictionary() -> string_view  bytes every reader needs to decode this policy's blocks
//                                 (zstd's trained dictionary); stored in each SSTable, "" if none
//
// Models: `no_compression` (id 0), `lz4` (id 1, the default: LZ4 block format), `zstd` (id 2,
// Zstandard frames, level configurable, optional dictionary trained with
// `zstd_train_dictionary`). Thread safety: compress() is called by one thread per object (each
// SSTable writer constructs its own); decompress() from any number of threads.
#pragma once

#include <sochdb/core/error.hpp>
#include <sochdb/storage/lsm_options.hpp>

#include <lz4.h>
#include <lz4hc.h>
#include <zdict.h>
#include <zstd.h>

#include <concepts>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

SOCHDB_BEGIN_NAMESPACE

/// Type bytes of the built-in methods. On-disk format: do not change.
enum class compression_type : std::uint8_t { none = 0, lz4 = 1, zstd = 2 };

template <class C>
concept compression = std::constructible_from<C, const compression_options&> &&
    requires(C& c, const C& cc, std::string_view in, std::string& out, char* dst, std::size_t n) {
  { C::id } -> std::convertible_to<std::uint8_t>;
  { C::name } -> std::convertible_to<std::string_view>;
  { c.compress(in, out) } -> std::same_as<bool>;
  { cc.decompress(in, dst, n) } -> std::same_as<bool>;
  { cc.dictionary() } -> std::convertible_to<std::string_view>;
};

/// Stores blocks as they are.
struct no_compression {
  static constexpr std::uint8_t id = 0;
  static constexpr std::string_view name = "none";
  no_compression() = default;
  explicit no_compression(const compression_options&) {}
  bool compress(std::string_view, std::string&) { return false; }
  bool decompress(std::string_view in, char* dst, std::size_t n) const {
    if (in.size() != n) return false;
    if (n != 0) std::memcpy(dst, in.data(), n);
    return true;
  }
  [[nodiscard]] std::string_view dictionary() const noexcept { return {}; }
};

/// LZ4 block format (the reference model). Fast in both directions; level > 0 uses LZ4HC
/// (slower to write, same speed to read).
class lz4 {
 public:
  /// Requirement: the type byte. Format constant.
  static constexpr std::uint8_t id = 1;
  static constexpr std::string_view name = "lz4";

  lz4() = default;
  explicit lz4(const compression_options& o) : level_(o.level) {}

  /// Requirement: append the compressed bytes; false when compression does not save at least
  /// 1/8 of the block (storing it raw then reads faster and costs little space).
  bool compress(std::string_view raw, std::string& out) {
    if (raw.size() > static_cast<std::size_t>(LZ4_MAX_INPUT_SIZE)) return false;
    auto bound = static_cast<std::size_t>(LZ4_compressBound(static_cast<int>(raw.size())));
    std::size_t base = out.size();
    out.resize(base + bound);
    int n = level_ > 0
                ? LZ4_compress_HC(raw.data(), out.data() + base, static_cast<int>(raw.size()),
                                  static_cast<int>(bound), level_)
                : LZ4_compress_default(raw.data(), out.data() + base, static_cast<int>(raw.size()),
                                       static_cast<int>(bound));
    if (n <= 0 || static_cast<std::size_t>(n) > raw.size() - raw.size() / 8) {
      out.resize(base);
      return false;
    }
    out.resize(base + static_cast<std::size_t>(n));
    return true;
  }

  /// Requirement: decode exactly n bytes; false on damage. LZ4_decompress_safe never writes
  /// past dst + n nor reads past the input, whatever the bytes.
  bool decompress(std::string_view in, char* dst, std::size_t n) const {
    int got = LZ4_decompress_safe(in.data(), dst, static_cast<int>(in.size()), static_cast<int>(n));
    return got >= 0 && static_cast<std::size_t>(got) == n;
  }

  /// Requirement: no dictionary.
  [[nodiscard]] std::string_view dictionary() const noexcept { return {}; }

 private:
  int level_ = 0;
};

namespace detail {
struct zstd_cctx_deleter {
  void operator()(ZSTD_CCtx* c) const noexcept { ZSTD_freeCCtx(c); }
};
struct zstd_cdict_deleter {
  void operator()(ZSTD_CDict* c) const noexcept { ZSTD_freeCDict(c); }
};
struct zstd_ddict_deleter {
  void operator()(ZSTD_DDict* d) const noexcept { ZSTD_freeDDict(d); }
};
/// One decompression context per thread (a DCtx is not thread-safe; creating one per block
/// would dominate small-block reads).
inline ZSTD_DCtx* thread_dctx() {
  struct holder {
    ZSTD_DCtx* c = ZSTD_createDCtx();
    ~holder() { ZSTD_freeDCtx(c); }
  };
  thread_local holder h;
  return h.c;
}
}  // namespace detail

/// A digested zstd dictionary for decoding (shared by the readers of one SSTable).
class zstd_decoder_dictionary {
 public:
  explicit zstd_decoder_dictionary(std::string_view dict)
      : dict_(ZSTD_createDDict(dict.data(), dict.size())) {
    if (!dict_) throw corruption("zstd dictionary cannot be loaded");
  }
  [[nodiscard]] const ZSTD_DDict* get() const noexcept { return dict_.get(); }

 private:
  std::unique_ptr<ZSTD_DDict, detail::zstd_ddict_deleter> dict_;
};

/// Zstandard. `level` 0 means 3; 1..19 trade speed for size (negative levels are faster
/// still). With a dictionary (zstd_train_dictionary on sample values) small blocks compress
/// much better; the dictionary is stored in every SSTable so files stay self-contained.
class zstd {
 public:
  static constexpr std::uint8_t id = 2;
  static constexpr std::string_view name = "zstd";

  zstd() : zstd(compression_options{}) {}
  explicit zstd(const compression_options& o)
      : level_(o.level == 0 ? 3 : o.level), dict_(o.dictionary), cctx_(ZSTD_createCCtx()) {
    if (o.level < ZSTD_minCLevel() || o.level > ZSTD_maxCLevel()) {
      throw invalid_argument("zstd: level " + std::to_string(o.level) + " is outside [" +
                             std::to_string(ZSTD_minCLevel()) + ", " +
                             std::to_string(ZSTD_maxCLevel()) + "]");
    }
    if (!dict_.empty()) {
      cdict_.reset(ZSTD_createCDict(dict_.data(), dict_.size(), level_));
      if (!cdict_) throw invalid_argument("zstd: the dictionary cannot be loaded");
      ddict_ = std::make_shared<zstd_decoder_dictionary>(dict_);
    }
  }

  bool compress(std::string_view raw, std::string& out) {
    std::size_t bound = ZSTD_compressBound(raw.size());
    std::size_t base = out.size();
    out.resize(base + bound);
    std::size_t n = cdict_ ? ZSTD_compress_usingCDict(cctx_.get(), out.data() + base, bound,
                                                      raw.data(), raw.size(), cdict_.get())
                           : ZSTD_compressCCtx(cctx_.get(), out.data() + base, bound, raw.data(),
                                               raw.size(), level_);
    if (ZSTD_isError(n) || n > raw.size() - raw.size() / 8) {
      out.resize(base);
      return false;
    }
    out.resize(base + n);
    return true;
  }

  bool decompress(std::string_view in, char* dst, std::size_t n) const {
    std::size_t got =
        ddict_ ? ZSTD_decompress_usingDDict(detail::thread_dctx(), dst, n, in.data(), in.size(),
                                            ddict_->get())
               : ZSTD_decompressDCtx(detail::thread_dctx(), dst, n, in.data(), in.size());
    return !ZSTD_isError(got) && got == n;
  }

  [[nodiscard]] std::string_view dictionary() const noexcept { return dict_; }
  [[nodiscard]] int level() const noexcept { return level_; }

 private:
  int level_;
  std::string dict_;
  std::unique_ptr<ZSTD_CCtx, detail::zstd_cctx_deleter> cctx_;
  std::unique_ptr<ZSTD_CDict, detail::zstd_cdict_deleter> cdict_;
  std::shared_ptr<zstd_decoder_dictionary> ddict_;
};

static_assert(compression<no_compression>);
static_assert(compression<lz4>);
static_assert(compression<zstd>);

/// Trains a zstd dictionary of at most `max_bytes` from sample records (typical values or
/// blocks; zstd wants roughly 100x the dictionary size in samples). Throws invalid_argument when
/// the samples are too few or too uniform to train on.
inline std::string zstd_train_dictionary(std::span<const std::string> samples,
                                         std::size_t max_bytes = 16 * 1024) {
  std::string joined;
  std::vector<std::size_t> sizes;
  sizes.reserve(samples.size());
  for (const auto& s : samples) {
    joined += s;
    sizes.push_back(s.size());
  }
  std::string dict(max_bytes, '\0');
  std::size_t n = ZDICT_trainFromBuffer(dict.data(), dict.size(), joined.data(), sizes.data(),
                                        static_cast<unsigned>(sizes.size()));
  if (ZDICT_isError(n)) {
    throw invalid_argument(std::string("zstd_train_dictionary: ") + ZDICT_getErrorName(n));
  }
  dict.resize(n);
  return dict;
}

/// Decodes a built-in compressed payload (types none, lz4, zstd) into exactly `n` bytes at dst;
/// false on damage or an unknown type. `ddict` is the table's zstd dictionary, if it has one.
inline bool decompress_builtin(std::uint8_t type, std::string_view in, char* dst, std::size_t n,
                               const zstd_decoder_dictionary* ddict) {
  switch (static_cast<compression_type>(type)) {
    case compression_type::none:
      return no_compression{}.decompress(in, dst, n);
    case compression_type::lz4:
      return lz4{}.decompress(in, dst, n);
    case compression_type::zstd: {
      std::size_t got =
          ddict != nullptr
              ? ZSTD_decompress_usingDDict(detail::thread_dctx(), dst, n, in.data(), in.size(),
                                           ddict->get())
              : ZSTD_decompressDCtx(detail::thread_dctx(), dst, n, in.data(), in.size());
      return !ZSTD_isError(got) && got == n;
    }
  }
  return false;
}

SOCHDB_END_NAMESPACE
