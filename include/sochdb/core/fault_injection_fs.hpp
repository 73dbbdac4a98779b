// sochdb/core/fault_injection_fs.hpp — a file system that fails and loses power on command.
//
// Wraps another file-system policy (memory_fs by default, posix_fs works too) and keeps an exact
// model of what is on stable storage, following the durability contract of fs.hpp strictly:
//
//   * File data becomes durable at the file's sync(): the durable image of the file is then its
//     whole current contents.
//   * A directory entry (a created, removed or renamed name, files and directories alike)
//     becomes durable at sync_dir() of its parent directory. A new file whose directory was not
//     synced is gone after a crash even if the file itself was synced; a rename that was not
//     followed by sync_dir() is undone; a removed file comes back with its durable contents.
//   * Paths that existed in the inner file system before this wrapper touched them are durable
//     as they are.
//
// simulate_power_loss() rewrites the inner file system to that durable image, invalidates every
// open handle (further calls on them throw `closed`) and releases every lock, as a reboot does.
//
// Faults, each armed for the n-th matching operation counted from the moment it is armed:
//   * crash_after(op, n): the n-th `op` completes, then the file system goes down: every later
//     call (reads too) throws io_error until simulate_power_loss().
//   * fail_nth(op, n, sticky): the n-th `op` throws io_error without any effect (and every
//     later one too when sticky).
//   * tear_nth_write(n, keep): the n-th write stores only its first `keep` bytes; the file's
//     contents up to the end of those bytes reach stable storage (as if the disk flushed up to
//     the tear), then the file system goes down.
//   * flip_bit(path, offset, bit): flips one bit in both the current and the durable image.
// Operation kinds: write (write_at, append, truncate), sync (file sync and sync_dir), rename,
// remove (files and directories), create (a file or directory coming into existence), any.
//
// Locks are kept by the wrapper (per path, within this process) so that a database object that
// outlived a simulated crash cannot block the reopen.
//
// Thread safety: every call may come from any thread; all calls are serialized by one mutex.
// Meant for tests: it keeps a second copy of every file's durable bytes in memory.
#pragma once

#include <sochdb/core/memory_fs.hpp>

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

SOCHDB_BEGIN_NAMESPACE

/// Operation kinds that faults count.
enum class fault_op { write, sync, rename, remove, create, any };

/// Counts of mutating operations since construction (power losses do not reset them).
struct fault_stats {
  std::uint64_t writes = 0;  ///< write_at, append, truncate
  std::uint64_t bytes_written = 0;
  std::uint64_t file_syncs = 0;
  std::uint64_t dir_syncs = 0;
  std::uint64_t renames = 0;
  std::uint64_t removes = 0;
  std::uint64_t creates = 0;
  std::uint64_t power_losses = 0;
};

template <file_system Inner = memory_fs>
class fault_injection_fs {
  static constexpr std::uint64_t clean = std::numeric_limits<std::uint64_t>::max();

  struct inode {
    bool is_dir = false;
    std::string durable;             // file bytes on stable storage
    std::uint64_t dirty_lo = clean;  // lowest offset changed since the last sync
  };
  enum class fault_kind { crash_after, fail, tear };
  struct trigger {
    fault_kind kind;
    fault_op op;
    std::uint64_t remaining;  // matching operations until it fires
    bool sticky = false;
    std::size_t keep = 0;
    bool fired = false;
    bool pending = false;  // crash_after reached: goes down when the operation completes
  };
  struct state {
    explicit state(Inner in) : inner(std::move(in)) {}
    std::mutex mu;
    Inner inner;
    std::map<std::string, std::shared_ptr<inode>> names;          // current directory entries
    std::map<std::string, std::shared_ptr<inode>> durable_names;  // entries on stable storage
    std::set<std::string> locks;
    std::uint64_t generation = 0;  // bumped by every power loss
    bool down = false;
    std::vector<trigger> triggers;
    fault_stats stats;
  };

 public:
  explicit fault_injection_fs(Inner inner = Inner{})
      : st_(std::make_shared<state>(std::move(inner))) {}

