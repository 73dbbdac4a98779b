// sochdb/vector/index_router.hpp — the scale-aware index behind a collection: one small API
// (add / remove / search / size / save / load) over whichever index suits the current size,
// migrating between them in the background while searches keep answering.
//
// Tiers: a `flat_index` (exact) while the collection holds at most `hnsw_above` vectors; an
// `hnsw_index` above that; and, when `vamana_above` is set, a `vamana_index` (PQ codes in RAM,
// graph and vectors in a mapped file under the router's directory) plus a small in-memory HNSW
// "delta" for vectors added after the Vamana file was built, with removals as Vamana
// tombstones. When the delta outgrows `delta_rebuild_fraction` of the collection, the Vamana
// file is rebuilt from everything, again in the background.
//
// Migration: crossing a threshold starts a worker (or runs inline with `background = false`).
// flat -> HNSW copies the vectors in batches of `migrate_batch` into the new index; between
// batches, writes go on, and every write also reaches the new index (dual writes), so when the
// last batch is done the new index holds exactly the live vectors and replaces the old one.
// -> Vamana snapshots the labels, copies the vectors out in batches and builds the file with no
// lock held; writes during the build are logged (labels added, labels removed) and replayed
// into the new tier (delta adds, tombstones) at the switch. Searches never wait for a batch or
// for the build: they run on the current tier, which stays complete until the switch.
//
// Thread-safety: every public member may be called from any number of threads. Writes
// (`add`, `remove`) run concurrently with each other and with searches; each migration batch
// and the final switch take the write gate exclusively (writes wait for one batch, searches
// never). A search holds a reference to the tier it started on, so a switch never pulls an
// index out from under it. A failure in a background migration is kept: the router stays on
// its current tier (still correct) and `wait_for_migration` rethrows it.
//
// Persistence: `save(fs, dir)` writes the current tier's index files and a small manifest
// (docs/formats/vector-index.md, "Router manifest"); `load` reopens them (the Vamana tier
// mapped). A migration in progress is not saved: the loaded router starts it again.
#pragma once

#include <sochdb/core/checksum.hpp>
#include <sochdb/core/coding.hpp>
#include <sochdb/core/error.hpp>
#include <sochdb/core/fs.hpp>
#include <sochdb/vector/flat_index.hpp>
#include <sochdb/vector/hnsw_index.hpp>
#include <sochdb/vector/search.hpp>
#include <sochdb/vector/vamana_index.hpp>

#include <algorithm>
#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

SOCHDB_BEGIN_NAMESPACE
namespace vector {

/// Options of `index_router`.
struct router_options {
  std::size_t dimension = 0;            ///< required: floats per vector
  std::size_t hnsw_above = 10000;       ///< flat up to this many vectors, HNSW above
  std::size_t vamana_above = 0;         ///< Vamana + PQ above this many (0: never; needs a dir)
  double delta_rebuild_fraction = 0.2;  ///< Vamana tier: rebuild when the delta exceeds this
                                        ///< fraction of the collection (0: never)
  std::size_t migrate_batch = 2048;     ///< vectors copied per batch while migrating
  std::size_t migrate_threads = 1;      ///< threads inserting a batch / building Vamana
  bool background = true;               ///< migrate on a worker thread (false: inline)
  hnsw_options hnsw{};                  ///< the HNSW tier and the Vamana tier's delta
  vamana_options vamana{};              ///< the Vamana tier (dimension is the router's)
};

template <simd::distance_metric Metric = simd::l2<>, file_system Fs = posix_fs>
class index_router {
 public:
  /// `fs` and `dir` are needed only for the Vamana tier (its files live in `dir`).
  explicit index_router(const router_options& o, Fs* fs = nullptr, std::string dir = {})
      : o_(o), fs_(fs), dir_(std::move(dir)) {
    detail::check_dimension(o_.dimension, 65536, "index_router");
    o_.hnsw.dimension = o_.dimension;
    o_.vamana.dimension = o_.dimension;
    if (o_.migrate_batch == 0) o_.migrate_batch = 1;
    if (o_.vamana_above != 0 && (fs_ == nullptr || dir_.empty()))
      throw invalid_argument("index_router: vamana_above needs a file system and a directory");
    if (o_.vamana_above != 0 && o_.vamana_above <= o_.hnsw_above)
      throw invalid_argument("index_router: vamana_above must exceed hnsw_above");
    if (fs_ != nullptr && !dir_.empty()) fs_->create_directories(dir_);
    cur_ = make_tier(index_kind::flat);
  }
  ~index_router() { join(); }
  index_router(const index_router&) = delete;
  index_router& operator=(const index_router&) = delete;

