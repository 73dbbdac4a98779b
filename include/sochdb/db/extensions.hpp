// sochdb/db/extensions.hpp — per-database state of the layers built on the KV store.
//
// Collections, semantic caches and other derived structures (db/collection.hpp) keep
// in-memory state (open vector and BM25 indexes) that must be shared by every handle of one
// open database and live exactly as long as it: a `basic_database` owns one
// `extension_registry`, and such layers find or create their state in it by a string key.
// On close the registry calls every extension's `on_close()` (collections write their index
// checkpoints there) before the storage closes, then drops them.
//
// Thread safety: all members may be called from any thread; the factory of `get_or_create`
// runs under the registry's lock (so exactly one object is created per key) and must not call
// back into the registry.
#pragma once

#include <sochdb/core/error.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

SOCHDB_BEGIN_NAMESPACE

/// Base of an object kept in a database's extension registry.
class extension {
 public:
  virtual ~extension() = default;
  /// Called once when the database closes (explicitly or by its destructor), before the
  /// storage closes. Must not throw.
  virtual void on_close() noexcept {}
};

class extension_registry {
 public:
  /// The object under `key`, created by `make()` (returning std::shared_ptr<T>) when absent.
  /// Throws `closed` once the database is closing.
  template <class T, class Make>
  std::shared_ptr<T> get_or_create(const std::string& key, Make&& make) {
    std::lock_guard lk(mu_);
    if (closing_) throw closed("database is closed");
    auto it = items_.find(key);
    if (it != items_.end()) {
      auto p = std::dynamic_pointer_cast<T>(it->second);
      if (!p) throw invalid_argument("extension '" + key + "' has another type");
      return p;
    }
    std::shared_ptr<T> p = make();
    items_.emplace(key, p);
    return p;
  }
  /// The object under `key`, or null.
  template <class T>
  std::shared_ptr<T> find(const std::string& key) const {
    std::lock_guard lk(mu_);
    auto it = items_.find(key);
    return it == items_.end() ? nullptr : std::dynamic_pointer_cast<T>(it->second);
  }
  /// Forgets every object whose key starts with `prefix` (a dropped collection or namespace).
  void erase_prefix(const std::string& prefix) {
    std::vector<std::shared_ptr<extension>> dead;  // destroyed outside the lock
    std::lock_guard lk(mu_);
    for (auto it = items_.lower_bound(prefix);
         it != items_.end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
      dead.push_back(std::move(it->second));
      it = items_.erase(it);
    }
  }
  /// Runs every on_close() (in key order) and drops the objects. Idempotent.
  void close_all() noexcept {
    std::map<std::string, std::shared_ptr<extension>> items;
    {
      std::lock_guard lk(mu_);
      closing_ = true;
      items.swap(items_);
    }
    for (auto& [k, e] : items) e->on_close();
  }

 private:
  mutable std::mutex mu_;
  bool closing_ = false;
  std::map<std::string, std::shared_ptr<extension>> items_;
};

SOCHDB_END_NAMESPACE
