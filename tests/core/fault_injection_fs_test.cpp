// What survives a simulated power loss: exactly the synced data under synced directory entries.
#include <doctest/doctest.h>

#include <sochdb/core/fault_injection_fs.hpp>

#include "test_util.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_core_fault_injection_fs_test {

using namespace sochdb;

namespace {
using fi_fs = fault_injection_fs<memory_fs>;

fi_fs make_fs() {
  fi_fs fs;
  fs.create_directories("/db");
  fs.sync_dir("/");
  return fs;
}

std::string read_all(fi_fs& fs, const std::string& p) { return read_file(fs, p); }
}  // namespace

TEST_CASE("synced data survives, unsynced data is dropped") {
  auto fs = make_fs();
  auto f = fs.open("/db/log", open_mode::write | open_mode::create);
  f.append("committed;");
  f.sync();
  fs.sync_dir("/db");
  f.append("lost;");
  f.write_at(0, "C");  // an unsynced overwrite inside synced data is lost too
  fs.simulate_power_loss();
  CHECK(read_all(fs, "/db/log") == "committed;");
}

TEST_CASE("a new file needs its directory synced to exist after a crash") {
  auto fs = make_fs();
  {
    auto f = fs.open("/db/a", open_mode::write | open_mode::create);
    f.append("data");
    f.sync();  // data durable, name not
  }
  fs.simulate_power_loss();
  CHECK_FALSE(fs.exists("/db/a"));
  CHECK(fs.list("/db").empty());
}

TEST_CASE("a durable name over unsynced data is an empty file") {
  auto fs = make_fs();
  {
    auto f = fs.open("/db/a", open_mode::write | open_mode::create);
    fs.sync_dir("/db");
    f.append("data");  // never synced
  }
  fs.simulate_power_loss();
  REQUIRE(fs.exists("/db/a"));
  CHECK(read_all(fs, "/db/a").empty());
}

TEST_CASE("rename is undone without a directory sync, kept with one") {
  auto fs = make_fs();
  write_file(fs, "/db/CURRENT", "old", /*durable=*/true);
  {
    auto f = fs.open("/db/CURRENT.tmp", open_mode::write | open_mode::create);
    f.append("new");
    f.sync();
  }
  fs.rename("/db/CURRENT.tmp", "/db/CURRENT");
  CHECK(read_all(fs, "/db/CURRENT") == "new");
  fs.simulate_power_loss();
  CHECK(read_all(fs, "/db/CURRENT") == "old");
  CHECK_FALSE(fs.exists("/db/CURRENT.tmp"));  // its name was never durable either

  write_file_atomic(fs, "/db/CURRENT", "new");  // the full protocol
  fs.simulate_power_loss();
  CHECK(read_all(fs, "/db/CURRENT") == "new");
  CHECK(fs.list("/db") == std::vector<std::string>{"CURRENT"});
}

TEST_CASE("a removed file comes back unless the removal was synced") {
  auto fs = make_fs();
  write_file(fs, "/db/old.log", "payload", true);
  CHECK(fs.remove("/db/old.log"));
  fs.simulate_power_loss();
  CHECK(read_all(fs, "/db/old.log") == "payload");
  CHECK(fs.remove("/db/old.log"));
  fs.sync_dir("/db");
  fs.simulate_power_loss();
  CHECK_FALSE(fs.exists("/db/old.log"));
}

TEST_CASE("files in a directory that was never made durable disappear with it") {
  fi_fs fs;
  fs.create_directories("/new/dir");
  write_file(fs, "/new/dir/f", "x", true);  // file and /new/dir synced, /new and / not
  fs.simulate_power_loss();
  CHECK_FALSE(fs.exists("/new"));

  fs.create_directories("/new/dir");
  fs.sync_dir("/");
  fs.sync_dir("/new");
  write_file(fs, "/new/dir/f", "x", true);
  fs.simulate_power_loss();
  CHECK(read_all(fs, "/new/dir/f") == "x");
}

TEST_CASE("crash_after(write, n): the n-th write lands, then everything fails") {
  auto fs = make_fs();
  auto f = fs.open("/db/log", open_mode::write | open_mode::create);
  fs.sync_dir("/db");
  fs.crash_after(fault_op::write, 2);
  f.append("1");
  f.append("2");  // completes, then power is gone
  CHECK(fs.is_down());
  CHECK_THROWS_AS(f.append("3"), io_error);
  CHECK_THROWS_AS(f.sync(), io_error);
  CHECK_THROWS_AS(fs.exists("/db/log"), io_error);
  fs.simulate_power_loss();
  CHECK_FALSE(fs.is_down());
  CHECK(read_all(fs, "/db/log").empty());  // nothing was synced
  // Handles from before the crash are dead; locks are released.
  CHECK_THROWS_AS(f.append("4"), closed);
}