  std::size_t dimension() const noexcept { return o_.dimension; }
  /// Live vectors.
  std::size_t size() const { return current()->size(); }
  /// The tier answering searches now.
  index_kind tier() const { return current()->kind; }
  bool migrating() const noexcept { return busy_.load(std::memory_order_acquire); }

  /// Inserts `label`; `already_exists` when present. May start a migration.
  void add(label_t label, std::span<const float> v) {
    detail::check_query_dimension(v.size(), o_.dimension, "index_router::add");
    detail::check_finite(v, "index_router::add");
    {
      std::shared_lock g(gate_);
      auto t = current();
      t->add(label, v);
      if (target_) target_->add(label, v);
      if (logging_) {
        std::lock_guard lk(log_mu_);
        added_.insert(label);
      }
    }
    maybe_migrate();
  }
  /// Deletes `label`; false when absent.
  bool remove(label_t label) {
    std::shared_lock g(gate_);
    const bool r = current()->remove(label);
    if (target_) target_->remove(label);
    if (r && logging_) {
      std::lock_guard lk(log_mu_);
      removed_.insert(label);
    }
    return r;
  }
  bool contains(label_t label) const { return current()->contains(label); }
  /// The stored vector (unit length for cosine); `not_found` when absent.
  std::vector<float> get(label_t label) const { return current()->get(label); }

  /// The k nearest live vectors passing `filter`, closest first. `params.ef` is the HNSW ef or
  /// the Vamana search list (flat ignores it).
  template <label_filter Filter = accept_all>
  std::vector<neighbor> search(std::span<const float> query, std::size_t k,
                               const search_params& params = {}, const Filter& filter = {}) const {
    detail::check_query_dimension(query.size(), o_.dimension, "index_router::search");
    detail::check_finite(query, "index_router::search");
    return current()->search(query, k, params, filter);
  }

  /// Starts a migration if one is due (writes do this themselves; a write racing the end of
  /// the previous migration may leave it to the next write or to this call).
  void rebalance() { maybe_migrate(); }

  /// Blocks until no migration runs; rethrows the error of a failed background migration.
  void wait_for_migration() {
    join();
    std::lock_guard lk(err_mu_);
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  }

  index_stats stats() const { return current()->stats(); }

  /// Writes the current tier to `dir` (created if needed): its index files and a manifest.
  template <file_system F2>
  void save(F2& fs, const std::string& dir) const {
    auto t = current();
    fs.create_directories(dir);
    std::unique_lock g(gate_);  // a consistent tier: no write or batch in between
    switch (t->kind) {
      case index_kind::flat:
        t->flat->save(fs, dir + "/flat.idx");
        break;
      case index_kind::hnsw:
        t->hnsw->save(fs, dir + "/hnsw.idx");
        break;
      case index_kind::vamana:
        t->vamana->save(fs, dir + "/vamana.idx");
        t->hnsw->save(fs, dir + "/delta.idx");
        break;
    }
    std::string m;
    put_fixed32(m, manifest_magic);
    put_fixed16(m, 1);
    m.push_back(static_cast<char>(t->kind));
    m.push_back(static_cast<char>(Metric::kind));
    put_fixed32(m, static_cast<std::uint32_t>(o_.dimension));
    put_fixed32(m, 0);
    put_fixed32(m, checksum32(m));
    write_file_atomic(fs, dir + "/router", m);
  }