  class file {
   public:
    file() = default;
    file(std::shared_ptr<state> st, typename Inner::file f, std::shared_ptr<inode> n)
        : st_(std::move(st)), f_(std::move(f)), node_(std::move(n)) {
      if (st_) {
        gen_ = st_->generation;
        end_ = f_.size();
      }
    }

    std::size_t read_at(std::uint64_t offset, std::span<char> out) const {
      std::lock_guard lk(alive()->mu);
      return f_.read_at(offset, out);
    }

    void write_at(std::uint64_t offset, std::string_view data) {
      state* s = alive();
      std::lock_guard lk(s->mu);
      do_write(s, offset, data);
    }
    void append(std::string_view data) {
      state* s = alive();
      std::lock_guard lk(s->mu);
      do_write(s, std::nullopt, data);
    }

    void sync() {
      state* s = alive();
      std::lock_guard lk(s->mu);
      before(s, fault_op::sync);
      f_.sync();
      ++s->stats.file_syncs;
      if (node_ && node_->dirty_lo != clean) {
        std::uint64_t size = f_.size();
        std::string& d = node_->durable;
        std::uint64_t lo = std::min<std::uint64_t>(node_->dirty_lo, size);
        d.resize(static_cast<std::size_t>(size));
        if (size > lo) {
          f_.read_at(lo, std::span<char>(d.data() + lo, static_cast<std::size_t>(size - lo)));
        }
        node_->dirty_lo = clean;
      }
      after(s, fault_op::sync);
    }

    void truncate(std::uint64_t size) {
      state* s = alive();
      std::lock_guard lk(s->mu);
      before(s, fault_op::write);
      f_.truncate(size);
      end_ = size;
      ++s->stats.writes;
      if (node_) node_->dirty_lo = std::min(node_->dirty_lo, size);
      after(s, fault_op::write);
    }

    [[nodiscard]] std::uint64_t size() const {
      std::lock_guard lk(alive()->mu);
      return f_.size();
    }
    void close() {
      if (st_) {
        std::lock_guard lk(st_->mu);
        f_.close();
      }
      st_.reset();
      node_.reset();
    }
    [[nodiscard]] std::string_view path() const noexcept { return f_.path(); }

   private:
    state* alive() const {
      if (!st_) throw closed("file is closed");
      if (st_->generation != gen_) {
        throw closed("file '" + std::string(f_.path()) +
                     "': handle from before a simulated power loss");
      }
      return st_.get();
    }

    void do_write(state* s, std::optional<std::uint64_t> offset, std::string_view data) {
      std::uint64_t at = offset ? *offset : end_;
      trigger* tear = before(s, fault_op::write);
      if (tear != nullptr) {
        std::string_view part = data.substr(0, std::min(tear->keep, data.size()));
        f_.write_at(at, part);
        s->stats.bytes_written += part.size();
        if (node_) {
          // Everything in this file up to the end of the torn part reached the platter.
          std::uint64_t end = std::min<std::uint64_t>(at + part.size(), f_.size());
          std::uint64_t lo = std::min<std::uint64_t>(node_->dirty_lo, at);
          std::string& d = node_->durable;
          if (d.size() < end) d.resize(static_cast<std::size_t>(end), '\0');
          if (end > lo) {
            f_.read_at(lo, std::span<char>(d.data() + lo, static_cast<std::size_t>(end - lo)));
          }
        }
        s->down = true;
        throw io_error("fault_injection_fs: torn write to '" + std::string(f_.path()) + "' (" +
                       std::to_string(part.size()) + " of " + std::to_string(data.size()) +
                       " bytes), power lost");
      }
      f_.write_at(at, data);
      end_ = std::max(end_, at + data.size());
      ++s->stats.writes;
      s->stats.bytes_written += data.size();
      if (node_) node_->dirty_lo = std::min(node_->dirty_lo, at);
      after(s, fault_op::write);
    }

    std::shared_ptr<state> st_;
    typename Inner::file f_;
    std::shared_ptr<inode> node_;  // null for read-only opens of untracked files
    std::uint64_t gen_ = 0;
    std::uint64_t end_ = 0;  // append position: size at open plus this handle's writes
  };

