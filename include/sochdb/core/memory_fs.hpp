// sochdb/core/memory_fs.hpp — an in-memory file system for tests and ephemeral databases.
//
// Follows the contract in fs.hpp exactly (parents must exist, not_found for missing paths,
// exclusive locks per path) except durability: everything is "durable" at once, there is no
// crash. Use fault_injection_fs<memory_fs> to simulate power loss.
//
// Copies share one file system. Thread safety: all operations may run concurrently (one mutex
// per file system). Open handles keep an unlinked file alive, as POSIX does.
#pragma once

#include <sochdb/core/fs.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <set>

SOCHDB_BEGIN_NAMESPACE

class memory_fs {
  struct node {
    bool is_dir = false;
    std::string data;
  };
  struct state {
    std::mutex mu;
    std::map<std::string, std::shared_ptr<node>> entries;  // normalized path -> node
    std::set<std::string> locks;
  };

 public:
  memory_fs() : st_(std::make_shared<state>()) {}

  /// Collapses repeated '/', drops "." components and a trailing '/'. Relative paths stay
  /// relative; "" and "." name the working directory, "/" the root (both always exist).
  static std::string normalize(std::string_view p) {
    bool absolute = !p.empty() && p.front() == '/';
    std::string out = absolute ? "/" : "";
    std::size_t i = 0;
    while (i <= p.size()) {
      std::size_t j = p.find('/', i);
      if (j == std::string_view::npos) j = p.size();
      std::string_view part = p.substr(i, j - i);
      if (!part.empty() && part != ".") {
        if (!out.empty() && out.back() != '/') out += '/';
        out += part;
      }
      i = j + 1;
    }
    if (out.empty()) out = ".";
    return out;
  }

  class file {
   public:
    file() = default;
    file(std::shared_ptr<state> st, std::shared_ptr<node> n, std::string path, bool writable)
        : st_(std::move(st)), node_(std::move(n)), path_(std::move(path)), writable_(writable) {
      end_ = node_->data.size();
    }

    std::size_t read_at(std::uint64_t offset, std::span<char> out) const {
      std::lock_guard lk(check()->mu);
      const std::string& d = node_->data;
      if (offset >= d.size()) return 0;
      std::size_t n =
          std::min<std::size_t>(out.size(), d.size() - static_cast<std::size_t>(offset));
      std::memcpy(out.data(), d.data() + offset, n);
      return n;
    }
    void write_at(std::uint64_t offset, std::string_view data) {
      std::lock_guard lk(check()->mu);
      if (!writable_) throw io_error("write '" + path_ + "': opened read-only", EBADF);
      std::string& d = node_->data;
      if (d.size() < offset + data.size())
        d.resize(static_cast<std::size_t>(offset + data.size()), '\0');
      std::memcpy(d.data() + offset, data.data(), data.size());
      end_ = std::max<std::uint64_t>(end_, offset + data.size());
    }
    void append(std::string_view data) { write_at(end_, data); }
    void sync() { check(); }
    void truncate(std::uint64_t size) {
      std::lock_guard lk(check()->mu);
      if (!writable_) throw io_error("truncate '" + path_ + "': opened read-only", EBADF);
      node_->data.resize(static_cast<std::size_t>(size), '\0');
      end_ = size;
    }
    [[nodiscard]] std::uint64_t size() const {
      std::lock_guard lk(check()->mu);
      return node_->data.size();
    }
    void close() {
      st_.reset();
      node_.reset();
    }
    [[nodiscard]] const std::string& path() const noexcept { return path_; }

   private:
    state* check() const {
      if (!st_) throw closed("file '" + path_ + "' is closed");
      return st_.get();
    }
    std::shared_ptr<state> st_;
    std::shared_ptr<node> node_;
    std::string path_;
    bool writable_ = false;
    std::uint64_t end_ = 0;
  };

