// WAL format and wal_storage recovery: round trips, damage detection, torn tails, corruption in
// the middle, skip_corrupt_records, checkpoints, the lock, verification.
#include <doctest/doctest.h>

#include <sochdb/storage.hpp>

#include <string>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_storage_wal_test {

using namespace sochdb;

namespace {
using fi_fs = fault_injection_fs<memory_fs>;
using wal_fi = wal_storage<fi_fs>;

template <class S>
void commit(S& s, const write_batch& b) {
  std::uint64_t ts = s.last_commit_ts() + 1;
  commit_entry e{&b, ts, ts};
  s.apply(std::span<const commit_entry>(&e, 1));
}

storage_options no_bg(storage_options o = {}) {
  o.auto_checkpoint = false;
  return o;
}

std::string get(const auto& s, std::string_view k) {
  std::string v;
  return s.get(k, max_timestamp, 0, v) ? v : std::string("<none>");
}

// Fills /db with n single-put commits k0..k{n-1}; returns the segment's size after each commit.
std::vector<std::uint64_t> fill(fi_fs& fs, int n) {
  auto s = wal_fi::open(fs, "/db", no_bg());
  std::vector<std::uint64_t> ends;
  for (int i = 0; i < n; ++i) {
    commit(*s, write_batch().put("k" + std::to_string(i), "value-" + std::to_string(i)));
    ends.push_back(fs.file_size("/db/000001.log"));
  }
  s->close();
  return ends;
}
}  // namespace

TEST_CASE("wal format: a transaction round-trips record by record") {
  write_batch b;
  b.put("key", "value").del(std::string("\x00\xff", 2)).put("t", "", 99);
  std::string buf;
  append_wal_file_header(buf, wal_magic, 3);
  append_wal_transaction(buf, 77, 1234, b);
  std::uint64_t seg = 0;
  REQUIRE(check_wal_file_header(buf, wal_magic, &seg) == nullptr);
  CHECK(seg == 3);
  CHECK(check_wal_file_header(buf, checkpoint_magic, nullptr) != nullptr);
  std::size_t pos = wal_file_header_size;
  std::vector<wal_record> recs;
  wal_record r;
  while (decode_wal_record(buf, pos, r) == wal_decode_status::ok) {
    recs.push_back(r);
    pos += r.size;
  }
  CHECK(pos == buf.size());
  REQUIRE(recs.size() == 5);
  CHECK(recs[0].type == wal_record_type::begin_txn);
  CHECK(recs[1].type == wal_record_type::put);
  CHECK(recs[1].key == "key");
  CHECK(recs[1].value == "value");
  CHECK(recs[2].type == wal_record_type::del);
  CHECK(recs[2].key == std::string("\x00\xff", 2));
  CHECK(recs[3].expiry_ms == 99);
  CHECK(recs[3].value.empty());
  CHECK(recs[4].type == wal_record_type::commit_txn);
  CHECK(recs[4].ts == 1234);
  for (auto& x : recs) CHECK(x.txn_id == 77);
  CHECK(decode_wal_record(buf, buf.size(), r) == wal_decode_status::end);
  CHECK(decode_wal_record(buf.substr(0, buf.size() - 1), pos - recs[4].size, r) ==
        wal_decode_status::truncated);
}

TEST_CASE("wal format: every single-bit flip in a record is detected") {
  std::string buf;
  append_wal_put(buf, 5, "some-key", "some-value", 0);
  wal_record r;
  REQUIRE(decode_wal_record(buf, 0, r) == wal_decode_status::ok);
  for (std::size_t i = 0; i < buf.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string d = buf;
      d[i] = static_cast<char>(d[i] ^ (1 << bit));
      CHECK(decode_wal_record(d, 0, r) != wal_decode_status::ok);
    }
  }
}

TEST_CASE("wal_storage: commits, deletes, TTL and batches survive reopen; stats") {
  fi_fs fs;
  {
    auto s = wal_fi::open(fs, "/db", no_bg());
    commit(*s, write_batch().put("a", "1").put("b", "2"));
    commit(*s, write_batch().del("a").put("c", "3", 1ull << 62));
    auto st = s->stats();
    CHECK(st.commits == 2);
    CHECK(st.wal_syncs >= 2);
    CHECK(st.wal_segments == 1);
    CHECK(st.wal_bytes > wal_file_header_size);
  }
  auto s = wal_fi::open(fs, "/db", no_bg());
  CHECK(get(*s, "a") == "<none>");
  CHECK(get(*s, "b") == "2");
  CHECK(get(*s, "c") == "3");
  auto rec = s->stats().recovery;
  CHECK(rec.transactions == 2);
  CHECK(rec.records == 8);  // 2 x (BEGIN, COMMIT) + 4 operations
  CHECK(rec.truncated_bytes == 0);
  CHECK(rec.last_commit_ts == 2);
  CHECK(s->last_commit_ts() == 2);
}

