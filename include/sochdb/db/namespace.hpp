// sochdb/db/namespace.hpp — namespaces (tenants): scoped KV, collections and semantic caches.
//
//     auto ns = db.create_namespace("tenant_123", {{"tier", "premium"}});
//     ns.put("users/alice", "data");                 // stored under the namespace's prefix
//     for (auto [k, v] : ns.scan("users/")) { ... }   // k is "users/alice": the prefix is hidden
//     auto docs = ns.create_collection({.name = "docs", .dimension = 384});
//     ns.cache_put("llm", "What is Python?", "A language.", embedding, std::chrono::hours(1));
//     auto hit = ns.cache_get("llm", query_embedding, 0.9);
//
// Isolation. A namespace name follows `validate_name` (letters, digits, '_', '-', '.', no
// separators, no "." or ".."), and every key a namespace writes starts with its prefix
// "\x01n/<name>/" (KV under "k/", collections under "c/<collection>/", caches under
// "q/<cache>/"); the registry entry lives at "\x01ns/<name>". Every read API of a namespace
// (get, scan, collection get/search/keyword search, cache_get) builds its keys and index
// lookups from its own prefix only, and derived index state is keyed by that prefix, so no
// call of one namespace can reach another's data; `copy_between_namespaces` is the one
// explicit cross-namespace operation. Index checkpoints live in
// `<db dir>/collections/<namespace>/`.
//
// Semantic cache (seed §15): entries (key, value, embedding, TTL, metadata) are documents of a
// hidden cosine collection per cache, so lookups use the vector index (HNSW once the cache
// holds `flat_limit` entries), not a scan. cache_get returns the live entry of highest cosine
// similarity cos(q, e) = q·e / (|q| |e|) if it is >= threshold (else none); expired entries
// (TTL) are never returned and disappear from the KV store by its TTL. Stats count hits and
// misses since the database was opened.
//
// Thread safety: as collections (db/collection.hpp). Namespace administration (create,
// delete, update) is transactional on the registry entry.
#pragma once

#include <sochdb/db/collection.hpp>
#include <sochdb/db/database.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

SOCHDB_BEGIN_NAMESPACE

/// What db.namespace_info() reports.
struct namespace_info {
  std::string name;
  std::string display_name;
  std::uint64_t created_at_ms = 0;  ///< Unix milliseconds
  namespace_labels labels;
  std::uint64_t keys = 0;        ///< keys under the namespace's prefix
  std::uint64_t size_bytes = 0;  ///< their key + value bytes
};

/// A semantic cache hit.
struct cache_entry {
  std::string key;
  std::string value;
  double score = 0;  ///< cosine similarity with the query embedding
  nlohmann::json metadata;
};

/// One entry of cache_put_batch.
struct cache_item {
  std::string key;
  std::string value;
  std::vector<float> embedding;
  std::chrono::milliseconds ttl{0};  ///< <= 0: no expiry
  nlohmann::json metadata = nlohmann::json::object();
};

struct cache_stats {
  std::size_t count = 0;         ///< live entries
  std::uint64_t hits = 0;        ///< cache_get calls that returned an entry (since open)
  std::uint64_t misses = 0;      ///< cache_get calls that returned none
  double hit_rate = 0;           ///< hits / (hits + misses); 0 before the first lookup
  std::uint64_t size_bytes = 0;  ///< stored bytes of the live entries
};

namespace detail {
inline std::string ns_registry_key(std::string_view name) { return "\x01ns/" + std::string(name); }
inline constexpr std::string_view ns_registry_prefix = "\x01ns/";
inline std::string ns_prefix(std::string_view name) { return "\x01n/" + std::string(name) + "/"; }

// Lookup counters of a semantic cache, kept next to its collection state.
struct cache_counters : extension {
  std::atomic<std::uint64_t> hits{0}, misses{0};
};
}  // namespace detail

/// A streaming scan of a namespace's KV keys with the prefix stripped.
template <class Scan>
class namespace_scan {
 public:
  namespace_scan(Scan s, std::size_t strip) : s_(std::move(s)), strip_(strip) {}
  [[nodiscard]] bool valid() const { return s_.valid(); }
  [[nodiscard]] std::string_view key() const { return s_.key().substr(strip_); }
  [[nodiscard]] std::string_view value() const { return s_.value(); }
  void next() { s_.next(); }
  class iterator {
   public:
    using value_type = std::pair<std::string_view, std::string_view>;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(namespace_scan* s) : s_(s) {}
    value_type operator*() const { return {s_->key(), s_->value()}; }
    iterator& operator++() {
      s_->next();
      return *this;
    }
    void operator++(int) { s_->next(); }
    friend bool operator==(const iterator& it, std::default_sentinel_t) {
      return it.s_ == nullptr || !it.s_->valid();
    }