  class lock_handle {
   public:
    lock_handle() = default;
    lock_handle(std::shared_ptr<state> st, std::string path)
        : st_(std::move(st)), path_(std::move(path)), gen_(st_->generation) {}
    lock_handle(lock_handle&& o) noexcept
        : st_(std::move(o.st_)), path_(std::move(o.path_)), gen_(o.gen_) {}
    lock_handle& operator=(lock_handle&& o) noexcept {
      if (this != &o) {
        release();
        st_ = std::move(o.st_);
        path_ = std::move(o.path_);
        gen_ = o.gen_;
      }
      return *this;
    }
    ~lock_handle() { release(); }
    void release() noexcept {
      if (st_) {
        std::lock_guard lk(st_->mu);
        if (st_->generation == gen_) st_->locks.erase(path_);
        st_.reset();
      }
    }

   private:
    std::shared_ptr<state> st_;
    std::string path_;
    std::uint64_t gen_ = 0;
  };

  using mapping = typename Inner::mapping;

  // ---- the file-system policy ----

  file open(const std::string& path, open_mode mode) {
    std::string p = memory_fs::normalize(path);
    std::lock_guard lk(st_->mu);
    check_up();
    bool writable = has(mode, open_mode::write);
    bool tracked = st_->names.count(p) != 0;
    bool exists_now = tracked || st_->inner.exists(p);
    bool creating = !exists_now && has(mode, open_mode::create);
    if (creating) before(st_.get(), fault_op::create);
    if (writable && exists_now && !tracked) import_locked(p);
    typename Inner::file f = st_->inner.open(p, mode);
    std::shared_ptr<inode> n;
    if (creating) {
      n = std::make_shared<inode>();
      st_->names[p] = n;
      ++st_->stats.creates;
    } else if (auto it = st_->names.find(p); it != st_->names.end()) {
      n = it->second;
      if (has(mode, open_mode::truncate)) n->dirty_lo = 0;
    }
    file result(st_, std::move(f), n);
    if (creating) after(st_.get(), fault_op::create);
    return result;
  }

  bool exists(const std::string& path) const {
    std::lock_guard lk(st_->mu);
    check_up();
    return st_->inner.exists(memory_fs::normalize(path));
  }

  std::uint64_t file_size(const std::string& path) const {
    std::lock_guard lk(st_->mu);
    check_up();
    return st_->inner.file_size(memory_fs::normalize(path));
  }

  bool remove(const std::string& path) {
    std::string p = memory_fs::normalize(path);
    std::lock_guard lk(st_->mu);
    check_up();
    if (!st_->names.count(p) && !st_->inner.exists(p)) return false;
    before(st_.get(), fault_op::remove);
    if (!st_->names.count(p)) import_locked(p);
    bool r = st_->inner.remove(p);
    st_->names.erase(p);
    ++st_->stats.removes;
    after(st_.get(), fault_op::remove);
    return r;
  }

  void rename(const std::string& from, const std::string& to) {
    std::string f = memory_fs::normalize(from), t = memory_fs::normalize(to);
    std::lock_guard lk(st_->mu);
    check_up();
    before(st_.get(), fault_op::rename);
    if (!st_->names.count(f) && st_->inner.exists(f)) import_locked(f);
    if (!st_->names.count(t) && st_->inner.exists(t)) import_locked(t);
    st_->inner.rename(f, t);
    if (f != t) {
      auto it = st_->names.find(f);
      if (it != st_->names.end()) {
        auto n = it->second;
        st_->names.erase(it);
        st_->names[t] = std::move(n);
      }
    }
    ++st_->stats.renames;
    after(st_.get(), fault_op::rename);
  }

  void create_directories(const std::string& path) {
    std::string p = memory_fs::normalize(path);
    std::lock_guard lk(st_->mu);
    check_up();
    std::size_t pos = 0;
    while (true) {
      pos = p.find('/', pos + 1);
      std::string cur = p.substr(0, pos);
      if (!cur.empty() && cur != "." && cur != "/" && !st_->names.count(cur)) {
        if (st_->inner.exists(cur)) {
          import_locked(cur);
        } else {
          before(st_.get(), fault_op::create);
          st_->inner.create_directories(cur);
          auto n = std::make_shared<inode>();
          n->is_dir = true;
          st_->names[cur] = std::move(n);
          ++st_->stats.creates;
          after(st_.get(), fault_op::create);
        }
      }
      if (pos == std::string::npos) break;
    }
  }