  /// Reopens a router saved by `save` (no rebuild; the Vamana tier mapped). `fs`/`dir` are the
  /// router's own working place, as in the constructor (where later Vamana files go).
  static std::unique_ptr<index_router> load(Fs& fs, const std::string& saved,
                                            const router_options& o, std::string dir = {}) {
    const std::string path = saved + "/router";
    const std::string m = read_file(fs, path);
    byte_reader r(m, path);
    if (m.size() != 20)
      r.fail("router manifest of " + std::to_string(m.size()) + " bytes, expected 20");
    if (decode_fixed32(m.data() + 16) != checksum32(std::string_view(m).substr(0, 16)))
      byte_reader(m, path, 16).fail("router manifest checksum mismatch");
    if (r.fixed32() != manifest_magic) r.fail("not a router manifest (bad magic)");
    const auto version = r.fixed16();
    if (version != 1)
      throw unsupported(path + ": router manifest version " + std::to_string(version));
    const auto kind = r.u8();
    const auto metric = r.u8();
    const auto dim = r.fixed32();
    if (kind < 1 || kind > 3) r.fail("unknown tier " + std::to_string(kind));
    if (metric != static_cast<std::uint8_t>(Metric::kind))
      throw invalid_argument(path + ": saved with another metric");
    if (dim != o.dimension) throw dimension_mismatch("index_router::load", o.dimension, dim);
    auto rt = std::make_unique<index_router>(o, &fs, dir.empty() ? saved : dir);
    auto t = std::make_shared<tier_state>();
    t->kind = static_cast<index_kind>(kind);
    if (t->kind == index_kind::flat) {
      t->flat =
          std::make_unique<flat_index<Metric>>(flat_index<Metric>::load(fs, saved + "/flat.idx"));
    } else if (t->kind == index_kind::hnsw) {
      t->hnsw =
          std::make_unique<hnsw_index<Metric>>(hnsw_index<Metric>::load(fs, saved + "/hnsw.idx"));
    } else {
      if constexpr (vamana_ok) {
        // The tier keeps its own copy of the file (the saved one may be replaced later).
        const std::string own = rt->next_vamana_path();
        if (own != saved + "/vamana.idx") {
          auto v = vamana_index<Metric>::open(fs, saved + "/vamana.idx");
          v.save(fs, own);
        }
        t->vamana = std::make_unique<vamana_index<Metric>>(vamana_index<Metric>::open(fs, own));
        t->vamana_file = own;
        t->fs = &fs;
        t->hnsw = std::make_unique<hnsw_index<Metric>>(
            hnsw_index<Metric>::load(fs, saved + "/delta.idx"));
      } else {
        r.fail("a Vamana tier needs the l2 or cosine metric");
      }
    }
    if (t->dimension() != o.dimension)
      throw corruption(path + ": index dimension differs from the manifest");
    {
      std::lock_guard lk(rt->ptr_mu_);
      rt->cur_ = std::move(t);
    }
    rt->maybe_migrate();
    return rt;
  }

 private:
  static constexpr std::uint32_t manifest_magic = 0x52424453;  // "SDBR"
  static constexpr bool vamana_ok =
      Metric::kind == simd::metric_kind::l2 || Metric::kind == simd::metric_kind::cosine;

  // One tier: flat, HNSW, or Vamana + delta HNSW.
  struct tier_state {
    index_kind kind = index_kind::flat;
    std::unique_ptr<flat_index<Metric>> flat;
    std::unique_ptr<hnsw_index<Metric>> hnsw;  // the HNSW tier, or the Vamana tier's delta
    std::unique_ptr<std::conditional_t<vamana_ok, vamana_index<Metric>, int>> vamana;
    std::string vamana_file;
    Fs* fs = nullptr;
    ~tier_state() {
      vamana.reset();
      if (fs != nullptr && !vamana_file.empty()) {
        try {
          fs->remove(vamana_file);
        } catch (...) {  // a leftover file is harmless; it is overwritten by a later build
        }
      }
    }

