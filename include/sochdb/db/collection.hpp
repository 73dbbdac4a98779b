// sochdb/db/collection.hpp — collections: documents with vectors, metadata and text, stored in
// the KV store and searched by vector, keyword (BM25) or both.
//
//     auto ns = db.get_or_create_namespace("tenant_a");
//     auto docs = ns.create_collection({.name = "docs", .dimension = 384, .hybrid = true});
//     docs.insert({.id = "d1", .vectors = {emb}, .metadata = {{"year", 2024}}, .text = "..."});
//     auto hits = docs.search({.vector = q, .k = 10,
//                              .filter = sochdb::metadata_filter::compile(R"({"year": {"$gte":
//                              2020}})")});
//
// Source of truth and derived state. Every document lives in the KV store under
// `<namespace prefix>c/<collection>/d/<id>` (db/document.hpp), written in the caller's
// transaction (`insert(txn, doc)`) or in one of its own. The vector index
// (vector/collection_index.hpp: exact flat, then HNSW over float / SQ8 / PQ codes, then — from
// `vamana_above` vectors, built in a background thread — Vamana + PQ with an HNSW delta) and the
// BM25 index (text/bm25.hpp) are derived: a write registers an on-commit callback on its
// transaction, so only committed documents reach them, and they are updated before commit()
// returns. Indexes are checkpointed (on close, on `checkpoint()`, and every `checkpoint_every`
// changes) into `<db dir>/coll+<namespace>+c+<collection>/` (format:
// docs/formats/collection.md) together with the content hash of every indexed document. On
// open the checkpoint is loaded (no rebuild) and caught up from the KV store: one scan of the
// collection's documents re-indexes exactly those whose stored bytes differ from the
// checkpoint's hash and drops those gone from the KV store. A missing or damaged checkpoint
// means a full rebuild from the KV store — never lost data, since the KV store holds it all.
// After a crash the same happens: the KV store recovers exactly the acknowledged commits, and
// the indexes are caught up to them.
//
// Filters (db/filter.hpp) are compiled once per request and evaluated inside the index search
// on each candidate's metadata (pre-filtering: the index keeps searching until it has k
// passing results), never by over-fetching and dropping.
//
// Scores. Every hit carries `score` (higher is better) and, for vector hits, `distance` and the
// `metric`: cosine: score = cosine similarity, distance = 1 - score; l2: distance = Euclidean
// distance, score = 1 / (1 + distance); inner_product: score = dot product, distance =
// 1 - score. Keyword hits score BM25; hybrid hits score the fusion (RRF or alpha-weighted).
//
// Thread safety: handles are cheap values that refer to the database they came from (which
// must outlive them and not move). Any number of threads may use one collection: searches
// share a reader lock on the derived indexes, commits take it exclusively while they apply.
// Writes made to the collection's keys with the raw KV API bypass the indexes until the next
// open catches them up.
#pragma once

#include <sochdb/core/checksum.hpp>
#include <sochdb/core/clock.hpp>
#include <sochdb/core/coding.hpp>
#include <sochdb/core/error.hpp>
#include <sochdb/core/fs.hpp>
#include <sochdb/db/document.hpp>
#include <sochdb/db/extensions.hpp>
#include <sochdb/db/filter.hpp>
#include <sochdb/text/bm25.hpp>
#include <sochdb/text/fusion.hpp>
#include <sochdb/vector/collection_index.hpp>

#include <nlohmann/json.hpp>
#include <tsl/robin_map.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

SOCHDB_BEGIN_NAMESPACE

/// A search (vector, keyword, or both = hybrid). Empty `vector` / `text` leave that part out.
struct search_request {
  std::vector<float> vector;  ///< query embedding (collection dimension)
  std::string text;           ///< keyword query (BM25; needs a hybrid collection)
  std::size_t k = 10;         ///< results wanted
  std::size_t ef_search = 0;  ///< HNSW beam for this query (0: the collection's ef_search)
  metadata_filter filter;     ///< pre-filter on metadata (default: none)
  double min_score = -std::numeric_limits<double>::infinity();  ///< drop hits scoring below
  bool include_vectors = false;  ///< copy the document's vectors into each hit
  bool include_metadata = true;  ///< copy the metadata into each hit
  std::optional<double> alpha;   ///< hybrid: alpha * vector + (1 - alpha) * keyword, each
                                 ///< min-max normalized; unset: reciprocal rank fusion
  double rrf_k = 60.0;           ///< hybrid RRF constant (Cormack et al. 2009)
  multi_vector_aggregate aggregate = multi_vector_aggregate::max;  ///< multi-vector documents
  std::size_t candidates = 0;  ///< hybrid: depth of each list before fusion (0: max(4k, 50))
};

/// One result.
struct search_hit {
  std::string id;
  double score = 0;  ///< higher is better: similarity, BM25, or the fused score
  double distance = std::numeric_limits<double>::quiet_NaN();       ///< vector distance (NaN: none)
  simd::metric_kind metric = simd::metric_kind::cosine;             ///< the collection's metric
  double vector_score = std::numeric_limits<double>::quiet_NaN();   ///< similarity part
  double keyword_score = std::numeric_limits<double>::quiet_NaN();  ///< BM25 part
  nlohmann::json metadata;                                          ///< when include_metadata
  std::vector<std::vector<float>> vectors;  ///< when include_vectors (stored form)
};

/// What opening a collection found (tests and tools).
struct collection_open_stats {
  bool checkpoint_loaded = false;   ///< a valid checkpoint was loaded (no full rebuild)
  std::string checkpoint_error;     ///< why a present checkpoint was rejected (empty: none)
  std::uint64_t checkpoint_ts = 0;  ///< commit timestamp the loaded checkpoint covered
  std::size_t verified = 0;         ///< documents whose checkpointed index entries were kept
  std::size_t reindexed = 0;        ///< documents (re)indexed from the KV store while opening
  std::size_t removed = 0;          ///< checkpointed documents gone from the KV store
};