  bool remove_directory(const std::string& path) {
    std::string p = memory_fs::normalize(path);
    std::lock_guard lk(st_->mu);
    check_up();
    if (!st_->names.count(p) && !st_->inner.exists(p)) return false;
    before(st_.get(), fault_op::remove);
    if (!st_->names.count(p)) import_locked(p);
    bool r = st_->inner.remove_directory(p);
    st_->names.erase(p);
    ++st_->stats.removes;
    after(st_.get(), fault_op::remove);
    return r;
  }

  std::vector<std::string> list(const std::string& dir) const {
    std::lock_guard lk(st_->mu);
    check_up();
    return st_->inner.list(memory_fs::normalize(dir));
  }

  void sync_dir(const std::string& dir) {
    std::string d = memory_fs::normalize(dir);
    std::lock_guard lk(st_->mu);
    check_up();
    before(st_.get(), fault_op::sync);
    st_->inner.sync_dir(d);
    ++st_->stats.dir_syncs;
    // The durable entries of `d` become exactly its current (tracked) entries.
    std::erase_if(st_->durable_names, [&](const auto& kv) { return parent_path(kv.first) == d; });
    for (auto& [name, n] : st_->names) {
      if (parent_path(name) == d) st_->durable_names[name] = n;
    }
    after(st_.get(), fault_op::sync);
  }

  lock_handle lock(const std::string& path) {
    std::string p = memory_fs::normalize(path);
    {
      std::lock_guard lk(st_->mu);
      check_up();
      if (st_->locks.count(p) != 0) throw locked("lock '" + path + "': held by another handle");
    }
    if (!exists(p)) open(p, open_mode::write | open_mode::create);
    std::lock_guard lk(st_->mu);
    if (!st_->locks.insert(p).second) throw locked("lock '" + path + "': held by another handle");
    return lock_handle(st_, p);
  }

  mapping map(const std::string& path) const {
    std::lock_guard lk(st_->mu);
    check_up();
    return st_->inner.map(memory_fs::normalize(path));
  }

  // ---- fault control ----

  /// After the n-th (1-based) `op` from now completes, the file system goes down.
  void crash_after(fault_op op, std::uint64_t n) { arm({fault_kind::crash_after, op, n}); }

  /// The n-th `op` from now throws io_error without effect; with `sticky`, every later one too.
  void fail_nth(fault_op op, std::uint64_t n, bool sticky = false) {
    arm({fault_kind::fail, op, n, sticky});
  }

  /// The n-th write from now stores only `keep` bytes (durable), then the file system goes down.
  void tear_nth_write(std::uint64_t n, std::size_t keep) {
    arm({fault_kind::tear, fault_op::write, n, false, keep});
  }

  /// Takes the file system down now (every later call throws until simulate_power_loss()).
  void crash_now() {
    std::lock_guard lk(st_->mu);
    st_->down = true;
  }

  /// Removes every armed fault.
  void clear_faults() {
    std::lock_guard lk(st_->mu);
    st_->triggers.clear();
  }

  [[nodiscard]] bool is_down() const {
    std::lock_guard lk(st_->mu);
    return st_->down;
  }

  /// Power loss and reboot: the inner file system is rewritten to the durable image, open
  /// handles and locks die, armed faults are cleared, and the file system is up again.
  void simulate_power_loss() {
    std::lock_guard lk(st_->mu);
    state& s = *st_;
    Inner& in = s.inner;
    // 1. Drop every tracked current entry: files first, then directories deepest first.
    for (auto& [name, n] : s.names) {
      if (!n->is_dir && in.exists(name)) in.remove(name);
    }
    for (auto it = s.names.rbegin(); it != s.names.rend(); ++it) {
      if (it->second->is_dir && !s.durable_names.count(it->first) && in.exists(it->first)) {
        // Untracked leftovers cannot exist in a directory the wrapper created.
        in.remove_directory(it->first);
      }
    }
    // 2. Recreate the durable image, parents before children (a prefix sorts first). An entry
    //    whose parent directory did not survive is unreachable and dropped.
    std::map<std::string, std::shared_ptr<inode>> survivors;
    for (auto& [name, n] : s.durable_names) {
      std::string parent = parent_path(name);
      bool reachable = parent == "." || parent == "/" || survivors.count(parent) != 0 ||
                       (!s.durable_names.count(parent) && in.exists(parent));
      if (!reachable) continue;
      if (n->is_dir) {
        in.create_directories(name);
      } else {
        auto f = in.open(name, open_mode::write | open_mode::create | open_mode::truncate);
        f.append(n->durable);
        f.close();
      }
      n->dirty_lo = clean;
      survivors[name] = n;
    }
    s.names = survivors;
    s.durable_names = std::move(survivors);
    s.locks.clear();
    s.triggers.clear();
    s.down = false;
    ++s.generation;
    ++s.stats.power_losses;
  }

