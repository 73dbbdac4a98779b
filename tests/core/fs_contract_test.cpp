// One contract, every file-system policy: the rules written in sochdb/core/fs.hpp.
#include <doctest/doctest.h>

#include <sochdb/core/fault_injection_fs.hpp>
#include <sochdb/core/fs.hpp>
#include <sochdb/core/memory_fs.hpp>

#include "test_util.hpp"

#include <string>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_core_fs_contract_test {

using namespace sochdb;

namespace {
struct posix_env {
  sochdb_test::temp_dir dir{"sochdb-fs"};
  posix_fs fs;
  std::string root() const { return dir.path(); }
};
template <class Fs>
struct memory_env {
  Fs fs;
  memory_env() { fs.create_directories("/root"); }
  std::string root() const { return "/root"; }
};
struct fault_posix_env {
  sochdb_test::temp_dir dir{"sochdb-ffs"};
  fault_injection_fs<posix_fs> fs;
  std::string root() const { return dir.path(); }
};
using mem_env = memory_env<memory_fs>;
using fault_mem_env = memory_env<fault_injection_fs<memory_fs>>;

std::string read(auto& f, std::uint64_t off, std::size_t n) {
  std::string s(n, '\0');
  s.resize(f.read_at(off, std::span<char>(s.data(), s.size())));
  return s;
}
}  // namespace

TEST_CASE_TEMPLATE("fs contract: create, write, read, append, size", Env, posix_env, mem_env,
                   fault_mem_env, fault_posix_env) {
  Env env;
  auto& fs = env.fs;
  std::string p = path_join(env.root(), "a.dat");
  CHECK_FALSE(fs.exists(p));
  {
    auto f = fs.open(p, open_mode::write | open_mode::create);
    f.append("hello");
    f.append(" world");
    CHECK(f.size() == 11);
    f.write_at(0, "J");
    f.sync();
    CHECK(read(f, 0, 100) == "Jello world");  // short read at end of file
    CHECK(read(f, 6, 5) == "world");
    CHECK(read(f, 11, 5).empty());
    CHECK(read(f, 1000, 5).empty());
    f.write_at(15, "x");  // a hole reads as zeros
    CHECK(read(f, 11, 5) == std::string("\0\0\0\0x", 5));
    f.truncate(5);
    CHECK(f.size() == 5);
    f.append("!");  // append follows the truncation
    CHECK(read(f, 0, 10) == "Jello!");
    f.close();
  }
  CHECK(fs.exists(p));
  CHECK(fs.file_size(p) == 6);
  CHECK(read_file(fs, p) == "Jello!");
  {
    auto f = fs.open(p, open_mode::write);  // reopen: append continues at the end
    f.append("?");
  }
  CHECK(read_file(fs, p) == "Jello!?");
  {
    auto f = fs.open(p, open_mode::write | open_mode::truncate);
    CHECK(f.size() == 0);
  }
}

TEST_CASE_TEMPLATE("fs contract: missing paths and modes", Env, posix_env, mem_env, fault_mem_env,
                   fault_posix_env) {
  Env env;
  auto& fs = env.fs;
  std::string p = path_join(env.root(), "f");
  CHECK_THROWS_AS(fs.open(p, open_mode::read), not_found);
  CHECK_THROWS_AS(fs.file_size(p), not_found);
  CHECK_THROWS_AS(fs.rename(p, p + "2"), not_found);
  CHECK_FALSE(fs.remove(p));
  CHECK_THROWS_AS(fs.open(path_join(env.root(), "nodir/f"), open_mode::write | open_mode::create),
                  not_found);
  CHECK_THROWS_AS(fs.list(path_join(env.root(), "nodir")), not_found);
  CHECK_THROWS_AS(fs.open(p, open_mode::create), invalid_argument);  // create needs write
  write_file(fs, p, "x");
  CHECK_THROWS_AS(fs.open(p, open_mode::write | open_mode::create | open_mode::exclusive),
                  already_exists);
  auto ro = fs.open(p, open_mode::read);
  CHECK_THROWS_AS(ro.append("y"), io_error);
  CHECK(fs.remove(p));
  CHECK_FALSE(fs.exists(p));
}