/// Sizes and settings of a collection (info()).
struct collection_info {
  collection_config config;
  std::size_t count = 0;                                ///< live documents
  std::size_t vectors = 0;                              ///< live vectors in the index
  vector::index_kind index = vector::index_kind::flat;  ///< current tier
  std::size_t index_size_bytes = 0;                     ///< vector index memory
  std::size_t keyword_index_bytes = 0;                  ///< BM25 memory
  std::uint64_t checkpoint_ts = 0;  ///< commit timestamp covered by the newest checkpoint
  std::size_t tombstones = 0;       ///< removed vectors still in the HNSW graph (compacted at 20%)
  std::uint64_t compactions = 0;    ///< graph compactions since the collection was opened
  bool vamana_building = false;     ///< a Vamana build runs in the background
  std::uint64_t vamana_builds = 0;  ///< Vamana builds finished since the collection was opened
  std::string vamana_error;         ///< why the last Vamana build failed (empty: it did not)
  [[nodiscard]] nlohmann::json to_json() const {
    auto j = config.to_json();
    j["count"] = count;
    j["vectors"] = vectors;
    j["index"] = vector::to_string(index);
    j["index_size_bytes"] = index_size_bytes;
    j["keyword_index_bytes"] = keyword_index_bytes;
    j["checkpoint_ts"] = checkpoint_ts;
    j["tombstones"] = tombstones;
    j["compactions"] = compactions;
    j["vamana_building"] = vamana_building;
    j["vamana_builds"] = vamana_builds;
    if (!vamana_error.empty()) j["vamana_error"] = vamana_error;
    return j;
  }
};

namespace detail {

/// A committed change to one document: its new stored bytes, or nullopt for a delete.
struct doc_change {
  std::string id;
  std::optional<std::string> value;
};

inline std::uint64_t now_ms() { return system_ms_source{}(); }

/// The derived indexes of one collection (shared by all its handles; see the header comment).
template <class Fs>
class collection_state : public extension {
 public:
  static constexpr std::uint32_t no_slot = std::numeric_limits<std::uint32_t>::max();

  collection_state(collection_config cfg, std::string kv_prefix, std::string dir, Fs fs)
      : cfg_(std::move(cfg)),
        prefix_(std::move(kv_prefix)),
        dir_(std::move(dir)),
        fs_(std::move(fs)),
        vec_(cfg_.index_options()),
        bm25_(bm25_opts()) {}

  const collection_config& config() const noexcept { return cfg_; }
  const std::string& prefix() const noexcept { return prefix_; }
  std::string doc_prefix() const { return prefix_ + "d/"; }
  std::string doc_key(std::string_view id) const { return prefix_ + "d/" + std::string(id); }
  std::string config_key() const { return prefix_ + "config"; }
  const collection_open_stats& open_stats() const noexcept { return open_stats_; }
  bool dropped() const noexcept { return dropped_.load(); }

  /// Loads the checkpoint (if valid) and catches up from the KV store.
  template <class Db>
  void open(Db& db) {
    {
      std::unique_lock lk(mu_);
      load_checkpoint();
      catch_up_locked(db);
    }
    maybe_start_vamana();
  }

  collection_state(const collection_state&) = delete;
  collection_state& operator=(const collection_state&) = delete;
  ~collection_state() override { join_vamana(true); }

  /// Waits until no Vamana build runs (tests, tools; close() and drop() wait too).
  void wait_for_index() { join_vamana(); }

  /// Re-synchronizes with the KV store if an apply failed (after an exception in a callback).
  template <class Db>
  void ensure_fresh(Db& db) {
    if (!stale_.load(std::memory_order_acquire)) return;
    std::unique_lock lk(mu_);
    if (!stale_.load()) return;
    stale_.store(false);
    catch_up_locked(db);
  }

  /// Applies committed changes (on-commit callback; never throws: on failure the state is
  /// marked stale and caught up from the KV store by the next reader).
  void apply(const std::vector<doc_change>& changes, std::uint64_t ts) noexcept {
    try {
      std::unique_lock lk(mu_);
      if (dropped_) return;
      apply_locked(changes, ts);
      if (ts > covered_ts_) covered_ts_ = ts;
      changes_since_checkpoint_ += changes.size();
      const bool due = vec_.vamana_due();
      if (cfg_.checkpoint_every != 0 && changes_since_checkpoint_ >= cfg_.checkpoint_every) {
        lk.unlock();
        checkpoint();
      } else {
        lk.unlock();
      }
      if (due) maybe_start_vamana();
    } catch (...) {
      stale_.store(true, std::memory_order_release);
    }
  }

  // ---- reads (shared lock) ----

  /// Live documents (expired ones excluded: they stay in the index, never returned, until
  /// the next open's catch-up finds them gone from the KV store).
  std::size_t count() const {
    std::shared_lock lk(mu_);
    return live_ - expired_locked(nullptr);
  }
  std::size_t max_vectors_per_doc() const {
    std::shared_lock lk(mu_);
    return max_vecs_;
  }
  std::uint64_t live_bytes() const {
    std::shared_lock lk(mu_);
    std::uint64_t expired_bytes = 0;
    expired_locked(&expired_bytes);
    return bytes_ - expired_bytes;
  }

  collection_info info() const {
    std::shared_lock lk(mu_);
    collection_info i;
    i.config = cfg_;
    i.count = live_ - expired_locked(nullptr);
    i.vectors = vec_.size();
    i.index = vec_.kind();
    auto vs = vec_.stats();
    i.index_size_bytes = vs.memory_bytes;
    i.tombstones = vs.deleted;
    i.compactions = compactions_;
    i.keyword_index_bytes = cfg_.hybrid ? bm25_.memory_usage() : 0;
    i.checkpoint_ts = checkpoint_ts_.load(std::memory_order_relaxed);
    i.vamana_building = vec_.vamana_building();
    i.vamana_builds = vamana_builds_;
    i.vamana_error = vamana_error_;
    return i;
  }