   private:
    namespace_scan* s_ = nullptr;
  };
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() { return {}; }

 private:
  Scan s_;
  std::size_t strip_;
};

template <class Db>
class basic_namespace {
 public:
  using database_type = Db;
  using transaction_type = typename Db::transaction_type;
  using collection_type = basic_collection<Db>;
  using state_type = typename collection_type::state_type;

  // ---- administration (also reachable as db.create_namespace(...) etc.) ----

  static basic_namespace create(Db& db, std::string_view name, namespace_labels labels = {},
                                std::string display_name = {}) {
    validate_name(name, "namespace");
    db.transaction([&](transaction_type& t) {
      if (t.get(detail::ns_registry_key(name)))
        throw already_exists("namespace " + std::string(name) + " exists");
      nlohmann::json j{
          {"created_at", detail::now_ms()}, {"labels", labels}, {"display_name", display_name}};
      t.put(detail::ns_registry_key(name), j.dump());
    });
    return basic_namespace(db, name);
  }
  /// The existing namespace; `not_found` otherwise.
  static basic_namespace open(Db& db, std::string_view name) {
    validate_name(name, "namespace");
    if (!db.get(detail::ns_registry_key(name)))
      throw not_found("namespace " + std::string(name) + " does not exist");
    return basic_namespace(db, name);
  }
  static basic_namespace get_or_create(Db& db, std::string_view name,
                                       namespace_labels labels = {}) {
    validate_name(name, "namespace");
    db.transaction([&](transaction_type& t) {
      if (t.get(detail::ns_registry_key(name))) return;
      nlohmann::json j{{"created_at", detail::now_ms()}, {"labels", labels}, {"display_name", ""}};
      t.put(detail::ns_registry_key(name), j.dump());
    });
    return basic_namespace(db, name);
  }
  static bool exists(const Db& db, std::string_view name) {
    validate_name(name, "namespace");
    return db.get(detail::ns_registry_key(name)).has_value();
  }
  static std::vector<std::string> list(const Db& db) {
    std::vector<std::string> out;
    for (auto [k, v] : db.scan_prefix(detail::ns_registry_prefix))
      out.emplace_back(k.substr(detail::ns_registry_prefix.size()));
    return out;
  }
  static namespace_info info(const Db& db, std::string_view name) {
    validate_name(name, "namespace");
    auto v = db.get(detail::ns_registry_key(name));
    if (!v) throw not_found("namespace " + std::string(name) + " does not exist");
    auto j = parse_registry(*v, name);
    namespace_info i;
    i.name = std::string(name);
    i.created_at_ms = j.value("created_at", std::uint64_t{0});
    i.display_name = j.value("display_name", std::string());
    i.labels = j.value("labels", namespace_labels{});
    for (auto [k, val] : db.scan_prefix(detail::ns_prefix(name))) {
      ++i.keys;
      i.size_bytes += k.size() + val.size();
    }
    return i;
  }
  static void update_labels(Db& db, std::string_view name, namespace_labels labels) {
    validate_name(name, "namespace");
    db.transaction([&](transaction_type& t) {
      auto v = t.get(detail::ns_registry_key(name));
      if (!v) throw not_found("namespace " + std::string(name) + " does not exist");
      auto j = parse_registry(*v, name);
      j["labels"] = labels;
      t.put(detail::ns_registry_key(name), j.dump());
    });
  }
  /// Deletes the namespace; with data in it only when `force` (then all of it, in batches).
  static void remove(Db& db, std::string_view name, bool force = false) {
    validate_name(name, "namespace");
    const std::string prefix = detail::ns_prefix(name);
    if (!db.get(detail::ns_registry_key(name)))
      throw not_found("namespace " + std::string(name) + " does not exist");
    if (!force && db.scan_prefix(prefix).valid())
      throw invalid_argument("namespace " + std::string(name) +
                             " is not empty (delete it with force)");
    db.del(detail::ns_registry_key(name));
    delete_prefix(db, prefix);
    db.extensions().erase_prefix("coll:" + prefix);
    remove_tree(db, path_join(path_join(db.directory(), "collections"), std::string(name)));
  }
  /// Copies the KV keys under `prefix` (namespace-relative) from one namespace to another,
  /// in one transaction: the only API that reads one namespace and writes another.
  static std::size_t copy_between(Db& db, std::string_view from, std::string_view to,
                                  std::string_view prefix = {}) {
    auto src = open(db, from);
    auto dst = open(db, to);
    return db.transaction([&](transaction_type& t) {
      std::size_t n = 0;
      std::vector<std::pair<std::string, std::string>> kvs;
      for (auto [k, v] : t.scan_prefix(src.kv_key(prefix))) kvs.emplace_back(k, v);
      for (auto& [k, v] : kvs) {
        t.put(dst.kv_key(std::string_view(k).substr(src.kv_prefix().size())), v);
        ++n;
      }
      return n;
    });
  }

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] namespace_info info() const { return info(*db_, name_); }

  // ---- namespace-scoped KV (keys relative to the namespace) ----

  std::uint64_t put(std::string_view key, std::string_view value) {
    return db_->put(kv_key(key), value);
  }
  template <class Rep, class Period>
  std::uint64_t put(std::string_view key, std::string_view value,
                    std::chrono::duration<Rep, Period> ttl) {
    return db_->put(kv_key(key), value, ttl);
  }
  [[nodiscard]] std::optional<std::string> get(std::string_view key) const {
    return db_->get(kv_key(key));
  }
  [[nodiscard]] bool exists(std::string_view key) const { return db_->exists(kv_key(key)); }
  std::uint64_t del(std::string_view key) { return db_->del(kv_key(key)); }
  /// Keys starting with `prefix` (may be empty: the whole namespace), prefix hidden.
  [[nodiscard]] auto scan(std::string_view prefix = {}) const {
    return namespace_scan<typename Db::scan_type>(db_->scan_prefix_unchecked(kv_key(prefix)),
                                                  kv_prefix().size());
  }
  // In the caller's transaction:
  void put(transaction_type& t, std::string_view key, std::string_view value) {
    t.put(kv_key(key), value);
  }
  std::optional<std::string> get(transaction_type& t, std::string_view key) {
    return t.get(kv_key(key));
  }
  void del(transaction_type& t, std::string_view key) { t.del(kv_key(key)); }

  /// The namespace's KV prefix ("\x01n/<name>/k/") and a key under it (for tools and the
  /// atomic writer; validates nothing but emptiness).
  [[nodiscard]] std::string kv_prefix() const { return prefix_ + "k/"; }
  [[nodiscard]] std::string kv_key(std::string_view key) const {
    return prefix_ + "k/" + std::string(key);
  }

  // ---- collections ----

  collection_type create_collection(const collection_config& c) {
    c.validate();
    std::string ck = coll_prefix(c.name) + "config";
    db_->transaction([&](transaction_type& t) {
      if (t.get(ck)) throw already_exists("collection " + c.name + " exists in namespace " + name_);
      t.put(ck, c.to_json().dump());
    });
    // A leftover checkpoint of an earlier collection of that name must not be reused.
    remove_dir_files(*db_, coll_dir(c.name));
    return collection(c.name);
  }
  collection_type create_collection(std::string_view name, std::size_t dimension,
                                    simd::metric_kind metric = simd::metric_kind::cosine) {
    return create_collection({.name = std::string(name), .dimension = dimension, .metric = metric});
  }
  /// The existing collection (its indexes are opened and caught up on first use).
  collection_type collection(std::string_view name) const {
    validate_name(name, "collection");
    std::string prefix = coll_prefix(name);
    auto cfg = db_->get(prefix + "config");
    if (!cfg)
      throw not_found("collection " + std::string(name) + " does not exist in namespace " + name_);
    return collection_type(*db_, state_for(prefix, coll_dir(name), *cfg, name));
  }
  collection_type get_collection(std::string_view name) const { return collection(name); }
  [[nodiscard]] bool collection_exists(std::string_view name) const {
    validate_name(name, "collection");
    return db_->exists(coll_prefix(name) + "config");
  }
  [[nodiscard]] std::vector<std::string> list_collections() const {
    std::vector<std::string> out;
    const std::string p = prefix_ + "c/";
    for (auto [k, v] : db_->scan_prefix(p)) {
      auto rest = k.substr(p.size());
      auto slash = rest.find('/');
      if (slash != std::string_view::npos && rest.substr(slash + 1) == "config")
        out.emplace_back(rest.substr(0, slash));
    }
    return out;
  }
  /// Deletes a collection, its documents and its index files; false when absent.
  bool delete_collection(std::string_view name) {
    validate_name(name, "collection");
    std::string prefix = coll_prefix(name);
    if (!db_->exists(prefix + "config")) return false;
    db_->del(prefix + "config");  // from here on the collection is gone for every handle
    if (auto st = db_->extensions().template find<state_type>("coll:" + prefix)) st->drop();
    db_->extensions().erase_prefix("coll:" + prefix);
    delete_prefix(*db_, prefix);
    remove_dir_files(*db_, coll_dir(name));
    return true;
  }

  // ---- semantic cache ----

  /// Stores `value` under `key` with `embedding` (cosine); ttl <= 0: no expiry.
  template <class Rep = long long, class Period = std::ratio<1>>
  void cache_put(std::string_view cache, std::string_view key, std::string_view value,
                 std::span<const float> embedding,
                 std::chrono::duration<Rep, Period> ttl = std::chrono::seconds(0),
                 nlohmann::json metadata = nlohmann::json::object()) {
    validate_name(cache, "cache");
    auto st = cache_state(cache, embedding.size(), true);
    document d{.id = std::string(key),
               .vectors = {std::vector<float>(embedding.begin(), embedding.end())},
               .metadata = {{"metadata", std::move(metadata)}, {"created_at", detail::now_ms()}},
               .text = std::string(value)};
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(ttl).count();
    if (ms > 0) d.expires_at_ms = detail::now_ms() + static_cast<std::uint64_t>(ms);
    collection_type(*db_, st->first).upsert(d);
  }
  /// Stores many entries in one transaction (warming a cache; one batch index insert).
  void cache_put_batch(std::string_view cache, std::span<const cache_item> items) {
    validate_name(cache, "cache");
    if (items.empty()) return;
    auto st = cache_state(cache, items[0].embedding.size(), true);
    std::vector<document> docs;
    docs.reserve(items.size());
    const std::uint64_t now = detail::now_ms();
    for (const auto& it : items) {
      document d{.id = it.key,
                 .vectors = {it.embedding},
                 .metadata = {{"metadata", it.metadata}, {"created_at", now}},
                 .text = it.value};
      if (it.ttl.count() > 0) d.expires_at_ms = now + static_cast<std::uint64_t>(it.ttl.count());
      docs.push_back(std::move(d));
    }
    collection_type c(*db_, st->first);
    c.upsert_batch(docs);
  }
  /// The live entry most similar to `query` if its cosine similarity is >= threshold.
  std::optional<cache_entry> cache_get(std::string_view cache, std::span<const float> query,
                                       double threshold = 0.85) {
    validate_name(cache, "cache");
    auto st = cache_state(cache, query.size(), false);
    if (!st) return std::nullopt;
    collection_type c(*db_, st->first);
    auto hits = c.search({.vector = std::vector<float>(query.begin(), query.end()), .k = 1});
    if (hits.empty() || hits[0].score < threshold) {
      st->second->misses.fetch_add(1, std::memory_order_relaxed);
      return std::nullopt;
    }
    auto d = c.get(hits[0].id);
    if (!d) {  // expired or deleted between the search and the read
      st->second->misses.fetch_add(1, std::memory_order_relaxed);
      return std::nullopt;
    }
    st->second->hits.fetch_add(1, std::memory_order_relaxed);
    return cache_entry{hits[0].id, std::move(d->text), hits[0].score,
                       d->metadata.value("metadata", nlohmann::json::object())};
  }
  bool cache_delete(std::string_view cache, std::string_view key) {
    validate_name(cache, "cache");
    auto st = cache_state(cache, 0, false);
    if (!st) return false;
    return collection_type(*db_, st->first).remove(key);
  }
  /// Removes every entry (the cache keeps its configuration); returns how many.
  std::size_t cache_clear(std::string_view cache) {
    validate_name(cache, "cache");
    auto st = cache_state(cache, 0, false);
    if (!st) return 0;
    collection_type c(*db_, st->first);
    std::vector<std::string> ids;
    const std::string dp = st->first->doc_prefix();
    for (auto [k, v] : db_->scan_prefix(dp)) ids.emplace_back(k.substr(dp.size()));
    db_->transaction([&](transaction_type& t) {
      for (auto& id : ids) c.remove(t, id);
    });
    return ids.size();
  }
  [[nodiscard]] cache_stats cache_stats_of(std::string_view cache) {
    validate_name(cache, "cache");
    cache_stats s;
    auto st = cache_state(cache, 0, false);
    if (!st) return s;
    s.count = st->first->count();
    s.size_bytes = st->first->live_bytes();
    s.hits = st->second->hits.load();
    s.misses = st->second->misses.load();
    if (s.hits + s.misses > 0) s.hit_rate = double(s.hits) / double(s.hits + s.misses);
    return s;
  }

 private:
  template <class>
  friend class atomic_memory_writer;

  basic_namespace(Db& db, std::string_view name)
      : db_(&db), name_(name), prefix_(detail::ns_prefix(name)) {}

  std::string coll_prefix(std::string_view coll) const {
    return prefix_ + "c/" + std::string(coll) + "/";
  }
  std::string cache_prefix(std::string_view cache) const {
    return prefix_ + "q/" + std::string(cache) + "/";
  }
  std::string ns_dir() const {
    return path_join(path_join(db_->directory(), "collections"), name_);
  }
  std::string coll_dir(std::string_view coll) const {
    return path_join(ns_dir(), "c." + std::string(coll));
  }

  static nlohmann::json parse_registry(const std::string& v, std::string_view name) {
    auto j = nlohmann::json::parse(v, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      throw corruption("namespace " + std::string(name) + ": registry entry is not a JSON object");
    return j;
  }

  std::shared_ptr<state_type> state_for(const std::string& prefix, const std::string& dir,
                                        const std::string& config_json,
                                        std::string_view name) const {
    return db_->extensions().template get_or_create<state_type>("coll:" + prefix, [&] {
      auto j = nlohmann::json::parse(config_json, nullptr, false);
      if (j.is_discarded())
        throw corruption("collection " + std::string(name) + ": stored configuration is not JSON");
      auto cfg = collection_config::from_json(j);
      auto st = std::make_shared<state_type>(std::move(cfg), prefix, dir, db_->file_system());
      st->open(*db_);
      return st;
    });
  }

  // The cache's collection state and counters; created on the first put (dimension from the
  // embedding), else null when the cache does not exist.
  std::optional<std::pair<std::shared_ptr<state_type>, std::shared_ptr<detail::cache_counters>>>
  cache_state(std::string_view cache, std::size_t dimension, bool create) {
    std::string prefix = cache_prefix(cache);
    auto cfg = db_->get(prefix + "config");
    if (!cfg) {
      if (!create) return std::nullopt;
      collection_config c{
          .name = std::string(cache), .dimension = dimension, .metric = simd::metric_kind::cosine};
      c.validate();
      db_->transaction([&](transaction_type& t) {
        if (!t.get(prefix + "config")) t.put(prefix + "config", c.to_json().dump());
      });
      cfg = db_->get(prefix + "config");
    }
    std::string dir = path_join(ns_dir(), "q." + std::string(cache));
    auto st = state_for(prefix, dir, *cfg, cache);
    if (dimension != 0 && st->config().dimension != dimension)
      throw dimension_mismatch("cache " + std::string(cache), st->config().dimension, dimension);
    auto counters = db_->extensions().template get_or_create<detail::cache_counters>(
        "coll:" + prefix + "#stats", [] { return std::make_shared<detail::cache_counters>(); });
    return std::make_pair(std::move(st), std::move(counters));
  }

  static void delete_prefix(Db& db, const std::string& prefix) {
    for (;;) {
      write_batch b;
      std::size_t n = 0;
      for (auto [k, v] : db.scan_prefix_unchecked(prefix)) {
        b.del(k);
        if (++n == 10000) break;
      }
      if (n == 0) return;
      db.write(b);
    }
  }
  // Index files: <db>/collections/<namespace>/{c.<collection>,q.<cache>}/<files>.
  static void remove_dir_files(Db& db, const std::string& dir) {
    auto fs = db.file_system();
    if (!fs.exists(dir)) return;
    for (const auto& name : fs.list(dir)) fs.remove(path_join(dir, name));
    fs.remove_directory(dir);
  }
  static void remove_tree(Db& db, const std::string& ns_dir) {
    auto fs = db.file_system();
    if (!fs.exists(ns_dir)) return;
    for (const auto& name : fs.list(ns_dir)) remove_dir_files(db, path_join(ns_dir, name));
    fs.remove_directory(ns_dir);
  }

  Db* db_;
  std::string name_;
  std::string prefix_;
};

SOCHDB_END_NAMESPACE