    std::size_t dimension() const {
      if (flat) return flat->dimension();
      return hnsw->dimension();
    }
    std::size_t size() const {
      if (kind == index_kind::flat) return flat->size();
      if (kind == index_kind::hnsw) return hnsw->size();
      if constexpr (vamana_ok) return vamana->size() + hnsw->size();
      return 0;
    }
    bool contains(label_t l) const {
      if (kind == index_kind::flat) return flat->contains(l);
      if (kind == index_kind::hnsw) return hnsw->contains(l);
      if constexpr (vamana_ok) return vamana->contains(l) || hnsw->contains(l);
      return false;
    }
    std::vector<float> get(label_t l) const {
      if (kind == index_kind::flat) return flat->get(l);
      if (kind == index_kind::hnsw) return hnsw->get(l);
      if constexpr (vamana_ok) {
        if (vamana->contains(l)) return vamana->get(l);
      }
      return hnsw->get(l);
    }
    void add(label_t l, std::span<const float> v) {
      if (kind == index_kind::flat) return flat->add(l, v);
      if constexpr (vamana_ok) {
        if (kind == index_kind::vamana && vamana->contains(l))
          throw already_exists("index_router: label " + std::to_string(l) + " exists");
      }
      hnsw->add(l, v);
    }
    bool remove(label_t l) {
      if (kind == index_kind::flat) return flat->remove(l);
      if (kind == index_kind::hnsw) return hnsw->remove(l);
      if constexpr (vamana_ok) {
        if (vamana->remove(l)) return true;
      }
      return hnsw->remove(l);
    }
    std::vector<label_t> labels() const {
      if (kind == index_kind::flat) return flat->labels();
      auto out = hnsw->labels();
      if constexpr (vamana_ok) {
        if (kind == index_kind::vamana) {
          auto v = vamana->labels();
          out.insert(out.end(), v.begin(), v.end());
        }
      }
      return out;
    }
    template <class Filter>
    std::vector<neighbor> search(std::span<const float> q, std::size_t k, const search_params& p,
                                 const Filter& f) const {
      if (kind == index_kind::flat) return flat->search(q, k, p, f);
      if (kind == index_kind::hnsw) return hnsw->search(q, k, p, f);
      std::vector<neighbor> a;
      if constexpr (vamana_ok) a = vamana->search(q, k, p, f);
      if (hnsw->size() != 0) {
        auto b = hnsw->search(q, k, p, f);
        a.insert(a.end(), b.begin(), b.end());
        std::sort(a.begin(), a.end(), [](const neighbor& x, const neighbor& y) {
          return x.distance < y.distance || (x.distance == y.distance && x.label < y.label);
        });
        if (a.size() > k) a.resize(k);
      }
      return a;
    }
    index_stats stats() const {
      if (kind == index_kind::flat) return flat->stats();
      auto s = hnsw->stats();
      if constexpr (vamana_ok) {
        if (kind == index_kind::vamana) {
          const auto v = vamana->stats();
          s.size += v.size;
          s.deleted += v.deleted;
          s.memory_bytes += v.memory_bytes;
          s.mapped_bytes += v.mapped_bytes;
        }
      }
      return s;
    }
  };

  std::shared_ptr<tier_state> make_tier(index_kind k) const {
    auto t = std::make_shared<tier_state>();
    t->kind = k;
    if (k == index_kind::flat)
      t->flat = std::make_unique<flat_index<Metric>>(flat_options{.dimension = o_.dimension});
    else
      t->hnsw = std::make_unique<hnsw_index<Metric>>(o_.hnsw);
    return t;
  }

  std::shared_ptr<tier_state> current() const {
    std::lock_guard lk(ptr_mu_);
    return cur_;
  }
  void set_current(std::shared_ptr<tier_state> t) {
    std::shared_ptr<tier_state> old;
    {
      std::lock_guard lk(ptr_mu_);
      old = std::exchange(cur_, std::move(t));
    }
    // `old` dies here or with the last search still holding it.
  }

  std::string next_vamana_path() {
    return dir_ + "/vamana." + std::to_string(++generation_) + ".idx";
  }

  void join() {
    std::lock_guard lk(worker_mu_);
    if (worker_.joinable()) worker_.join();
  }

  // Which migration is due now: 0 none, 1 flat -> HNSW, 2 -> Vamana (first build or rebuild).
  int due() const {
    auto t = current();
    const std::size_t n = t->size();
    if (t->kind == index_kind::flat && n > o_.hnsw_above) return 1;
    if (t->kind == index_kind::hnsw && o_.vamana_above != 0 && n > o_.vamana_above) return 2;
    if (t->kind == index_kind::vamana && o_.delta_rebuild_fraction > 0 &&
        t->hnsw->size() >= o_.migrate_batch &&
        static_cast<double>(t->hnsw->size()) > o_.delta_rebuild_fraction * static_cast<double>(n))
      return 2;
    return 0;
  }
  bool failed() {
    std::lock_guard lk(err_mu_);
    return error_ != nullptr;
  }
  // Runs migrations while one is due (several thresholds may have been crossed meanwhile).
  void run_due() {
    for (int what; !failed() && (what = due()) != 0;) {
      try {
        if (what == 1)
          to_hnsw();
        else
          to_vamana();
      } catch (...) {
        {
          std::unique_lock g(gate_);
          target_.reset();
          logging_ = false;
        }
        std::lock_guard lk(err_mu_);
        error_ = std::current_exception();
      }
    }
  }