  /// Runs the search; `fetch(id)` returns the stored document (for include_vectors).
  std::vector<search_hit> search(const search_request& r) const {
    if (r.vector.empty() && r.text.empty())
      throw invalid_argument("search: collection " + cfg_.name +
                             ": give a vector, a text, or both");
    if (!r.vector.empty()) {
      if (r.vector.size() != cfg_.dimension)
        throw dimension_mismatch("search: collection " + cfg_.name, cfg_.dimension,
                                 r.vector.size());
      for (float x : r.vector)
        if (!std::isfinite(x))
          throw invalid_argument("search: query vector has a non-finite value");
    }
    if (!r.text.empty() && !cfg_.hybrid)
      throw invalid_argument("search: collection " + cfg_.name +
                             " has no keyword index (create it with hybrid on)");
    if (r.alpha && !(*r.alpha >= 0 && *r.alpha <= 1))
      throw invalid_argument("search: alpha must be in [0, 1]");
    std::shared_lock lk(mu_);
    const std::size_t k = r.k;
    std::vector<search_hit> out;
    if (k == 0) return out;
    auto bits = cached_filter(r.filter);
    filter_ctx ctx{this, &r.filter, now_ms(), bits.get()};
    if (!r.vector.empty() && r.text.empty()) {
      for (auto& c : vector_part(r, k, ctx))
        out.push_back(make_hit(c.slot, c.sim, c.dist, c.sim, nan()));
    } else if (r.vector.empty()) {
      for (auto& c : keyword_part(r.text, k, ctx))
        out.push_back(make_hit(c.id, c.score, nan(), nan(), c.score));
    } else {
      std::size_t depth = r.candidates != 0 ? r.candidates : std::max<std::size_t>(4 * k, 50);
      auto vc = vector_part(r, depth, ctx);
      auto kc = keyword_part(r.text, depth, ctx);
      std::vector<scored_id> vl, kl;
      tsl::robin_map<std::uint32_t, std::pair<double, double>> parts;  // slot -> (sim, dist)
      for (auto& c : vc) {
        vl.push_back({c.slot, c.sim});
        parts[c.slot] = {c.sim, c.dist};
      }
      tsl::robin_map<std::uint32_t, double> kw;
      for (auto& c : kc) kw[static_cast<std::uint32_t>(c.id)] = c.score;
      std::vector<scored_id> fused;
      if (r.alpha) {
        fused = weighted_fuse(vl, kc, *r.alpha, k);
      } else {
        std::vector<std::vector<scored_id>> lists{std::move(vl), std::move(kc)};
        fused = rrf_fuse(lists, k, r.rrf_k);
      }
      for (auto& f : fused) {
        auto slot = static_cast<std::uint32_t>(f.id);
        double vs = nan(), ds = nan(), ks = nan();
        if (auto it = parts.find(slot); it != parts.end()) {
          vs = it->second.first;
          ds = it->second.second;
        }
        if (auto it = kw.find(slot); it != kw.end()) ks = it->second;
        out.push_back(make_hit(slot, f.score, ds, vs, ks));
      }
    }
    std::erase_if(out, [&](const search_hit& h) { return h.score < r.min_score; });
    if (!r.include_metadata)
      for (auto& h : out) h.metadata = nullptr;
    if (r.include_vectors) {
      for (auto& h : out) {
        const slot& s = slots_[slot_of_.at(h.id)];
        for (auto l : s.labels) h.vectors.push_back(vec_.get(l));
      }
    }
    return out;
  }

  // ---- checkpoints ----

  /// Writes the indexes and the document map (see docs/formats/collection.md).
  void checkpoint() {
    std::lock_guard ck(ckpt_mu_);
    std::shared_lock lk(mu_);
    if (dropped_) return;
    ensure_dir_locked();
    std::uint64_t gen = generation_ + 1;
    std::string vec_path = path_join(dir_, "vectors." + std::to_string(gen));
    std::uint8_t alt = 255;
    if (vec_.size() != 0) {
      vec_.save(fs_, vec_path);
      alt = vec_.alternative();
    }
    std::string m;
    m.append(checkpoint_magic);
    put_fixed32(m, checkpoint_version);
    put_fixed64(m, gen);
    put_fixed64(m, covered_ts_);
    put_fixed64(m, config_hash());
    put_fixed64(m, next_label_);
    m.push_back(static_cast<char>(alt));
    std::uint64_t live = 0;
    for (auto& s : slots_) live += s.live ? 1 : 0;
    put_varint64(m, live);
    for (std::uint32_t i = 0; i < slots_.size(); ++i) {
      const slot& s = slots_[i];
      if (!s.live) continue;
      put_varint64(m, i);
      put_length_prefixed(m, s.id);
      put_fixed64(m, s.hash);
      put_varint64(m, s.labels.size());
      for (auto l : s.labels) put_varint64(m, l);
    }
    put_length_prefixed(m, cfg_.hybrid ? bm25_.serialize() : std::string());
    put_fixed32(m, checksum32(m));
    write_file_atomic(fs_, path_join(dir_, "CHECKPOINT"), m);
    // The manifest now names generation `gen`; older vector files are garbage, and so are
    // Vamana files other than the current tier's and the one being built.
    const std::string cur = "vectors." + std::to_string(gen);
    const std::string vamana = vec_.vamana_file();
    for (const auto& name : fs_.list(dir_)) {
      bool old_vectors = name.starts_with("vectors.") && name != cur && name != cur + ".delta";
      bool old_vamana =
          name.starts_with("vamana.") && name != vamana && name != vamana_building_file_;
      if (old_vectors || old_vamana) fs_.remove(path_join(dir_, name));
    }
    generation_ = gen;
    checkpoint_ts_ = covered_ts_;
    changes_since_checkpoint_ = 0;
  }

  void on_close() noexcept override {
    join_vamana(true);  // a build under way finishes (and checkpoints) first
    try {
      if (!dropped_ && (changes_since_checkpoint_ > 0 || generation_ == 0 || stale_)) checkpoint();
    } catch (...) {
      // A failed checkpoint costs a catch-up on the next open, never data.
    }
  }

  /// Forgets the collection: later writes through old handles fail, files are removed.
  void drop() {
    dropping_.store(true);
    join_vamana(true);
    std::lock_guard ck(ckpt_mu_);
    std::unique_lock lk(mu_);
    dropped_ = true;
    if (fs_.exists(dir_)) {
      for (const auto& name : fs_.list(dir_)) fs_.remove(path_join(dir_, name));
      fs_.remove_directory(dir_);
    }
  }