TEST_CASE("wal_storage: a second open of the same directory is refused") {
  fi_fs fs;
  auto s = wal_fi::open(fs, "/db", no_bg());
  CHECK_THROWS_AS(wal_fi::open(fs, "/db", no_bg()), locked);
  s->close();
  CHECK_NOTHROW(wal_fi::open(fs, "/db", no_bg()));
  CHECK_THROWS_AS(wal_fi::open(fs, "/missing", no_bg({.create_if_missing = false})), not_found);
  CHECK_THROWS_AS(wal_fi::open(fs, "/db", no_bg({.error_if_exists = true})), already_exists);
}

TEST_CASE("wal_storage: uncommitted and aborted transactions are ignored") {
  fi_fs fs;
  fill(fs, 2);
  {
    auto f = fs.open("/db/000001.log", open_mode::write);
    std::string tail;
    append_wal_record(tail, wal_record_type::begin_txn, 900);
    append_wal_put(tail, 900, "aborted", "x", 0);
    append_wal_record(tail, wal_record_type::abort_txn, 900);
    append_wal_record(tail, wal_record_type::begin_txn, 901);
    append_wal_put(tail, 901, "unfinished", "x", 0);
    f.append(tail);
    f.sync();
  }
  auto s = wal_fi::open(fs, "/db", no_bg());
  CHECK(get(*s, "k1") == "value-1");
  CHECK(get(*s, "aborted") == "<none>");
  CHECK(get(*s, "unfinished") == "<none>");
  CHECK(s->stats().recovery.discarded_transactions == 2);
}

TEST_CASE("wal_storage: a torn last write is truncated at every tear point") {
  fi_fs base;
  auto ends = fill(base, 3);  // learn the record boundaries
  std::uint64_t last_len = ends[2] - ends[1];
  for (std::size_t keep = 0; keep < last_len; ++keep) {
    fi_fs fs;
    {
      auto s = wal_fi::open(fs, "/db", no_bg());
      commit(*s, write_batch().put("k0", "value-0"));
      commit(*s, write_batch().put("k1", "value-1"));
      fs.tear_nth_write(1, keep);
      CHECK_THROWS_AS(commit(*s, write_batch().put("k2", "value-2")), io_error);
      CHECK_THROWS_AS(commit(*s, write_batch().put("k3", "x")), io_error);  // failed state
    }
    fs.simulate_power_loss();
    auto s = wal_fi::open(fs, "/db", no_bg());
    CHECK(get(*s, "k0") == "value-0");
    CHECK(get(*s, "k1") == "value-1");
    CHECK(get(*s, "k2") == "<none>");
    // Whole records before the tear stay (a BEGIN without COMMIT is discarded); the partial
    // one is cut off.
    auto rec = s->stats().recovery;
    CHECK(rec.truncated_bytes <= keep);
    CHECK(rec.tail_truncations == (rec.truncated_bytes > 0 ? 1u : 0u));
    CHECK(rec.discarded_transactions == (keep >= wal_record_header_size ? 1u : 0u));
    // Writing goes on after the truncated tail, and the next open is clean.
    commit(*s, write_batch().put("k9", "after"));
    s->close();
    auto again = wal_fi::open(fs, "/db", no_bg());
    CHECK(get(*again, "k9") == "after");
    CHECK(again->stats().recovery.truncated_bytes == 0);
    CHECK(verify_wal_directory(fs, "/db").ok);
  }
}

TEST_CASE("wal_storage: a bit flip in the last record is a tail; in any earlier one, corruption") {
  fi_fs base;
  auto ends = fill(base, 4);
  std::uint64_t starts[4] = {wal_file_header_size, ends[0], ends[1], ends[2]};
  for (int rec = 0; rec < 4; ++rec) {
    // Flip a byte in the middle of commit `rec` (its PUT record's payload); for the last commit,
    // in its last record (COMMIT_TXN), the last record of the log.
    std::uint64_t off = rec == 3 ? ends[rec] - 5 : starts[rec] + (ends[rec] - starts[rec]) / 2;
    fi_fs fs;
    fill(fs, 4);
    fs.flip_bit("/db/000001.log", off, 3);
    auto rep = verify_wal_directory(fs, "/db");
    CHECK_FALSE(rep.ok);
    CHECK(rep.file == "wal segment 000001.log");
    CHECK(rep.offset >= starts[rec]);
    CHECK(rep.offset <= off);
    if (rec == 3) {
      auto s = wal_fi::open(fs, "/db", no_bg());
      CHECK(get(*s, "k2") == "value-2");
      CHECK(get(*s, "k3") == "<none>");
      CHECK(s->stats().recovery.tail_truncations == 1);
      continue;
    }
    try {
      wal_fi::open(fs, "/db", no_bg());
      FAIL("damage in the middle must not open");
    } catch (const corruption& e) {
      std::string msg = e.what();
      CHECK(msg.find("wal segment 000001.log") != std::string::npos);
      CHECK(msg.find("at offset " + std::to_string(rep.offset)) != std::string::npos);
    }
    // Opting in skips the damaged transaction and keeps the rest.
    auto s = wal_fi::open(fs, "/db", no_bg({.skip_corrupt_records = true}));
    for (int i = 0; i < 4; ++i) {
      CHECK(get(*s, "k" + std::to_string(i)) ==
            (i == rec ? std::string("<none>") : "value-" + std::to_string(i)));
    }
    CHECK(s->stats().recovery.skipped_corrupt == 1);
  }
}