  class lock_handle {
   public:
    lock_handle() = default;
    lock_handle(std::shared_ptr<state> st, std::string path)
        : st_(std::move(st)), path_(std::move(path)) {}
    lock_handle(lock_handle&& o) noexcept : st_(std::move(o.st_)), path_(std::move(o.path_)) {}
    lock_handle& operator=(lock_handle&& o) noexcept {
      if (this != &o) {
        release();
        st_ = std::move(o.st_);
        path_ = std::move(o.path_);
      }
      return *this;
    }
    ~lock_handle() { release(); }
    void release() noexcept {
      if (st_) {
        std::lock_guard lk(st_->mu);
        st_->locks.erase(path_);
        st_.reset();
      }
    }

   private:
    std::shared_ptr<state> st_;
    std::string path_;
  };

  /// A snapshot copy of the file's bytes.
  class mapping {
   public:
    mapping() = default;
    explicit mapping(std::shared_ptr<const std::string> d) : d_(std::move(d)) {}
    [[nodiscard]] const char* data() const noexcept { return d_ ? d_->data() : nullptr; }
    [[nodiscard]] std::size_t size() const noexcept { return d_ ? d_->size() : 0; }

   private:
    std::shared_ptr<const std::string> d_;
  };

  file open(const std::string& path, open_mode mode) {
    std::string p = normalize(path);
    bool writable = has(mode, open_mode::write);
    if ((has(mode, open_mode::create) || has(mode, open_mode::truncate)) && !writable) {
      throw invalid_argument("open '" + path + "': create/truncate need write mode");
    }
    std::lock_guard lk(st_->mu);
    auto it = st_->entries.find(p);
    std::shared_ptr<node> n;
    if (it == st_->entries.end()) {
      if (!has(mode, open_mode::create)) throw not_found("open '" + path + "': no such file");
      require_dir_locked(parent_path(p), "open '" + path + "'");
      n = std::make_shared<node>();
      st_->entries.emplace(p, n);
    } else {
      n = it->second;
      if (n->is_dir) throw io_error("open '" + path + "': is a directory", EISDIR);
      if (has(mode, open_mode::create) && has(mode, open_mode::exclusive)) {
        throw already_exists("open '" + path + "': file exists");
      }
      if (has(mode, open_mode::truncate)) n->data.clear();
    }
    return file(st_, n, p, writable);
  }

  bool exists(const std::string& path) const {
    std::string p = normalize(path);
    std::lock_guard lk(st_->mu);
    return is_root(p) || st_->entries.count(p) != 0;
  }

  std::uint64_t file_size(const std::string& path) const {
    std::lock_guard lk(st_->mu);
    auto it = st_->entries.find(normalize(path));
    if (it == st_->entries.end()) throw not_found("stat '" + path + "': no such file");
    return it->second->data.size();
  }

  bool remove(const std::string& path) {
    std::lock_guard lk(st_->mu);
    auto it = st_->entries.find(normalize(path));
    if (it == st_->entries.end()) return false;
    if (it->second->is_dir) throw io_error("remove '" + path + "': is a directory", EISDIR);
    st_->entries.erase(it);
    return true;
  }

  void rename(const std::string& from, const std::string& to) {
    std::string f = normalize(from), t = normalize(to);
    std::lock_guard lk(st_->mu);
    auto it = st_->entries.find(f);
    if (it == st_->entries.end()) throw not_found("rename '" + from + "': no such file");
    if (it->second->is_dir)
      throw io_error("rename '" + from + "': directories are not renamed", EISDIR);
    require_dir_locked(parent_path(t), "rename to '" + to + "'");
    auto target = st_->entries.find(t);
    if (target != st_->entries.end() && target->second->is_dir) {
      throw io_error("rename to '" + to + "': is a directory", EISDIR);
    }
    if (f == t) return;
    auto n = it->second;
    st_->entries.erase(it);
    st_->entries[t] = std::move(n);
  }