  /// Bytes of a checkpoint file are untrusted: exposed for the fuzz target.
  struct loaded_manifest {
    std::uint64_t generation = 0, covered_ts = 0, config_hash = 0, next_label = 0;
    std::uint8_t alternative = 255;
    struct entry {
      std::uint32_t slot;
      std::string id;
      std::uint64_t hash;
      std::vector<vector::label_t> labels;
    };
    std::vector<entry> entries;
    std::string bm25;
  };
  static loaded_manifest parse_manifest(std::string_view bytes, const std::string& source) {
    if (bytes.size() < checkpoint_magic.size() + 4 + 4 ||
        bytes.substr(0, checkpoint_magic.size()) != checkpoint_magic)
      throw corruption(source + ": bad magic at offset 0");
    std::uint32_t stored = decode_fixed32(bytes.data() + bytes.size() - 4);
    if (stored != checksum32(bytes.substr(0, bytes.size() - 4)))
      throw corruption(source + ": checksum mismatch at offset " +
                       std::to_string(bytes.size() - 4));
    byte_reader r(bytes.substr(0, bytes.size() - 4), source);
    r.skip(checkpoint_magic.size());
    std::uint32_t version = r.fixed32();
    if (version != checkpoint_version)
      throw unsupported(source + ": checkpoint version " + std::to_string(version));
    loaded_manifest m;
    m.generation = r.fixed64();
    m.covered_ts = r.fixed64();
    m.config_hash = r.fixed64();
    m.next_label = r.fixed64();
    m.alternative = r.u8();
    std::uint64_t n = r.varint64();
    if (n > r.remaining() / 11)
      throw corruption(source + ": " + std::to_string(n) + " entries do not fit");
    m.entries.reserve(static_cast<std::size_t>(n));
    std::uint64_t last_slot = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
      typename loaded_manifest::entry e;
      std::uint64_t s = r.varint64();
      if (s >= no_slot || (i > 0 && s <= last_slot))
        throw corruption(source + ": slot numbers out of order at offset " +
                         std::to_string(r.position()));
      last_slot = s;
      e.slot = static_cast<std::uint32_t>(s);
      e.id = std::string(r.length_prefixed());
      if (e.id.empty() || e.id.size() > max_document_id_size)
        throw corruption(source + ": bad document id at offset " + std::to_string(r.position()));
      e.hash = r.fixed64();
      std::uint64_t nl = r.varint64();
      if (nl > r.remaining()) throw corruption(source + ": label count too large");
      for (std::uint64_t j = 0; j < nl; ++j) {
        std::uint64_t l = r.varint64();
        if (l >= m.next_label) throw corruption(source + ": label beyond next_label");
        e.labels.push_back(l);
      }
      m.entries.push_back(std::move(e));
    }
    if (m.next_label > (std::uint64_t{1} << 40))
      throw corruption(source + ": next_label too large");
    m.bm25 = std::string(r.length_prefixed());
    if (r.remaining() != 0) throw corruption(source + ": trailing bytes");
    return m;
  }

 private:
  struct slot {
    std::string id;
    std::vector<vector::label_t> labels;
    nlohmann::json metadata;
    std::uint64_t hash = 0;
    std::uint64_t applied_ts = 0;
    std::uint64_t expires_at = 0;
    std::uint64_t bytes = 0;
    bool live = false;
    bool seen = false;  // catch-up bookkeeping
  };
  struct filter_ctx {
    const collection_state* st;
    const metadata_filter* f;
    std::uint64_t now;
    const std::vector<std::uint8_t>* bits = nullptr;  // cached filter result per slot
    bool passes_slot(std::uint32_t s) const {
      if (bits != nullptr) {
        if (!(*bits)[s]) return false;  // 0 also for dead slots
        return st->expiring_ == 0 || !expired(st->slots_[s]);
      }
      const slot& x = st->slots_[s];
      if (!x.live) return false;
      if (expired(x)) return false;
      return f->empty() || f->matches(x.metadata);
    }
    bool expired(const slot& x) const { return x.expires_at != 0 && x.expires_at <= now; }
  };

  // Filter results cache: a filter used again while the collection is unchanged is evaluated
  // once per document into a byte map, so the index's filtered search (whose exact-scan path
  // tests every vector) costs one array read per candidate instead of a JSON evaluation.
  // Built on the second use of a filter (a one-off filter on the graph path only evaluates
  // the nodes it visits). Entries are dropped when a commit changes the collection.
  struct filter_cache_entry {
    std::string key;
    std::uint64_t version = 0;
    std::size_t uses = 0;
    std::shared_ptr<const std::vector<std::uint8_t>> bits;
  };
  std::shared_ptr<const std::vector<std::uint8_t>> cached_filter(const metadata_filter& f) const {
    if (f.empty() || slots_.size() < 2048) return nullptr;
    std::lock_guard lk(fcache_mu_);
    filter_cache_entry* hit = nullptr;
    for (auto& e : fcache_)
      if (e.version == version_ && e.key == f.source()) hit = &e;
    if (hit == nullptr) {
      auto* victim = &fcache_[0];
      for (auto& e : fcache_)
        if (e.version != version_ || e.uses < victim->uses) victim = &e;
      *victim = filter_cache_entry{f.source(), version_, 1, nullptr};
      return nullptr;
    }
    if (!hit->bits && ++hit->uses >= 2) {
      auto bits = std::make_shared<std::vector<std::uint8_t>>(slots_.size(), 0);
      for (std::size_t s = 0; s < slots_.size(); ++s)
        (*bits)[s] = slots_[s].live && f.matches(slots_[s].metadata) ? 1 : 0;
      hit->bits = std::move(bits);
    }
    return hit->bits;
  }
  struct vec_candidate {
    std::uint32_t slot;
    double sim, dist;
  };

  static constexpr std::string_view checkpoint_magic = "SOCHCOLL";  // format
  static constexpr std::uint32_t checkpoint_version = 1;            // format

  std::size_t expired_locked(std::uint64_t* bytes) const {
    if (expiring_ == 0) return 0;
    std::uint64_t now = now_ms();
    std::size_t n = 0;
    for (const auto& x : slots_) {
      if (x.live && x.expires_at != 0 && x.expires_at <= now) {
        ++n;
        if (bytes) *bytes += x.bytes;
      }
    }
    return n;
  }

  static double nan() { return std::numeric_limits<double>::quiet_NaN(); }

  bm25_options bm25_opts() const {
    bm25_options o{.k1 = cfg_.bm25_k1, .b = cfg_.bm25_b, .idf = cfg_.bm25_idf};
    if (cfg_.stopwords)
      o.tokenizer.stopwords =
          std::shared_ptr<const stopword_set>(&english_stopwords(), [](const stopword_set*) {});
    return o;
  }
  std::uint64_t config_hash() const {
    auto j = cfg_.to_json();
    j.erase("checkpoint_every");
    j.erase("vamana_above");  // a tiering threshold: any saved tier stays valid under another
    return hash64(j.dump());
  }

  search_hit make_hit(std::uint32_t s, double score, double dist, double vs, double ks) const {
    search_hit h;
    h.id = slots_[s].id;
    h.score = score;
    h.distance = dist;
    h.metric = cfg_.metric;
    h.vector_score = vs;
    h.keyword_score = ks;
    h.metadata = slots_[s].metadata;
    return h;
  }