TEST_CASE("crash_after(sync, n): the synced bytes are durable") {
  auto fs = make_fs();
  auto f = fs.open("/db/log", open_mode::write | open_mode::create);
  fs.sync_dir("/db");  // not counted: armed afterwards
  fs.crash_after(fault_op::sync, 1);
  f.append("abc");
  f.sync();
  CHECK(fs.is_down());
  fs.simulate_power_loss();
  CHECK(read_all(fs, "/db/log") == "abc");
}

TEST_CASE("fail_nth injects an error without effect; sticky keeps failing") {
  auto fs = make_fs();
  auto f = fs.open("/db/log", open_mode::write | open_mode::create);
  fs.fail_nth(fault_op::write, 2);
  f.append("a");
  CHECK_THROWS_AS(f.append("b"), io_error);
  f.append("c");
  CHECK(read_all(fs, "/db/log") == "ac");
  CHECK_FALSE(fs.is_down());

  fs.fail_nth(fault_op::sync, 1, /*sticky=*/true);
  CHECK_THROWS_AS(f.sync(), io_error);
  CHECK_THROWS_AS(f.sync(), io_error);
  CHECK_THROWS_AS(fs.sync_dir("/db"), io_error);
  fs.clear_faults();
  CHECK_NOTHROW(f.sync());

  fs.fail_nth(fault_op::rename, 1);
  CHECK_THROWS_AS(fs.rename("/db/log", "/db/log2"), io_error);
  CHECK(fs.exists("/db/log"));
}

TEST_CASE("tear_nth_write keeps a prefix of the write on stable storage") {
  auto fs = make_fs();
  auto f = fs.open("/db/log", open_mode::write | open_mode::create);
  fs.sync_dir("/db");
  f.append("record-1;");
  f.sync();
  fs.tear_nth_write(1, 4);
  CHECK_THROWS_AS(f.append("record-2;"), io_error);
  CHECK(fs.is_down());
  fs.simulate_power_loss();
  CHECK(read_all(fs, "/db/log") == "record-1;reco");
}

TEST_CASE("flip_bit damages current and durable images alike") {
  auto fs = make_fs();
  write_file(fs, "/db/sst", "ABCD", true);
  fs.flip_bit("/db/sst", 1, 0);
  CHECK(read_all(fs, "/db/sst") == "ACCD");
  fs.simulate_power_loss();
  CHECK(read_all(fs, "/db/sst") == "ACCD");
  CHECK_THROWS_AS(fs.flip_bit("/db/sst", 10, 0), invalid_argument);
}

TEST_CASE("stats count the operations") {
  auto fs = make_fs();
  auto before = fs.stats();
  write_file(fs, "/db/a", "12345", true);
  auto s = fs.stats();
  CHECK(s.writes == before.writes + 1);
  CHECK(s.bytes_written == before.bytes_written + 5);
  CHECK(s.file_syncs == before.file_syncs + 1);
  CHECK(s.dir_syncs == before.dir_syncs + 1);
  CHECK(s.creates == before.creates + 1);
}

TEST_CASE("over posix_fs the real directory is rewritten to the durable image") {
  sochdb_test::temp_dir dir("sochdb-fi_fs");
  // A file that existed before the wrapper is durable as it is.
  { std::ofstream(dir / "pre") << "pre-existing"; }
  fault_injection_fs<posix_fs> fs;
  {
    auto f = fs.open(dir / "pre", open_mode::write);
    f.append("+unsynced");
  }
  write_file(fs, dir / "new", "synced", true);
  write_file(fs, dir / "volatile", "never synced");
  fs.simulate_power_loss();
  auto slurp = [](const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  CHECK(slurp(dir / "pre") == "pre-existing");
  CHECK(slurp(dir / "new") == "synced");
  CHECK_FALSE(std::filesystem::exists(dir / "volatile"));
}

TEST_CASE("concurrent writers through one fault_injection_fs" *
          doctest::test_suite("concurrency")) {
  auto fs = make_fs();
  auto worker = [&](const std::string& name) {
    auto f = fs.open(name, open_mode::write | open_mode::create);
    for (int i = 0; i < 500; ++i) {
      f.append("x");
      if (i % 50 == 0) f.sync();
    }
    f.sync();
  };
  std::thread t1(worker, "/db/t1"), t2(worker, "/db/t2");
  t1.join();
  t2.join();
  fs.sync_dir("/db");
  fs.simulate_power_loss();
  CHECK(read_all(fs, "/db/t1") == std::string(500, 'x'));
  CHECK(read_all(fs, "/db/t2") == std::string(500, 'x'));
}

}  // namespace test_core_fault_injection_fs_test