  void create_directories(const std::string& path) {
    std::string p = normalize(path);
    std::lock_guard lk(st_->mu);
    std::size_t pos = 0;
    while (true) {
      pos = p.find('/', pos + 1);
      std::string cur = p.substr(0, pos);
      if (!cur.empty() && !is_root(cur)) {
        auto it = st_->entries.find(cur);
        if (it == st_->entries.end()) {
          auto n = std::make_shared<node>();
          n->is_dir = true;
          st_->entries.emplace(cur, std::move(n));
        } else if (!it->second->is_dir) {
          throw io_error("mkdir '" + cur + "': not a directory", ENOTDIR);
        }
      }
      if (pos == std::string::npos) break;
    }
  }

  bool remove_directory(const std::string& path) {
    std::string p = normalize(path);
    std::lock_guard lk(st_->mu);
    auto it = st_->entries.find(p);
    if (it == st_->entries.end()) return false;
    if (!it->second->is_dir) throw io_error("rmdir '" + path + "': not a directory", ENOTDIR);
    if (!children_locked(p).empty())
      throw io_error("rmdir '" + path + "': directory not empty", ENOTEMPTY);
    st_->entries.erase(it);
    return true;
  }

  std::vector<std::string> list(const std::string& dir) const {
    std::string p = normalize(dir);
    std::lock_guard lk(st_->mu);
    require_dir_locked(p, "list '" + dir + "'");
    return children_locked(p);
  }

  void sync_dir(const std::string& dir) const {
    std::lock_guard lk(st_->mu);
    require_dir_locked(normalize(dir), "sync directory '" + dir + "'");
  }

  lock_handle lock(const std::string& path) {
    std::string p = normalize(path);
    {
      std::lock_guard lk(st_->mu);
      if (st_->locks.count(p) != 0) throw locked("lock '" + path + "': held by another handle");
    }
    open(p, open_mode::write | open_mode::create);  // like posix_fs, the lock file exists
    std::lock_guard lk(st_->mu);
    if (!st_->locks.insert(p).second) throw locked("lock '" + path + "': held by another handle");
    return lock_handle(st_, p);
  }

  mapping map(const std::string& path) const {
    std::lock_guard lk(st_->mu);
    auto it = st_->entries.find(normalize(path));
    if (it == st_->entries.end() || it->second->is_dir)
      throw not_found("mmap '" + path + "': no such file");
    return mapping(std::make_shared<const std::string>(it->second->data));
  }

  /// Total bytes in all files (for tests that check space is returned).
  [[nodiscard]] std::uint64_t total_bytes() const {
    std::lock_guard lk(st_->mu);
    std::uint64_t n = 0;
    for (auto& [p, e] : st_->entries) n += e->data.size();
    return n;
  }

 private:
  static bool is_root(const std::string& p) { return p == "." || p == "/"; }

  void require_dir_locked(const std::string& p, const std::string& what) const {
    if (is_root(p)) return;
    auto it = st_->entries.find(p);
    if (it == st_->entries.end()) throw not_found(what + ": directory '" + p + "' does not exist");
    if (!it->second->is_dir) throw io_error(what + ": '" + p + "' is not a directory", ENOTDIR);
  }

  std::vector<std::string> children_locked(const std::string& dir) const {
    std::vector<std::string> names;
    std::string prefix = dir == "." ? "" : (dir == "/" ? "/" : dir + "/");
    for (auto it = st_->entries.lower_bound(prefix); it != st_->entries.end(); ++it) {
      const std::string& k = it->first;
      if (k.compare(0, prefix.size(), prefix) != 0) break;
      std::string_view rest = std::string_view(k).substr(prefix.size());
      if (rest.empty() || rest.find('/') != std::string_view::npos) continue;
      names.emplace_back(rest);
    }
    // Relative paths ("a", "a/b") and absolute ones ("/a") share the map; a relative listing
    // of "." must not pick up absolute entries.
    if (dir == ".") {
      std::erase_if(names, [](const std::string& n) { return n.empty() || n.front() == '/'; });
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  std::shared_ptr<state> st_;
};

static_assert(file_system<memory_fs>);

SOCHDB_END_NAMESPACE