  // similarity and distance from an index neighbor score (see the header comment)
  std::pair<double, double> convert(float score) const {
    switch (cfg_.metric) {
      case simd::metric_kind::l2:
        return {1.0 / (1.0 + score), score};
      case simd::metric_kind::inner_product:
        return {score, 1.0 - score};
      default:
        return {1.0 - score, score};
    }
  }
  // Exact similarity of the query with a stored vector (multi-vector mean / first).
  double similarity(std::span<const float> q, const std::vector<float>& v) const {
    double dot = 0, qq = 0, vv = 0, l2 = 0;
    for (std::size_t j = 0; j < v.size(); ++j) {
      dot += double(q[j]) * v[j];
      qq += double(q[j]) * q[j];
      vv += double(v[j]) * v[j];
      double d = double(q[j]) - v[j];
      l2 += d * d;
    }
    switch (cfg_.metric) {
      case simd::metric_kind::l2:
        return 1.0 / (1.0 + std::sqrt(l2));
      case simd::metric_kind::inner_product:
        return dot;
      default:
        return (qq > 0 && vv > 0) ? dot / std::sqrt(qq * vv) : 0.0;
    }
  }
  double distance_of(double sim) const {
    switch (cfg_.metric) {
      case simd::metric_kind::l2:
        return sim > 0 ? 1.0 / sim - 1.0 : std::numeric_limits<double>::infinity();
      default:
        return 1.0 - sim;
    }
  }

  std::vector<vec_candidate> vector_part(const search_request& r, std::size_t k,
                                         const filter_ctx& ctx) const {
    std::vector<vec_candidate> out;
    if (vec_.size() == 0) return out;
    bool need_pred = !r.filter.empty() || expiring_ != 0;
    vector::label_predicate pred;
    if (need_pred) {
      pred.ctx = &ctx;
      pred.fn = [](const void* c, vector::label_t l) {
        auto* x = static_cast<const filter_ctx*>(c);
        if (l >= x->st->label_slot_.size()) return false;
        std::uint32_t s = x->st->label_slot_[l];
        return s != no_slot && x->passes_slot(s);
      };
    }
    std::size_t per_doc = std::max<std::size_t>(1, max_vecs_);
    std::size_t fetch = k * per_doc;
    vector::search_params p{.ef = r.ef_search};
    auto hits = vec_.search(r.vector, fetch, p, pred);
    if (per_doc == 1) {
      for (auto& h : hits) {
        std::uint32_t s = label_slot_[h.label];
        if (s == no_slot) continue;
        auto [sim, dist] = convert(h.score);
        out.push_back({s, sim, dist});
        if (out.size() == k) break;
      }
      return out;
    }
    // Multi-vector: group by document; the best vector ranks first, so the first k documents
    // seen are the top k by max; mean / first are computed exactly for those candidates.
    tsl::robin_map<std::uint32_t, std::size_t> at;
    for (auto& h : hits) {
      std::uint32_t s = label_slot_[h.label];
      if (s == no_slot || at.count(s)) continue;
      auto [sim, dist] = convert(h.score);
      at[s] = out.size();
      out.push_back({s, sim, dist});
    }
    if (r.aggregate != multi_vector_aggregate::max) {
      for (auto& c : out) {
        const slot& x = slots_[c.slot];
        if (r.aggregate == multi_vector_aggregate::first) {
          c.sim = similarity(r.vector, vec_.get(x.labels.front()));
        } else {
          double sum = 0;
          for (auto l : x.labels) sum += similarity(r.vector, vec_.get(l));
          c.sim = sum / static_cast<double>(x.labels.size());
        }
        c.dist = distance_of(c.sim);
      }
      std::sort(out.begin(), out.end(), [](auto& a, auto& b) {
        return a.sim > b.sim || (a.sim == b.sim && a.slot < b.slot);
      });
    }
    if (out.size() > k) out.resize(k);
    return out;
  }

  std::vector<scored_id> keyword_part(const std::string& text, std::size_t k,
                                      const filter_ctx& ctx) const {
    return bm25_.search(text, k, [&](std::uint64_t s) {
      return s < slots_.size() && ctx.passes_slot(static_cast<std::uint32_t>(s));
    });
  }

  // ---- writes (unique lock held) ----

  std::uint32_t slot_for(const std::string& id) {
    auto it = slot_of_.find(id);
    if (it != slot_of_.end()) return it->second;
    auto s = static_cast<std::uint32_t>(slots_.size());
    if (s == no_slot) throw invalid_argument("collection " + cfg_.name + ": too many documents");
    slots_.push_back(slot{.id = id});
    slot_of_.emplace(id, s);
    return s;
  }

  void unindex(std::uint32_t s) {
    slot& x = slots_[s];
    for (auto l : x.labels) {
      vec_.remove(l);
      label_slot_[l] = no_slot;
    }
    x.labels.clear();
    if (cfg_.hybrid) bm25_.remove(s);
    if (x.live) {
      --live_;
      bytes_ -= x.bytes;
      if (x.expires_at != 0) --expiring_;
    }
    x.live = false;
    x.metadata = nullptr;
    x.expires_at = 0;
    x.bytes = 0;
  }

  struct pending_vectors {
    std::vector<float> data;
    std::vector<vector::label_t> labels;
    vector::label_t first = std::numeric_limits<vector::label_t>::max();
  };
  void flush(pending_vectors& p) {
    if (p.labels.empty()) return;
    vec_.add(p.data.data(), p.labels.data(), p.labels.size());
    p.data.clear();
    p.labels.clear();
    p.first = std::numeric_limits<vector::label_t>::max();
  }

  void index_doc(std::uint32_t s, document d, std::uint64_t hash, std::size_t value_bytes,
                 pending_vectors& p) {
    slot& x = slots_[s];
    for (auto& v : d.vectors) {
      vector::label_t l = next_label_++;
      label_slot_.push_back(s);
      x.labels.push_back(l);
      if (p.labels.empty()) p.first = l;
      p.data.insert(p.data.end(), v.begin(), v.end());
      p.labels.push_back(l);
    }
    max_vecs_ = std::max(max_vecs_, d.vectors.size());
    if (cfg_.hybrid) {
      std::string_view text = d.text;
      if (text.empty() && !cfg_.content_field.empty()) {
        auto it = d.metadata.find(cfg_.content_field);
        if (it != d.metadata.end() && it->is_string())
          text = it->template get_ref<const std::string&>();
      }
      if (!text.empty()) bm25_.add(s, text);
    }
    x.metadata = std::move(d.metadata);
    x.expires_at = d.expires_at_ms;
    x.hash = hash;
    x.bytes = value_bytes;
    x.live = true;
    ++live_;
    bytes_ += value_bytes;
    if (x.expires_at != 0) ++expiring_;
  }

