// sochdb/core/fs.hpp — the file-system policy and `posix_fs`.
//
// All storage I/O goes through a file-system policy so tests can swap the disk for memory or for
// a disk that loses power on command (memory_fs.hpp, fault_injection_fs.hpp). A policy is a
// value type: copies refer to the same file system (posix_fs has no state; memory_fs and
// fault_injection_fs share theirs), so a test can close a database and reopen it on "the same
// disk" by passing a copy.
//
// The contract, written on `posix_fs` below and checked for every model by one shared test
// (tests/core/fs_contract_test.cpp):
//   * Paths are '/'-separated strings. A file's parent directory must exist to create it.
//   * `open` returns a movable handle; `read_at` returns fewer bytes than asked only at end of
//     file; `write_at` / `append` write everything or throw `io_error`.
//   * Durability: file data is durable only after the handle's `sync()`; a directory entry
//     (created, removed or renamed name) is durable only after `sync_dir()` of its directory.
//     Callers that need a new file to survive a crash sync the file, then its directory.
//   * `rename` atomically replaces the target.
//   * Missing files and directories raise `not_found`; other failures `io_error` naming the
//     path and the operating-system message.
//   * `lock(path)` takes an exclusive, non-blocking lock (creating the file); a second lock of
//     the same path, from this or another process, throws `locked` until the first handle is
//     destroyed.
//   * `map(path)` gives read-only access to a whole file's bytes (mmap for posix_fs); the
//     mapping must not be used after the file is modified.
//
// Thread safety: a policy object may be used from many threads; one handle from one thread at a
// time unless its own documentation says more (posix_fs handles: concurrent read_at is fine).
#pragma once

#include <sochdb/core/error.hpp>

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

SOCHDB_BEGIN_NAMESPACE