TEST_CASE_TEMPLATE("fs contract: directories, listing, rename", Env, posix_env, mem_env,
                   fault_mem_env, fault_posix_env) {
  Env env;
  auto& fs = env.fs;
  std::string d = path_join(env.root(), "x/y/z");
  fs.create_directories(d);
  fs.create_directories(d);  // idempotent
  CHECK(fs.exists(d));
  write_file(fs, path_join(d, "b"), "B");
  write_file(fs, path_join(d, "a"), "A");
  fs.create_directories(path_join(d, "sub"));
  CHECK(fs.list(d) == std::vector<std::string>{"a", "b", "sub"});
  fs.sync_dir(d);

  fs.rename(path_join(d, "a"), path_join(d, "b"));  // replaces b
  CHECK(fs.list(d) == std::vector<std::string>{"b", "sub"});
  CHECK(read_file(fs, path_join(d, "b")) == "A");

  CHECK_THROWS_AS(fs.remove_directory(d), io_error);  // not empty
  CHECK(fs.remove_directory(path_join(d, "sub")));
  CHECK_FALSE(fs.remove_directory(path_join(d, "sub")));
  CHECK(fs.remove(path_join(d, "b")));
  CHECK(fs.list(d).empty());

  write_file_atomic(fs, path_join(d, "CURRENT"), "MANIFEST-1\n");
  write_file_atomic(fs, path_join(d, "CURRENT"), "MANIFEST-2\n");
  CHECK(read_file(fs, path_join(d, "CURRENT")) == "MANIFEST-2\n");
  CHECK(fs.list(d) == std::vector<std::string>{"CURRENT"});
}

TEST_CASE_TEMPLATE("fs contract: exclusive locks", Env, posix_env, mem_env, fault_mem_env,
                   fault_posix_env) {
  Env env;
  auto& fs = env.fs;
  std::string p = path_join(env.root(), "LOCK");
  {
    auto l = fs.lock(p);
    CHECK(fs.exists(p));
    CHECK_THROWS_AS(fs.lock(p), locked);
    auto moved = std::move(l);  // moving keeps the lock
    CHECK_THROWS_AS(fs.lock(p), locked);
  }
  auto again = fs.lock(p);  // released on destruction
  CHECK_NOTHROW(again.release());
  CHECK_NOTHROW(fs.lock(p));
}

TEST_CASE_TEMPLATE("fs contract: map reads the whole file", Env, posix_env, mem_env, fault_mem_env,
                   fault_posix_env) {
  Env env;
  auto& fs = env.fs;
  std::string p = path_join(env.root(), "m");
  std::string data(100000, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31);
  write_file(fs, p, data);
  auto m = fs.map(p);
  REQUIRE(m.size() == data.size());
  CHECK(std::string_view(m.data(), m.size()) == data);
  write_file(fs, path_join(env.root(), "empty"), "");
  CHECK(fs.map(path_join(env.root(), "empty")).size() == 0);
  CHECK_THROWS_AS(fs.map(path_join(env.root(), "nope")), not_found);
}

TEST_CASE("path helpers") {
  CHECK(path_join("a", "b") == "a/b");
  CHECK(path_join("a/", "/b") == "a/b");
  CHECK(path_join("", "b") == "b");
  CHECK(parent_path("a/b/c") == "a/b");
  CHECK(parent_path("/c") == "/");
  CHECK(parent_path("c") == ".");
  CHECK(file_name("a/b/c") == "c");
  CHECK(memory_fs::normalize("a//b/./c/") == "a/b/c");
  CHECK(memory_fs::normalize("/") == "/");
  CHECK(memory_fs::normalize("./") == ".");
}

}  // namespace test_core_fs_contract_test