  void apply_locked(const std::vector<doc_change>& changes, std::uint64_t ts) {
    ++version_;  // invalidates cached filter results
    pending_vectors p;
    for (const auto& c : changes) {
      std::uint32_t s = slot_for(c.id);
      slot& x = slots_[s];
      if (ts < x.applied_ts) continue;  // a newer commit of this document was applied first
      x.applied_ts = ts;
      // Its vectors may still be waiting in this batch: add them before removing them.
      for (auto l : x.labels)
        if (l >= p.first) {
          flush(p);
          break;
        }
      unindex(s);
      if (!c.value) continue;
      std::string key = doc_key(c.id);
      document d = decode_document(*c.value, c.id, printable_key(key));
      index_doc(s, std::move(d), hash64(*c.value), c.value->size(), p);
    }
    flush(p);
    // Updates and deletes leave HNSW tombstones: compact once they are a fifth of the graph.
    if (vec_.compact_if_needed(0.2, 1)) ++compactions_;
  }

  template <class Db>
  void catch_up_locked(Db& db) {
    ++version_;
    for (auto& x : slots_) x.seen = false;
    std::vector<doc_change> changes;
    pending_vectors p;
    const std::string dp = doc_prefix();
    auto flush_changes = [&] {
      apply_locked(changes, 0);
      open_stats_.reindexed += changes.size();
      changes.clear();
    };
    for (auto [k, v] : db.scan_prefix(dp)) {
      std::string id(k.substr(dp.size()));
      std::uint64_t h = hash64(v);
      auto it = slot_of_.find(id);
      if (it != slot_of_.end() && slots_[it->second].live && slots_[it->second].hash == h) {
        slot& x = slots_[it->second];
        x.seen = true;
        if (x.metadata.is_null()) {  // loaded from a checkpoint: only the metadata is missing
          document d = decode_document(v, id, printable_key(k));
          x.metadata = std::move(d.metadata);
          x.expires_at = d.expires_at_ms;
          x.bytes = v.size();
          bytes_ += v.size();
          if (x.expires_at != 0) ++expiring_;
          max_vecs_ = std::max(max_vecs_, d.vectors.size());
        }
        ++open_stats_.verified;
        continue;
      }
      changes.push_back({std::move(id), std::string(v)});
      if (changes.size() >= 4096) {
        for (auto& c : changes) slots_[slot_for(c.id)].seen = true;
        flush_changes();
      }
    }
    for (auto& c : changes) slots_[slot_for(c.id)].seen = true;
    flush_changes();
    for (std::uint32_t s = 0; s < slots_.size(); ++s) {
      if (slots_[s].live && !slots_[s].seen) {
        unindex(s);
        ++open_stats_.removed;
      }
    }
  }

  // ---- the Vamana tier's background build ----

  // A folder directly in the database directory: durable once that directory is synced (never
  // a durable entry below a lost folder). Caller holds ckpt_mu_.
  void ensure_dir_locked() {
    if (!fs_.exists(dir_)) {
      fs_.create_directories(dir_);
      fs_.sync_dir(parent_path(dir_));
    }
  }

  // Starts the build thread when the index asks for a Vamana build (and none runs, none
  // failed, and the collection is not closing). Never throws.
  void maybe_start_vamana() noexcept {
    try {
      {
        std::shared_lock lk(mu_);
        if (dropped_ || !vamana_error_.empty() || !vec_.vamana_due()) return;
      }
      std::lock_guard t(vamana_mu_);
      if (vamana_running_ || closing_ || dropping_) return;
      if (vamana_thread_.joinable()) vamana_thread_.join();  // the last build has finished
      vamana_running_ = true;
      vamana_thread_ = std::thread([this] { run_vamana_build(); });
    } catch (...) {
      // No thread: the index stays on its current tier; the next commit tries again.
      std::lock_guard t(vamana_mu_);
      vamana_running_ = false;
    }
  }

  // Joins the build thread; `closing`: and starts no other.
  void join_vamana(bool closing = false) noexcept {
    std::thread t;
    {
      std::lock_guard lk(vamana_mu_);
      if (closing) closing_ = true;
      t = std::move(vamana_thread_);
    }
    if (t.joinable()) t.join();
  }

  // The build (see collection_index): copy out under the exclusive lock, build the file with
  // no lock (searches and commits go on against the HNSW tier), switch under the exclusive
  // lock, then checkpoint so the next open maps the file instead of building again.
  void run_vamana_build() noexcept {
    std::string file;
    try {
      vector::collection_index::vamana_input in;
      vector::collection_index_options opts;
      {
        std::unique_lock lk(mu_);
        if (!dropped_ && !dropping_ && vec_.vamana_due()) {
          in = vec_.begin_vamana();
          opts = vec_.options();
          file = "vamana." + std::to_string(generation_.load()) + "." +
                 std::to_string(++vamana_attempts_) + "." + std::to_string(covered_ts_) + ".idx";
          vamana_building_file_ = file;
        }
      }
      if (!file.empty()) {
        {
          std::lock_guard ck(ckpt_mu_);
          ensure_dir_locked();
        }
        vector::collection_index::build_vamana_file(fs_, path_join(dir_, file), opts, in);
        in = {};
        bool switched = false;
        {
          std::unique_lock lk(mu_);
          vamana_building_file_.clear();
          if (dropped_ || dropping_) {
            vec_.abandon_vamana();
          } else {
            vec_.finish_vamana(fs_, dir_, file);
            ++vamana_builds_;
            switched = true;
          }
        }
        if (switched) {
          checkpoint();
        } else {
          fs_.remove(path_join(dir_, file));
        }
      }
    } catch (const std::exception& e) {
      std::unique_lock lk(mu_);
      vec_.abandon_vamana();
      vamana_building_file_.clear();
      vamana_error_ = e.what();  // reported by info(); not retried until the next open
      try {
        if (!file.empty() && vec_.vamana_file() != file) fs_.remove(path_join(dir_, file));
      } catch (...) {
      }
    }
    std::lock_guard t(vamana_mu_);
    vamana_running_ = false;
  }