/// How a file is opened; combine with |.
enum class open_mode : unsigned {
  read = 1,        ///< reading only
  write = 2,       ///< reading and writing
  create = 4,      ///< create when missing (needs write)
  truncate = 8,    ///< drop existing contents (needs write)
  exclusive = 16,  ///< with create: fail with already_exists if the file exists
};
constexpr open_mode operator|(open_mode a, open_mode b) noexcept {
  return static_cast<open_mode>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
constexpr bool has(open_mode m, open_mode bit) noexcept {
  return (static_cast<unsigned>(m) & static_cast<unsigned>(bit)) != 0;
}

/// A file handle of a file-system policy.
template <class F>
concept file_handle = std::movable<F> &&
    requires(F& f, const F& cf, std::uint64_t off, std::span<char> out, std::string_view data) {
  { cf.read_at(off, out) } -> std::same_as<std::size_t>;
  { f.write_at(off, data) } -> std::same_as<void>;
  { f.append(data) } -> std::same_as<void>;  // at the end of the file as this handle knows it
  { f.sync() } -> std::same_as<void>;
  { f.truncate(off) } -> std::same_as<void>;
  { cf.size() } -> std::same_as<std::uint64_t>;
  { f.close() } -> std::same_as<void>;
  { cf.path() } -> std::convertible_to<std::string_view>;
};

/// A read-only view of a whole file.
template <class M>
concept file_mapping = std::movable<M> && requires(const M& m) {
  { m.data() } -> std::same_as<const char*>;
  { m.size() } -> std::same_as<std::size_t>;
};

/// A file-system policy.
template <class Fs>
concept file_system = std::copy_constructible<Fs> &&
    requires(Fs& fs, const std::string& p, open_mode mode) {
  typename Fs::file;
  typename Fs::lock_handle;
  typename Fs::mapping;
  requires file_handle<typename Fs::file>;
  requires file_mapping<typename Fs::mapping>;
  requires std::movable<typename Fs::lock_handle>;
  { fs.open(p, mode) } -> std::same_as<typename Fs::file>;
  { fs.exists(p) } -> std::same_as<bool>;
  { fs.file_size(p) } -> std::same_as<std::uint64_t>;
  { fs.remove(p) } -> std::same_as<bool>;  // false when nothing was there
  { fs.rename(p, p) } -> std::same_as<void>;
  { fs.create_directories(p) } -> std::same_as<void>;
  { fs.remove_directory(p) } -> std::same_as<bool>;          // must be empty
  { fs.list(p) } -> std::same_as<std::vector<std::string>>;  // sorted names, no . or ..
  { fs.sync_dir(p) } -> std::same_as<void>;
  { fs.lock(p) } -> std::same_as<typename Fs::lock_handle>;
  { fs.map(p) } -> std::same_as<typename Fs::mapping>;
};

// ---- path helpers ----

/// `a/b`, with exactly one separator.
inline std::string path_join(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  std::string s(a);
  if (s.back() != '/') s += '/';
  while (!b.empty() && b.front() == '/') b.remove_prefix(1);
  s += b;
  return s;
}

/// The directory part of a path ("." for a bare name, "/" for a file in the root).
inline std::string parent_path(std::string_view p) {
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  auto pos = p.rfind('/');
  if (pos == std::string_view::npos) return ".";
  if (pos == 0) return "/";
  return std::string(p.substr(0, pos));
}

/// The last component of a path.
inline std::string file_name(std::string_view p) {
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  auto pos = p.rfind('/');
  return std::string(pos == std::string_view::npos ? p : p.substr(pos + 1));
}

/// Reads a whole file.
template <file_system Fs>
std::string read_file(Fs& fs, const std::string& path) {
  auto f = fs.open(path, open_mode::read);
  std::string out(static_cast<std::size_t>(f.size()), '\0');
  std::size_t n = f.read_at(0, std::span<char>(out.data(), out.size()));
  out.resize(n);
  return out;
}

/// Writes a whole file (create or truncate); with `durable`, syncs it and its directory.
template <file_system Fs>
void write_file(Fs& fs, const std::string& path, std::string_view data, bool durable = false) {
  auto f = fs.open(path, open_mode::write | open_mode::create | open_mode::truncate);
  f.append(data);
  if (durable) {
    f.sync();
    f.close();
    fs.sync_dir(parent_path(path));
  }
}

/// Writes `data` to `path` so that after a crash the path holds either the old or the new
/// contents: write a temporary, sync it, rename over the target, sync the directory.
template <file_system Fs>
void write_file_atomic(Fs& fs, const std::string& path, std::string_view data) {
  std::string tmp = path + ".tmp";
  {
    auto f = fs.open(tmp, open_mode::write | open_mode::create | open_mode::truncate);
    f.append(data);
    f.sync();
    f.close();
  }
  fs.rename(tmp, path);
  fs.sync_dir(parent_path(path));
}

namespace detail {
[[noreturn]] inline void throw_sys(const std::string& what, const std::string& path, int err) {
  std::string msg = what + " '" + path + "': " + std::strerror(err);
  if (err == ENOENT || err == ENOTDIR) throw not_found(msg);
  if (err == EEXIST) throw already_exists(msg);
  throw io_error(msg, err);
}
}  // namespace detail

/// The operating system's file system (POSIX calls: pread/pwrite, fdatasync, rename, flock,
/// mmap). Stateless; copies are interchangeable.
class posix_fs {
 public:
  class file {
   public:
    file() = default;
    file(int fd, std::string path, std::uint64_t size)
        : fd_(fd), path_(std::move(path)), end_(size) {}
    file(file&& o) noexcept
        : fd_(std::exchange(o.fd_, -1)), path_(std::move(o.path_)), end_(o.end_) {}
    file& operator=(file&& o) noexcept {
      if (this != &o) {
        close_quietly();
        fd_ = std::exchange(o.fd_, -1);
        path_ = std::move(o.path_);
        end_ = o.end_;
      }
      return *this;
    }
    ~file() { close_quietly(); }

    /// Reads up to out.size() bytes at `offset`; fewer only at end of file.
    std::size_t read_at(std::uint64_t offset, std::span<char> out) const {
      std::size_t done = 0;
      while (done < out.size()) {
        ssize_t n =
            ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
        if (n < 0) {
          if (errno == EINTR) continue;
          detail::throw_sys("read", path_, errno);
        }
        if (n == 0) break;
        done += static_cast<std::size_t>(n);
      }
      return done;
    }

    void write_at(std::uint64_t offset, std::string_view data) {
      std::size_t done = 0;
      while (done < data.size()) {
        ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done,
                             static_cast<off_t>(offset + done));
        if (n < 0) {
          if (errno == EINTR) continue;
          detail::throw_sys("write", path_, errno);
        }
        done += static_cast<std::size_t>(n);
      }
      end_ = std::max(end_, offset + data.size());
    }

    /// Writes at the end of the file as this handle knows it (its size at open plus its own
    /// writes). One appender per file.
    void append(std::string_view data) { write_at(end_, data); }

    void sync() {
      if (::fdatasync(fd_) != 0) detail::throw_sys("sync", path_, errno);
    }

    void truncate(std::uint64_t size) {
      if (::ftruncate(fd_, static_cast<off_t>(size)) != 0)
        detail::throw_sys("truncate", path_, errno);
      end_ = size;
    }

    [[nodiscard]] std::uint64_t size() const {
      struct stat st {};
      if (::fstat(fd_, &st) != 0) detail::throw_sys("stat", path_, errno);
      return static_cast<std::uint64_t>(st.st_size);
    }

    void close() {
      if (fd_ >= 0) {
        int fd = std::exchange(fd_, -1);
        if (::close(fd) != 0) detail::throw_sys("close", path_, errno);
      }
    }

    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    [[nodiscard]] bool is_open() const noexcept { return fd_ >= 0; }

   private:
    void close_quietly() noexcept {
      if (fd_ >= 0) ::close(std::exchange(fd_, -1));
    }
    int fd_ = -1;
    std::string path_;
    std::uint64_t end_ = 0;
  };

  /// An flock()ed file; the lock is released when the handle is destroyed.
  class lock_handle {
   public:
    lock_handle() = default;
    explicit lock_handle(int fd) : fd_(fd) {}
    lock_handle(lock_handle&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    lock_handle& operator=(lock_handle&& o) noexcept {
      if (this != &o) {
        release();
        fd_ = std::exchange(o.fd_, -1);
      }
      return *this;
    }
    ~lock_handle() { release(); }
    void release() noexcept {
      if (fd_ >= 0) ::close(std::exchange(fd_, -1));  // closing drops the flock
    }

   private:
    int fd_ = -1;
  };

  /// A read-only mmap of a whole file.
  class mapping {
   public:
    mapping() = default;
    mapping(const char* data, std::size_t size) : data_(data), size_(size) {}
    mapping(mapping&& o) noexcept
        : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
    mapping& operator=(mapping&& o) noexcept {
      if (this != &o) {
        unmap();
        data_ = std::exchange(o.data_, nullptr);
        size_ = std::exchange(o.size_, 0);
      }
      return *this;
    }
    ~mapping() { unmap(); }
    [[nodiscard]] const char* data() const noexcept { return data_; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }

   private:
    void unmap() noexcept {
      if (data_ != nullptr && size_ != 0) ::munmap(const_cast<char*>(data_), size_);
      data_ = nullptr;
      size_ = 0;
    }
    const char* data_ = nullptr;
    std::size_t size_ = 0;
  };

  file open(const std::string& path, open_mode mode) const {
    int flags = O_CLOEXEC;
    flags |= has(mode, open_mode::write) ? O_RDWR : O_RDONLY;
    if (has(mode, open_mode::create)) flags |= O_CREAT;
    if (has(mode, open_mode::truncate)) flags |= O_TRUNC;
    if (has(mode, open_mode::exclusive)) flags |= O_EXCL;
    if ((has(mode, open_mode::create) || has(mode, open_mode::truncate)) &&
        !has(mode, open_mode::write)) {
      throw invalid_argument("open '" + path + "': create/truncate need write mode");
    }
    int fd;
    do {
      fd = ::open(path.c_str(), flags, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) detail::throw_sys("open", path, errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      int e = errno;
      ::close(fd);
      detail::throw_sys("stat", path, e);
    }
    if (S_ISDIR(st.st_mode)) {
      ::close(fd);
      throw io_error("open '" + path + "': is a directory", EISDIR);
    }
    return file(fd, path, static_cast<std::uint64_t>(st.st_size));
  }

  bool exists(const std::string& path) const {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
  }

  std::uint64_t file_size(const std::string& path) const {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) detail::throw_sys("stat", path, errno);
    return static_cast<std::uint64_t>(st.st_size);
  }

  bool remove(const std::string& path) const {
    if (::unlink(path.c_str()) == 0) return true;
    if (errno == ENOENT) return false;
    detail::throw_sys("remove", path, errno);
  }

  void rename(const std::string& from, const std::string& to) const {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      detail::throw_sys("rename", from + "' to '" + to, errno);
    }
  }

  void create_directories(const std::string& path) const {
    if (path.empty()) return;
    std::string cur;
    std::size_t pos = 0;
    while (pos != std::string::npos) {
      pos = path.find('/', pos + 1);
      cur = path.substr(0, pos);
      if (cur.empty()) continue;
      if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) {
        detail::throw_sys("mkdir", cur, errno);
      }
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) detail::throw_sys("mkdir", path, errno);
    if (!S_ISDIR(st.st_mode)) throw io_error("mkdir '" + path + "': not a directory", ENOTDIR);
  }

  bool remove_directory(const std::string& path) const {
    if (::rmdir(path.c_str()) == 0) return true;
    if (errno == ENOENT) return false;
    detail::throw_sys("rmdir", path, errno);
  }

  std::vector<std::string> list(const std::string& dir) const {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) detail::throw_sys("list", dir, errno);
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      std::string_view n = e->d_name;
      if (n != "." && n != "..") names.emplace_back(n);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
  }

  void sync_dir(const std::string& dir) const {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) detail::throw_sys("open directory", dir, errno);
    int rc = ::fsync(fd);
    int e = errno;
    ::close(fd);
    if (rc != 0) detail::throw_sys("sync directory", dir, e);
  }

  lock_handle lock(const std::string& path) const {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) detail::throw_sys("open lock file", path, errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int e = errno;
      ::close(fd);
      if (e == EWOULDBLOCK) {
        throw locked("lock '" + path + "': held by another process or handle");
      }
      detail::throw_sys("lock", path, e);
    }
    return lock_handle(fd);
  }

  mapping map(const std::string& path) const {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) detail::throw_sys("open", path, errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      int e = errno;
      ::close(fd);
      detail::throw_sys("stat", path, e);
    }
    auto size = static_cast<std::size_t>(st.st_size);
    if (size == 0) {
      ::close(fd);
      return {};
    }
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    int e = errno;
    ::close(fd);  // the mapping keeps the file referenced
    if (p == MAP_FAILED) detail::throw_sys("mmap", path, e);
    return mapping(static_cast<const char*>(p), size);
  }
};

static_assert(file_system<posix_fs>);

SOCHDB_END_NAMESPACE