TEST_CASE("wal_storage: segments roll, checkpoints delete what they cover, reopen is exact") {
  fi_fs fs;
  std::map<std::string, std::string> model;
  {
    auto s = wal_fi::open(fs, "/db", no_bg({.wal_segment_size = 4096}));
    for (int i = 0; i < 400; ++i) {
      std::string k = "key" + std::to_string(i % 97);
      std::string v(50, static_cast<char>('a' + i % 26));
      commit(*s, write_batch().put(k, v));
      model[k] = v;
    }
    CHECK(s->stats().wal_segments > 3);
    s->checkpoint();
    auto st = s->stats();
    CHECK(st.wal_segments == 1);
    CHECK(st.checkpoint_bytes > 0);
    CHECK(st.checkpoints == 1);
    commit(*s, write_batch().del("key1").put("new", "x"));
    model.erase("key1");
    model["new"] = "x";
  }
  auto s = wal_fi::open(fs, "/db", no_bg({.wal_segment_size = 4096}));
  auto rec = s->stats().recovery;
  CHECK(rec.checkpoint_entries == 97);
  CHECK(rec.transactions == 1);
  std::size_t n = 0;
  for (auto c = s->scan(scan_spec{}); c.valid(); c.next(), ++n) {
    REQUIRE(model.count(std::string(c.key())) == 1);
    CHECK(model[std::string(c.key())] == c.value());
  }
  CHECK(n == model.size());
  CHECK(verify_wal_directory(fs, "/db").ok);
}

TEST_CASE("wal_storage: a damaged checkpoint file is corruption naming file and offset") {
  fi_fs fs;
  {
    auto s = wal_fi::open(fs, "/db", no_bg());
    for (int i = 0; i < 20; ++i) commit(*s, write_batch().put("k" + std::to_string(i), "v"));
    s->checkpoint();
  }
  auto names = fs.list("/db");
  std::string ckpt;
  for (auto& n : names) {
    if (n.ends_with(".ckpt")) ckpt = n;
  }
  REQUIRE(!ckpt.empty());
  fs.flip_bit("/db/" + ckpt, 100, 0);
  auto rep = verify_wal_directory(fs, "/db");
  CHECK_FALSE(rep.ok);
  CHECK(rep.file == "checkpoint " + ckpt);
  try {
    wal_fi::open(fs, "/db", no_bg());
    FAIL("must not open");
  } catch (const corruption& e) {
    CHECK(std::string(e.what()).find("checkpoint " + ckpt) != std::string::npos);
  }
}

TEST_CASE("wal_storage: automatic checkpoints bound the WAL and the memtable") {
  fi_fs fs;
  auto s = wal_fi::open(fs, "/db",
                        storage_options{.wal_segment_size = 16384, .memtable_size = 64 * 1024});
  std::uint64_t horizon_calls = 0;
  s->set_snapshot_horizon([&] {
    ++horizon_calls;
    return s->last_commit_ts();
  });
  for (int i = 0; i < 20000; ++i) {
    commit(*s, write_batch().put("k" + std::to_string(i % 50), std::string(40, 'x')));
  }
  for (int i = 0; i < 200 && s->stats().checkpoints == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto st = s->stats();
  CHECK(st.checkpoints >= 1);
  CHECK(st.gc_dropped_versions > 0);
  CHECK(st.memtable_entries < 20000);
  s->close();
  auto again = wal_fi::open(fs, "/db", no_bg());
  for (int k = 0; k < 50; ++k) CHECK(get(*again, "k" + std::to_string(k)) == std::string(40, 'x'));
}

TEST_CASE("wal_storage: hostile bytes cannot make the resync search run away") {
  // Every 4th byte starts a plausible 64 KiB record: without a budget the search would hash
  // ~16 GB. With it, the search gives up quickly and recovery refuses to call it a tail.
  std::string junk;
  for (int i = 0; i < (1 << 20); ++i) junk += std::string("\x01\x00\x01\x00", 4);
  auto rs = find_next_valid_record(junk, 0);
  CHECK(rs.gave_up);
  fi_fs fs;
  fill(fs, 2);
  {
    auto f = fs.open("/db/000001.log", open_mode::write);
    f.append(junk);
    f.sync();
  }
  CHECK_THROWS_AS(wal_fi::open(fs, "/db", no_bg()), corruption);
  auto s = wal_fi::open(fs, "/db", no_bg({.skip_corrupt_records = true}));
  CHECK(get(*s, "k1") == "value-1");
}

}  // namespace test_storage_wal_test