  void load_checkpoint() {
    std::string path = path_join(dir_, "CHECKPOINT");
    if (!fs_.exists(path)) return;
    try {
      auto m = parse_manifest(read_file(fs_, path), path);
      if (m.config_hash != config_hash())
        throw corruption(path + ": written for another configuration");
      std::optional<vector::collection_index> vec;
      if (m.alternative != 255) {
        vec.emplace(vector::collection_index::load(
            fs_, path_join(dir_, "vectors." + std::to_string(m.generation)), cfg_.index_options(),
            m.alternative));
      }
      std::optional<bm25_index> bm;
      if (cfg_.hybrid) {
        bm.emplace(m.bm25.empty() ? bm25_index(bm25_opts())
                                  : bm25_index::deserialize(m.bm25, bm25_opts().tokenizer));
      }
      std::vector<slot> slots;
      tsl::robin_map<std::string, std::uint32_t> slot_of;
      std::vector<std::uint32_t> label_slot(static_cast<std::size_t>(m.next_label), no_slot);
      std::size_t labels = 0;
      for (auto& e : m.entries) {
        if (slots.size() <= e.slot) slots.resize(e.slot + 1);
        if (!slot_of.emplace(e.id, e.slot).second)
          throw corruption(path + ": duplicate document id");
        slot& x = slots[e.slot];
        x.id = std::move(e.id);
        x.hash = e.hash;
        x.live = true;
        for (auto l : e.labels) {
          if (label_slot[l] != no_slot) throw corruption(path + ": label used twice");
          if (!vec || !vec->contains(l))
            throw corruption(path + ": label missing from the vector index");
          label_slot[l] = e.slot;
          ++labels;
        }
        x.labels = std::move(e.labels);
      }
      if (vec && vec->size() != labels)
        throw corruption(path + ": vector index holds other labels");
      // Valid: adopt it.
      slots_ = std::move(slots);
      slot_of_ = std::move(slot_of);
      label_slot_ = std::move(label_slot);
      next_label_ = m.next_label;
      if (vec) vec_ = std::move(*vec);
      if (bm) bm25_ = std::move(*bm);
      live_ = m.entries.size();
      generation_ = m.generation;
      covered_ts_ = checkpoint_ts_ = m.covered_ts;
      open_stats_.checkpoint_loaded = true;
      open_stats_.checkpoint_ts = m.covered_ts;
    } catch (const error& e) {
      open_stats_.checkpoint_error = e.what();  // rebuilt from the KV store below
    }
  }

  collection_config cfg_;
  std::string prefix_;
  std::string dir_;
  Fs fs_;

  mutable std::shared_mutex mu_;
  std::mutex ckpt_mu_;
  vector::collection_index vec_;
  bm25_index bm25_;
  std::vector<slot> slots_;
  tsl::robin_map<std::string, std::uint32_t> slot_of_;
  std::vector<std::uint32_t> label_slot_;  // label -> slot (labels are never reused)
  vector::label_t next_label_ = 0;
  std::size_t live_ = 0;
  std::size_t max_vecs_ = 0;
  std::size_t expiring_ = 0;
  std::uint64_t bytes_ = 0;
  std::uint64_t covered_ts_ = 0;
  // Written by checkpoint() under ckpt_mu_ and only a shared lock of mu_ (it serializes the
  // index while searches go on), so readers under a shared lock (info) may meet the write:
  // atomics. apply() and the open change them under the unique lock.
  std::atomic<std::uint64_t> checkpoint_ts_{0};
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<std::size_t> changes_since_checkpoint_{0};
  std::uint64_t version_ = 1;      // bumped by every apply (unique lock)
  std::uint64_t compactions_ = 0;  // HNSW compactions since open (unique lock)
  mutable std::mutex fcache_mu_;
  mutable std::array<filter_cache_entry, 4> fcache_{};
  std::atomic<bool> stale_{false};
  std::atomic<bool> dropped_{false};
  collection_open_stats open_stats_;
  // The Vamana build: the thread and its flags under vamana_mu_; the file being built and the
  // counters under mu_.
  std::mutex vamana_mu_;
  std::thread vamana_thread_;
  bool vamana_running_ = false;
  bool closing_ = false;
  std::atomic<bool> dropping_{false};
  std::string vamana_building_file_;
  std::string vamana_error_;
  std::uint64_t vamana_builds_ = 0;
  std::uint64_t vamana_attempts_ = 0;
};

}  // namespace detail

/// A handle to a collection (see the header comment). Obtained from a namespace.
template <class Db>
class basic_collection {
 public:
  using database_type = Db;
  using transaction_type = typename Db::transaction_type;
  using state_type = detail::collection_state<typename Db::fs_type>;

  basic_collection(Db& db, std::shared_ptr<state_type> st) : db_(&db), st_(std::move(st)) {}

  [[nodiscard]] const std::string& name() const noexcept { return st_->config().name; }
  [[nodiscard]] const collection_config& config() const noexcept { return st_->config(); }
  [[nodiscard]] collection_info info() const { return st_->info(); }
  [[nodiscard]] const collection_open_stats& open_stats() const noexcept {
    return st_->open_stats();
  }
  /// Live documents.
  [[nodiscard]] std::size_t count() const { return st_->count(); }

  // ---- writes in the caller's transaction (indexed when it commits) ----

  /// Adds a new document; `already_exists` if its id is present.
  void insert(transaction_type& txn, const document& d) {
    check_live(txn);
    check(d);
    std::string key = st_->doc_key(d.id);
    if (txn.get(key))
      throw already_exists("collection " + name() + ": document " + printable_key(d.id) +
                           " exists");
    put(txn, key, d);
  }
  /// Adds or replaces a document.
  void upsert(transaction_type& txn, const document& d) {
    check_live(txn);
    check(d);
    put(txn, st_->doc_key(d.id), d);
  }
  /// Adds many documents (all new); one callback applies them in one batch.
  void insert_batch(transaction_type& txn, std::span<const document> docs) {
    write_batch_of(txn, docs, true);
  }
  /// Adds or replaces many documents (no existence reads); applied in one batch.
  void upsert_batch(transaction_type& txn, std::span<const document> docs) {
    write_batch_of(txn, docs, false);
  }

 private:
  void write_batch_of(transaction_type& txn, std::span<const document> docs, bool must_be_new) {
    check_live(txn);
    auto changes = std::make_shared<std::vector<detail::doc_change>>();
    changes->reserve(docs.size());
    for (const auto& d : docs) {
      check(d);
      std::string key = st_->doc_key(d.id);
      if (must_be_new && txn.get(key))
        throw already_exists("collection " + name() + ": document " + printable_key(d.id) +
                             " exists");
      std::string v = encode_document(d, config().dimension);
      put_raw(txn, key, v, d.expires_at_ms);
      changes->push_back({d.id, std::move(v)});
    }
    txn.on_commit([st = st_, changes](std::uint64_t ts) { st->apply(*changes, ts); });
  }