  void maybe_migrate() {
    if (busy_.load(std::memory_order_acquire) || due() == 0 || failed()) return;
    bool expected = false;
    if (!busy_.compare_exchange_strong(expected, true)) return;
    if (!o_.background) {
      run_due();
      busy_.store(false, std::memory_order_release);
      return;
    }
    std::lock_guard lk(worker_mu_);
    if (worker_.joinable()) worker_.join();  // the previous worker has finished (busy_ was false)
    worker_ = std::thread([this] {
      run_due();
      busy_.store(false, std::memory_order_release);
    });
  }

  // flat -> HNSW: dual writes into the new index while batches copy the rest.
  void to_hnsw() {
    auto from = current();
    auto to = make_tier(index_kind::hnsw);
    std::vector<label_t> labels;
    {
      std::unique_lock g(gate_);
      target_ = to;
      labels = from->labels();
    }
    std::vector<float> buf;
    std::vector<label_t> lb;
    for (std::size_t i = 0; i < labels.size(); i += o_.migrate_batch) {
      std::unique_lock g(gate_);
      buf.clear();
      lb.clear();
      const std::size_t end = std::min(labels.size(), i + o_.migrate_batch);
      for (std::size_t j = i; j < end; ++j) {
        if (to->contains(labels[j]) || !from->contains(labels[j])) continue;
        auto v = from->get(labels[j]);
        buf.insert(buf.end(), v.begin(), v.end());
        lb.push_back(labels[j]);
      }
      to->hnsw->add(buf.data(), lb.data(), lb.size(), o_.migrate_threads);
    }
    std::unique_lock g(gate_);
    target_.reset();
    set_current(std::move(to));
  }

  // -> Vamana: snapshot, copy out in batches, build with no lock, replay the logged writes.
  void to_vamana() {
    if constexpr (vamana_ok) {
      auto from = current();
      std::vector<label_t> labels;
      {
        std::unique_lock g(gate_);
        std::lock_guard lk(log_mu_);
        added_.clear();
        removed_.clear();
        logging_ = true;
        labels = from->labels();
      }
      const std::size_t d = o_.dimension;
      std::vector<float> x;
      std::vector<label_t> lb;
      x.reserve(labels.size() * d);
      lb.reserve(labels.size());
      for (std::size_t i = 0; i < labels.size(); i += o_.migrate_batch) {
        std::shared_lock g(gate_);  // reads only: writes may interleave (they are logged)
        const std::size_t end = std::min(labels.size(), i + o_.migrate_batch);
        for (std::size_t j = i; j < end; ++j) {
          try {
            auto v = from->get(labels[j]);
            x.insert(x.end(), v.begin(), v.end());
            lb.push_back(labels[j]);
          } catch (const not_found&) {  // removed since the snapshot (and logged)
          }
        }
      }
      auto vo = o_.vamana;
      vo.build_threads = o_.migrate_threads;
      const std::string path = next_vamana_path();
      vamana_index<Metric>::write_built(*fs_, path, vo, x.data(), lb.data(), lb.size(),
                                        default_vamana_pq(d, Metric::kind));
      auto to = std::make_shared<tier_state>();
      to->kind = index_kind::vamana;
      to->vamana = std::make_unique<vamana_index<Metric>>(vamana_index<Metric>::open(*fs_, path));
      to->vamana_file = path;
      to->fs = fs_;
      to->hnsw = std::make_unique<hnsw_index<Metric>>(o_.hnsw);
      x = {};
      std::unique_lock g(gate_);
      std::lock_guard lk(log_mu_);
      for (label_t l : removed_) to->vamana->remove(l);
      for (label_t l : added_) {
        if (!from->contains(l)) continue;
        to->vamana->remove(l);
        if (!to->hnsw->contains(l)) to->hnsw->add(l, from->get(l));
      }
      added_.clear();
      removed_.clear();
      logging_ = false;
      set_current(std::move(to));
    }
  }

  router_options o_;
  Fs* fs_;
  std::string dir_;
  std::size_t generation_ = 0;
  mutable std::mutex ptr_mu_;
  std::shared_ptr<tier_state> cur_;
  std::shared_ptr<tier_state> target_;  // flat -> HNSW: receives dual writes (guarded by gate_)
  bool logging_ = false;                // -> Vamana: writes are logged (guarded by gate_)
  std::mutex log_mu_;
  std::unordered_set<label_t> added_, removed_;
  mutable std::shared_mutex gate_;  // writes shared, migration batches and switches exclusive
  std::atomic<bool> busy_{false};
  std::mutex worker_mu_;
  std::thread worker_;
  std::mutex err_mu_;
  std::exception_ptr error_;
};

}  // namespace vector
SOCHDB_END_NAMESPACE