  /// Flips bit `bit` (0..7) of the byte at `offset` in `path`, in the current and durable image.
  void flip_bit(const std::string& path, std::uint64_t offset, int bit) {
    std::string p = memory_fs::normalize(path);
    std::lock_guard lk(st_->mu);
    check_up();
    if (!st_->names.count(p)) import_locked(p);
    auto n = st_->names.at(p);
    auto f = st_->inner.open(p, open_mode::write);
    char c = 0;
    if (f.read_at(offset, std::span<char>(&c, 1)) != 1) {
      throw invalid_argument("flip_bit '" + path + "': offset " + std::to_string(offset) +
                             " is past the end");
    }
    c = static_cast<char>(c ^ (1 << (bit & 7)));
    f.write_at(offset, std::string_view(&c, 1));
    if (offset < n->durable.size()) n->durable[static_cast<std::size_t>(offset)] = c;
  }

  [[nodiscard]] fault_stats stats() const {
    std::lock_guard lk(st_->mu);
    return st_->stats;
  }

  /// The wrapped file system (for inspecting or damaging files directly).
  Inner& inner() noexcept { return st_->inner; }

 private:
  void arm(trigger t) {
    if (t.remaining == 0) throw invalid_argument("fault_injection_fs: n must be at least 1");
    std::lock_guard lk(st_->mu);
    st_->triggers.push_back(t);
  }

  void check_up() const {
    if (st_->down) throw io_error("fault_injection_fs: simulated power loss (file system is down)");
  }

  static bool matches(fault_op armed, fault_op actual) {
    return armed == fault_op::any || armed == actual;
  }

  /// Counts the operation against armed faults: throws for `fail`, returns the trigger for a
  /// `tear`, and leaves `crash_after` for after(). Caller holds the mutex.
  static trigger* before(state* s, fault_op op) {
    if (s->down) throw io_error("fault_injection_fs: simulated power loss (file system is down)");
    trigger* tear = nullptr;
    for (auto& t : s->triggers) {
      if (!matches(t.op, op)) continue;
      if (t.fired) {
        if (t.kind == fault_kind::fail && t.sticky) {
          throw io_error("fault_injection_fs: injected I/O error (sticky)");
        }
        continue;
      }
      if (--t.remaining != 0) continue;
      if (t.kind == fault_kind::fail) {
        t.fired = true;
        throw io_error("fault_injection_fs: injected I/O error");
      }
      if (t.kind == fault_kind::tear) {
        t.fired = true;
        tear = &t;
      }
      if (t.kind == fault_kind::crash_after) t.pending = true;  // fires in after()
    }
    return tear;
  }

  /// Takes the file system down if a crash_after trigger was reached by the operation that
  /// just completed. Caller holds the mutex.
  static void after(state* s, fault_op) {
    for (auto& t : s->triggers) {
      if (t.kind == fault_kind::crash_after && t.pending && !t.fired) {
        t.fired = true;
        s->down = true;
      }
    }
  }

  /// Starts tracking an existing inner path as durable as it is.
  void import_locked(const std::string& p) {
    auto n = std::make_shared<inode>();
    try {
      (void)st_->inner.list(p);
      n->is_dir = true;
    } catch (const error&) {
      n->durable = read_file(st_->inner, p);
    }
    st_->names[p] = n;
    st_->durable_names[p] = n;
  }

  std::shared_ptr<state> st_;
};

SOCHDB_END_NAMESPACE