 public:
  /// Replaces parts of a document: metadata, vectors, text (unset parts are kept).
  void update(transaction_type& txn, std::string_view id, std::optional<nlohmann::json> metadata,
              std::optional<std::vector<std::vector<float>>> vectors = std::nullopt,
              std::optional<std::string> text = std::nullopt) {
    check_live(txn);
    auto d = get(txn, id);
    if (!d) throw not_found("collection " + name() + ": no document " + printable_key(id));
    if (metadata) d->metadata = std::move(*metadata);
    if (vectors) d->vectors = std::move(*vectors);
    if (text) d->text = std::move(*text);
    check(*d);
    put(txn, st_->doc_key(id), *d);
  }
  /// Deletes a document; false when absent.
  bool remove(transaction_type& txn, std::string_view id) {
    check_live(txn);
    validate_document_id(id);
    std::string key = st_->doc_key(id);
    if (!txn.get(key)) return false;
    txn.del(key);
    txn.on_commit([st = st_, id = std::string(id)](std::uint64_t ts) {
      st->apply({detail::doc_change{id, std::nullopt}}, ts);
    });
    return true;
  }
  /// The stored document (the KV store's version as the transaction sees it).
  std::optional<document> get(transaction_type& txn, std::string_view id) {
    validate_document_id(id);
    std::string key = st_->doc_key(id);
    auto v = txn.get(key);
    if (!v) return std::nullopt;
    return decode_document(*v, id, printable_key(key));
  }

  // ---- the same, each in a transaction of its own (retried on conflicts) ----

  void insert(const document& d) {
    db_->transaction([&](transaction_type& t) { insert(t, d); });
  }
  /// insert({.id, .vectors = {vector}, .metadata, .text}).
  void insert(std::string_view id, std::vector<float> vector,
              nlohmann::json metadata = nlohmann::json::object(), std::string text = {}) {
    insert(document{.id = std::string(id),
                    .vectors = {std::move(vector)},
                    .metadata = std::move(metadata),
                    .text = std::move(text)});
  }
  /// A document with several vectors (chunks); searches aggregate them (search_request::aggregate).
  void insert_multi(std::string_view id, std::vector<std::vector<float>> vectors,
                    nlohmann::json metadata = nlohmann::json::object(), std::string text = {}) {
    insert(document{.id = std::string(id),
                    .vectors = std::move(vectors),
                    .metadata = std::move(metadata),
                    .text = std::move(text)});
  }
  void upsert(const document& d) {
    db_->transaction([&](transaction_type& t) { upsert(t, d); });
  }
  void insert_batch(std::span<const document> docs) {
    db_->transaction([&](transaction_type& t) { insert_batch(t, docs); });
  }
  void upsert_batch(std::span<const document> docs) {
    db_->transaction([&](transaction_type& t) { upsert_batch(t, docs); });
  }
  void update(std::string_view id, std::optional<nlohmann::json> metadata,
              std::optional<std::vector<std::vector<float>>> vectors = std::nullopt,
              std::optional<std::string> text = std::nullopt) {
    db_->transaction([&](transaction_type& t) { update(t, id, metadata, vectors, text); });
  }
  bool remove(std::string_view id) {
    return db_->transaction([&](transaction_type& t) { return remove(t, id); });
  }
  [[nodiscard]] std::optional<document> get(std::string_view id) const {
    validate_document_id(id);
    std::string key = st_->doc_key(id);
    auto v = db_->get(key);
    if (!v) return std::nullopt;
    return decode_document(*v, id, printable_key(key));
  }

  // ---- search ----

  [[nodiscard]] std::vector<search_hit> search(const search_request& r) const {
    if (!db_->is_open()) throw closed("collection " + name() + ": the database is closed");
    st_->ensure_fresh(*db_);
    return st_->search(r);
  }
  [[nodiscard]] std::vector<search_hit> vector_search(std::vector<float> v, std::size_t k = 10,
                                                      metadata_filter filter = {}) const {
    return search({.vector = std::move(v), .k = k, .filter = std::move(filter)});
  }
  [[nodiscard]] std::vector<search_hit> keyword_search(std::string query, std::size_t k = 10,
                                                       metadata_filter filter = {}) const {
    return search({.text = std::move(query), .k = k, .filter = std::move(filter)});
  }
  /// RRF fusion when alpha is unset; else alpha * vector + (1 - alpha) * keyword.
  [[nodiscard]] std::vector<search_hit> hybrid_search(std::vector<float> v, std::string query,
                                                      std::size_t k = 10,
                                                      std::optional<double> alpha = std::nullopt,
                                                      metadata_filter filter = {}) const {
    return search({.vector = std::move(v),
                   .text = std::move(query),
                   .k = k,
                   .filter = std::move(filter),
                   .alpha = alpha});
  }

  /// Writes the index checkpoint now (it is also written on close and every checkpoint_every
  /// changes).
  void checkpoint() { st_->checkpoint(); }

  /// Waits for a background Vamana build, if one runs (searches never need to: they use the
  /// current tier until the build switches).
  void wait_for_index() { st_->wait_for_index(); }

  /// The shared state (tests, tools).
  [[nodiscard]] const std::shared_ptr<state_type>& state() const noexcept { return st_; }

 private:
  void check_live(transaction_type& txn) const {
    if (st_->dropped() || !txn.get(st_->config_key()))
      throw not_found("collection " + name() + " was deleted");
  }
  void check(const document& d) const {
    validate_document_id(d.id);
    const std::size_t dim = config().dimension;
    for (const auto& v : d.vectors) {
      if (v.size() != dim)
        throw dimension_mismatch("collection " + name() + ": document " + printable_key(d.id), dim,
                                 v.size());
      for (std::size_t j = 0; j < v.size(); ++j)
        if (!std::isfinite(v[j]))
          throw invalid_argument("collection " + name() + ": document " + printable_key(d.id) +
                                 " has a non-finite value at position " + std::to_string(j));
    }
    if (!d.metadata.is_object())
      throw invalid_argument("collection " + name() + ": metadata of document " +
                             printable_key(d.id) + " must be a JSON object");
  }
  static void put_raw(transaction_type& txn, const std::string& key, const std::string& v,
                      std::uint64_t expires_at_ms) {
    if (expires_at_ms == 0) {
      txn.put(key, v);
    } else {
      std::uint64_t now = detail::now_ms();
      auto left = expires_at_ms > now ? expires_at_ms - now : 1;
      txn.put(key, v, std::chrono::milliseconds(left));
    }
  }
  void put(transaction_type& txn, const std::string& key, const document& d) {
    std::string v = encode_document(d, config().dimension);
    put_raw(txn, key, v, d.expires_at_ms);
    txn.on_commit([st = st_, id = d.id, v = std::move(v)](std::uint64_t ts) mutable {
      st->apply({detail::doc_change{std::move(id), std::move(v)}}, ts);
    });
  }

  Db* db_;
  std::shared_ptr<state_type> st_;
};

SOCHDB_END_NAMESPACE
