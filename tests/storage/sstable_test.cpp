// SSTable pieces: blocks (prefix compression, restart points, both directions), the bloom
// filter (false-positive rate), compression policies, whole tables through every policy, the
// manifest codec, and corruption: every damaged block is reported with the file and offset
// while intact blocks keep working.
#include <doctest/doctest.h>

#include <sochdb/storage.hpp>

#include "test_util.hpp"

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_storage_sstable_test {

using namespace sochdb;

namespace {

using lz4_reader = sst_reader<memory_fs, lz4>;

std::string ikey(const std::string& uk, std::uint64_t ts, value_kind k = value_kind::value) {
  return make_internal_key(uk, ts, k);
}

std::string key_of(int i) {
  char b[32];
  std::snprintf(b, sizeof b, "key%08d", i);
  return b;
}

// (internal key, value) pairs in order: n user keys, some with two versions.
std::vector<std::pair<std::string, std::string>> sorted_entries(int n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::pair<std::string, std::string>> out;
  for (int i = 0; i < n; ++i) {
    std::string uk = key_of(i * 3);
    int versions = 1 + static_cast<int>(rng() % 2);
    for (int v = versions; v >= 1; --v) {
      auto kind = rng() % 10 == 0 ? value_kind::deletion : value_kind::value;
      std::string val = kind == value_kind::deletion ? "" : std::string(rng() % 50, 'a' + v) + uk;
      out.emplace_back(ikey(uk, static_cast<std::uint64_t>(100 + v), kind), val);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("block: round trip, seeks and both directions") {
  auto entries = sorted_entries(500, 1);
  for (int interval : {1, 4, 16}) {
    block_builder bb(interval);
    for (auto& [k, v] : entries) bb.add(k, v);
    block_contents b;
    b.owned.assign(bb.finish());
    b.data = b.owned;
    sst_error_context ctx{"test block"};
    b.parse_restarts(ctx);
    block_iter it;
    it.init(&b, &ctx);
    std::size_t i = 0;
    for (it.seek_to_first(); it.valid(); it.next(), ++i) {
      REQUIRE(i < entries.size());
      CHECK(it.key() == entries[i].first);
      CHECK(it.value() == entries[i].second);
    }
    CHECK(i == entries.size());
    i = entries.size();
    for (it.seek_to_last(); it.valid(); it.prev()) {
      --i;
      CHECK(it.key() == entries[i].first);
    }
    CHECK(i == 0);
    // seek / seek_before to every key and to keys between.
    for (std::size_t j = 0; j < entries.size(); j += 7) {
      it.seek(entries[j].first);
      REQUIRE(it.valid());
      CHECK(it.key() == entries[j].first);
      it.seek_before(entries[j].first);
      if (j == 0) {
        CHECK_FALSE(it.valid());
      } else {
        REQUIRE(it.valid());
        CHECK(it.key() == entries[j - 1].first);
      }
    }
    it.seek(ikey("zzz", 1));
    CHECK_FALSE(it.valid());
    it.seek_before(ikey("zzz", 1));
    REQUIRE(it.valid());
    CHECK(it.key() == entries.back().first);
    it.seek(ikey("a", 1));
    REQUIRE(it.valid());
    CHECK(it.key() == entries.front().first);
  }
}

TEST_CASE("block: malformed bytes throw corruption with an offset, never crash") {
  std::mt19937_64 rng(3);
  auto entries = sorted_entries(60, 2);
  block_builder bb(4);
  for (auto& [k, v] : entries) bb.add(k, v);
  std::string good(bb.finish());
  int errors = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::string bad = good;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bad[rng() % bad.size()] ^= static_cast<char>(1 << (rng() % 8));
    if (rng() % 5 == 0) bad.resize(rng() % bad.size());
    block_contents b;
    b.owned = bad;
    b.data = b.owned;
    b.file_offset = 1000;
    sst_error_context ctx{"sstable 000042.sst"};
    try {
      b.parse_restarts(ctx);
      block_iter it;
      it.init(&b, &ctx);
      int n = 0;
      for (it.seek_to_first(); it.valid() && n < 10000; it.next()) ++n;
      for (it.seek_to_last(); it.valid() && n < 20000; it.prev()) ++n;
      it.seek(entries[rng() % entries.size()].first);
      it.seek_before(entries[rng() % entries.size()].first);
    } catch (const corruption& e) {
      ++errors;
      std::string msg = e.what();
      CHECK_MESSAGE(msg.find("sstable 000042.sst") != std::string::npos, msg);
      CHECK_MESSAGE(msg.find("at offset ") != std::string::npos, msg);
    }
  }
  CHECK(errors > 0);
}

TEST_CASE("bloom: no false negatives and about 1% false positives at 10 bits per key") {
  bloom_builder bb(10);
  const int n = 100000;
  for (int i = 0; i < n; ++i) bb.add_hash(bloom_hash(key_of(i)));
  std::string blk;
  bb.finish(blk);
  CHECK(blk.size() == (n * 10 + 511) / 512 * 64 + 6);
  const char* err = nullptr;
  auto v = bloom_view::parse(blk, err);
  REQUIRE(err == nullptr);
  for (int i = 0; i < n; ++i) REQUIRE(v.may_contain(bloom_hash(key_of(i))));
  int fp = 0;
  const int probes = 200000;
  for (int i = 0; i < probes; ++i) fp += v.may_contain(bloom_hash("absent" + std::to_string(i)));
  double rate = static_cast<double>(fp) / probes;
  MESSAGE("bloom false-positive rate at 10 bits/key: " << rate);
  CHECK(rate < 0.02);
  CHECK(rate > 0.002);
  // Damaged headers are refused.
  std::string bad = blk;
  bad[bad.size() - 1] = 9;
  bloom_view::parse(bad, err);
  CHECK(err != nullptr);
  bad = blk.substr(0, 3);
  bloom_view::parse(bad, err);
  CHECK(err != nullptr);
}

TEST_CASE_TEMPLATE("compression policies: round trip and incompressible data", C, no_compression,
                   lz4, zstd) {
  C c{compression_options{}};
  std::string text;
  for (int i = 0; i < 200; ++i) text += "the quick brown fox " + std::to_string(i % 7) + "; ";
  std::string out;
  bool ok = c.compress(text, out);
  if constexpr (C::id == 0) {
    CHECK_FALSE(ok);
  } else {
    REQUIRE(ok);
    CHECK(out.size() < text.size() / 2);
    std::string back(text.size(), '\0');
    CHECK(c.decompress(out, back.data(), back.size()));
    CHECK(back == text);
    CHECK(decompress_builtin(C::id, out, back.data(), back.size(), nullptr));
    // Wrong size or damaged input: false, never a crash.
    CHECK_FALSE(c.decompress(out, back.data(), back.size() - 1));
    std::string damaged = out;
    damaged.resize(damaged.size() / 2);
    CHECK_FALSE(c.decompress(damaged, back.data(), back.size()));
  }
  std::mt19937_64 rng(5);
  std::string noise = sochdb_test::random_bytes(rng, 4096);
  out.clear();
  CHECK_FALSE(c.compress(noise, out));  // not worth it: stored raw
  CHECK(out.empty());
}

TEST_CASE("zstd: levels and a trained dictionary") {
  std::vector<std::string> samples;
  std::mt19937_64 rng(9);
  for (int i = 0; i < 2000; ++i) {
    samples.push_back("{\"user\":\"u" + std::to_string(rng() % 1000) +
                      "\",\"role\":\"member\",\"plan\":\"" + (rng() % 2 ? "free" : "pro") +
                      "\",\"country\":\"" + std::to_string(rng() % 50) + "\"}");
  }
  std::string dict = zstd_train_dictionary(samples, 4096);
  CHECK_FALSE(dict.empty());
  zstd plain{compression_options{.level = 19}};
  zstd with_dict{compression_options{.level = 3, .dictionary = dict}};
  std::string block;
  for (int i = 0; i < 8; ++i) block += samples[static_cast<std::size_t>(i)];
  std::string a, b;
  REQUIRE(with_dict.compress(block, b));
  bool pa = plain.compress(block, a);
  if (pa) CHECK(b.size() < a.size());
  std::string back(block.size(), '\0');
  CHECK(with_dict.decompress(b, back.data(), back.size()));
  CHECK(back == block);
  zstd_decoder_dictionary dd(dict);
  CHECK(decompress_builtin(zstd::id, b, back.data(), back.size(), &dd));
  CHECK_THROWS_AS(zstd(compression_options{.level = 1000}), invalid_argument);
  std::vector<std::string> few{"a", "b"};
  CHECK_THROWS_AS(zstd_train_dictionary(few, 1024), invalid_argument);
}

namespace {
template <class C>
void table_round_trip(const compression_options& copt) {
  memory_fs fs;
  fs.create_directories("/t");
  auto entries = sorted_entries(3000, 11);
  sst_builder<memory_fs, C> b(fs, "/t/000007.sst", sst_options{.block_size = 1024}, copt);
  for (auto& [k, v] : entries) b.add(k, v);
  std::uint64_t size = b.finish();
  CHECK(size == fs.file_size("/t/000007.sst"));
  block_cache cache(1 << 20);
  for (bool mmap : {false, true}) {
    typename sst_reader<memory_fs, C>::open_args a;
    a.number = 7;
    a.cache = &cache;
    a.use_mmap = mmap;
    auto r = sst_reader<memory_fs, C>::open(fs, "/t/000007.sst", "sstable 000007.sst", a);
    CHECK(r->properties().entries == entries.size());
    CHECK(r->properties().smallest == entries.front().first);
    CHECK(r->properties().largest == entries.back().first);
    CHECK(r->properties().compression == std::string(C::name));
    CHECK(r->block_count() > 10);
    // Full scans both ways.
    sst_iterator<sst_reader<memory_fs, C>> it(r.get());
    std::size_t i = 0;
    for (it.seek_to_first(); it.valid(); it.next(), ++i) {
      REQUIRE(it.key() == entries[i].first);
      REQUIRE(it.value() == entries[i].second);
    }
    CHECK(i == entries.size());
    for (it.seek_to_last(); it.valid(); it.prev()) REQUIRE(it.key() == entries[--i].first);
    CHECK(i == 0);
    // Point reads at snapshots.
    std::string out;
    for (std::size_t j = 0; j < entries.size(); j += 13) {
      std::string uk(user_key_of(entries[j].first));
      std::uint64_t ts = timestamp_of(entries[j].first);
      auto st = r->get(lookup_key(uk, ts), uk, bloom_hash(uk), 0, out);
      if (kind_of(entries[j].first) == value_kind::deletion) {
        CHECK(st == lookup_state::deleted);
      } else {
        REQUIRE(st == lookup_state::found);
        CHECK(out == entries[j].second);
      }
      CHECK(r->get(lookup_key(uk, 50), uk, bloom_hash(uk), 0, out) == lookup_state::absent);
      CHECK(r->newest_ts(uk, bloom_hash(uk)) >= ts);
    }
    // Absent keys: mostly rejected by the filter.
    for (int j = 0; j < 300; ++j) {
      std::string uk = key_of(j * 3 + 1);
      CHECK(r->get(lookup_key(uk, 1000), uk, bloom_hash(uk), 0, out) == lookup_state::absent);
    }
    // A sequential (readahead) iterator sees the same.
    sst_iterator<sst_reader<memory_fs, C>> seq(r.get(), {}, true);
    i = 0;
    for (seq.seek_to_first(); seq.valid(); seq.next()) REQUIRE(seq.key() == entries[i++].first);
    CHECK(i == entries.size());
  }
  CHECK(cache.stats().hits > 0);
}
}  // namespace

TEST_CASE("sstable: round trip through every compression policy, pread and mmap") {
  table_round_trip<no_compression>({});
  table_round_trip<lz4>({});
  table_round_trip<lz4>({.level = 9});
  table_round_trip<zstd>({.level = 1});
  std::vector<std::string> samples;
  for (int i = 0; i < 3000; ++i) samples.push_back(std::string(30, 'a' + i % 3) + key_of(i));
  table_round_trip<zstd>({.level = 3, .dictionary = zstd_train_dictionary(samples, 2048)});
}

TEST_CASE("block cache: capacity, counters, and a second chance for blocks that were hit") {
  auto blk = [](std::size_t n) {
    auto b = std::make_shared<block_contents>();
    b->owned.assign(n, 'x');
    b->data = b->owned;
    return block_ptr(std::move(b));
  };
  const std::size_t charge = 1000 + block_cache::entry_overhead;
  block_cache cache(8 * charge, 0);  // one shard: room for exactly 8 blocks of 1000 bytes
  for (std::uint64_t off = 0; off < 8; ++off) cache.insert(1, off, blk(1000));
  CHECK(cache.stats().entries == 8);
  CHECK(cache.stats().usage == 8 * charge);
  // Blocks 0 and 1 are the oldest, but were read: inserting two more evicts 2 and 3.
  CHECK(cache.lookup(1, 0) != nullptr);
  CHECK(cache.lookup(1, 1) != nullptr);
  cache.insert(1, 8, blk(1000));
  cache.insert(1, 9, blk(1000));
  CHECK(cache.lookup(1, 0) != nullptr);
  CHECK(cache.lookup(1, 1) != nullptr);
  CHECK(cache.lookup(1, 2) == nullptr);
  CHECK(cache.lookup(1, 3) == nullptr);
  for (std::uint64_t off = 4; off < 10; ++off) CHECK(cache.lookup(1, off) != nullptr);
  auto st = cache.stats();
  CHECK(st.entries == 8);
  CHECK(st.usage <= st.capacity);
  CHECK(st.evictions == 2);
  CHECK(st.hits == 10);
  CHECK(st.misses == 2);
  // When every block was hit, each gets its second chance once; eviction still makes room.
  for (std::uint64_t off = 10; off < 30; ++off) cache.insert(2, off, blk(1000));
  CHECK(cache.stats().entries == 8);
  CHECK(cache.stats().usage <= cache.stats().capacity);
  // A block larger than the shard is not cached; an evicted block a reader holds stays valid.
  auto held = cache.lookup(2, 29);
  REQUIRE(held != nullptr);
  cache.insert(3, 0, blk(9 * charge));
  CHECK(cache.lookup(3, 0) == nullptr);
  for (std::uint64_t off = 0; off < 20; ++off) cache.insert(4, off, blk(1000));
  CHECK(held->data.size() == 1000);
}

void check_index_search(const std::string& pfx) {
  // User keys that stress the 8-byte prefixes: shorter than 8 bytes, embedded NUL and 0xff
  // bytes, and long runs that share their first 8 bytes; once as they are, once all behind a
  // prefix every key of the file shares (the prefixes are then taken after it).
  std::mt19937_64 rng(29);
  std::set<std::string> users;
  const std::string alphabet("\0\x01a\x7f\xfe\xff", 6);
  while (users.size() < 4000) {
    std::string k(static_cast<std::size_t>(rng() % 12), '\0');
    for (auto& c : k) c = alphabet[rng() % alphabet.size()];
    if (rng() % 3 == 0) k = "sharedpfx" + k;  // ties on the prefix
    users.insert(pfx + k);
  }
  users.erase(pfx);
  std::vector<std::pair<std::string, std::string>> entries;
  for (auto& u : users) entries.emplace_back(ikey(u, 100), "v" + u);
  memory_fs fs;
  fs.create_directories("/t");
  // Small blocks: many of them, so the index search has work to do.
  sst_builder<memory_fs, lz4> b(fs, "/t/000009.sst", sst_options{.block_size = 256}, {});
  for (auto& [k, v] : entries) b.add(k, v);
  b.finish();
  lz4_reader::open_args a;
  a.number = 9;
  auto r = lz4_reader::open(fs, "/t/000009.sst", "sstable 000009.sst", a);
  REQUIRE(r->block_count() > 100);
  auto reference = [&](std::string_view target) {  // a plain binary search over the index keys
    std::size_t lo = 0, hi = r->block_count();
    while (lo < hi) {
      std::size_t mid = lo + (hi - lo) / 2;
      if (compare_internal_keys(r->index_key(mid), target) < 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  };
  std::string out;
  for (auto& u : users) {
    for (std::uint64_t ts : {std::uint64_t{50}, std::uint64_t{100}, max_timestamp}) {
      std::string t = lookup_key(u, ts);
      REQUIRE(r->find_block(t) == reference(t));
    }
    REQUIRE(r->get(lookup_key(u, 100), u, bloom_hash(u), 0, out) == lookup_state::found);
    CHECK(out == "v" + u);
  }
  for (int i = 0; i < 2000; ++i) {  // absent keys land where full comparisons put them
    std::string k(static_cast<std::size_t>(rng() % 14), '\0');
    for (auto& c : k) c = alphabet[rng() % alphabet.size()];
    if (i % 2 == 0) k = pfx.substr(0, static_cast<std::size_t>(rng() % (pfx.size() + 1))) + k;
    std::string t = lookup_key(k, 100);
    REQUIRE(r->find_block(t) == reference(t));
  }
  for (std::string k : {"", "a", "tenant/", "tenant/0000", "tenant/0000:", "tenant/0001",
                        "tenant/0000;", "zzz", "\xff\xff"}) {  // around the shared prefix
    std::string t = lookup_key(k, 100);
    REQUIRE(r->find_block(t) == reference(t));
  }
}

TEST_CASE("sstable: the index search by key prefix agrees with full key comparisons") {
  SUBCASE("keys as they are") { check_index_search(""); }
  SUBCASE("behind a prefix every key shares") { check_index_search("tenant/0000:"); }
}

TEST_CASE("sstable: a damaged block fails only the reads that touch it, naming file and offset") {
  memory_fs fs;
  fs.create_directories("/t");
  auto entries = sorted_entries(2000, 13);
  sst_builder<memory_fs, lz4> b(fs, "/t/000009.sst", sst_options{.block_size = 512}, {});
  for (auto& [k, v] : entries) b.add(k, v);
  b.finish();
  std::string bytes = read_file(fs, "/t/000009.sst");
  typename sst_reader<memory_fs, lz4>::open_args a;
  a.number = 9;
  auto clean = sst_reader<memory_fs, lz4>::open(fs, "/t/000009.sst", "sstable 000009.sst", a);
  REQUIRE(clean->block_count() > 20);
  // Damage one byte inside data block 5.
  block_handle h = clean->handle(5);
  bytes[static_cast<std::size_t>(h.offset + h.size / 2)] ^= 0x20;
  write_file(fs, "/t/000009.sst", bytes);
  auto r = sst_reader<memory_fs, lz4>::open(fs, "/t/000009.sst", "sstable 000009.sst", a);
  std::string out;
  int bad = 0, good = 0;
  for (auto& [k, v] : entries) {
    std::string uk(user_key_of(k));
    try {
      r->get(lookup_key(uk, max_timestamp), uk, bloom_hash(uk), 0, out);
      ++good;
    } catch (const corruption& e) {
      std::string msg = e.what();
      CHECK_MESSAGE(msg.find("sstable 000009.sst") != std::string::npos, msg);
      CHECK_MESSAGE(msg.find("at offset " + std::to_string(h.offset)) != std::string::npos, msg);
      ++bad;
    }
  }
  CHECK(bad > 0);
  CHECK(good > bad * 10);
  // Footer damage: the whole file is refused, naming it.
  std::string foot = read_file(fs, "/t/000009.sst");
  foot[foot.size() - 20] ^= 1;
  write_file(fs, "/t/000009.sst", foot);
  try {
    sst_reader<memory_fs, lz4>::open(fs, "/t/000009.sst", "sstable 000009.sst", a);
    FAIL("opened a file with a damaged footer");
  } catch (const corruption& e) {
    CHECK(std::string(e.what()).find("sstable 000009.sst: footer checksum mismatch at offset") !=
          std::string::npos);
  }
  // Truncated files and arbitrary garbage.
  write_file(fs, "/t/000009.sst", foot.substr(0, 30));
  CHECK_THROWS_AS(lz4_reader::open(fs, "/t/000009.sst", "x", a), corruption);
}

TEST_CASE("sstable: every single-bit flip is detected or harmless") {
  memory_fs fs;
  fs.create_directories("/t");
  auto entries = sorted_entries(150, 17);
  {
    sst_builder<memory_fs, lz4> b(fs, "/t/1.sst", sst_options{.block_size = 256}, {});
    for (auto& [k, v] : entries) b.add(k, v);
    b.finish();
  }
  std::string good = read_file(fs, "/t/1.sst");
  std::mt19937_64 rng(21);
  int detected = 0;
  for (int trial = 0; trial < 400; ++trial) {
    std::string bad = good;
    std::size_t off = rng() % bad.size();
    bad[off] ^= static_cast<char>(1 << (rng() % 8));
    write_file(fs, "/t/1.sst", bad);
    typename sst_reader<memory_fs, lz4>::open_args a;
    try {
      auto r = sst_reader<memory_fs, lz4>::open(fs, "/t/1.sst", "sstable 1.sst", a);
      sst_iterator<sst_reader<memory_fs, lz4>> it(r.get());
      std::size_t i = 0;
      for (it.seek_to_first(); it.valid(); it.next(), ++i) {
        // Whatever is returned must be exactly what was written.
        REQUIRE(i < entries.size());
        REQUIRE(it.key() == entries[i].first);
        REQUIRE(it.value() == entries[i].second);
      }
    } catch (const corruption&) {
      ++detected;
    } catch (const unsupported&) {
      ++detected;  // the version field or a compression type byte was hit
    }
  }
  CHECK(detected > 300);
}

TEST_CASE("manifest: edits round trip; a torn tail is ignored; damage elsewhere is reported") {
  version_edit e;
  e.log_number = 7;
  e.next_file = 12;
  e.flushed_ts = 99;
  e.deleted.emplace_back(1, 4);
  e.added.push_back({2, 11, 4096, 100, 5, 90, ikey("a", 5), ikey("m", 90)});
  e.compact_pointers.emplace_back(1, ikey("k", 3));
  std::string enc;
  e.encode_to(enc);
  auto d = version_edit::decode(enc, "m", 0);
  CHECK(d.log_number == e.log_number);
  CHECK(d.flushed_ts == e.flushed_ts);
  CHECK(d.deleted == e.deleted);
  CHECK(d.added == e.added);
  CHECK(d.compact_pointers == e.compact_pointers);

  manifest_state st;
  version_edit first;
  first.added.push_back({1, 4, 100, 1, 1, 1, ikey("a", 1), ikey("b", 1)});
  std::string file;
  append_manifest_header(file, 3);
  append_manifest_record(file, first);
  append_manifest_record(file, e);
  auto res = decode_manifest(file, "manifest MANIFEST-000003", 3);
  CHECK(res.records == 2);
  CHECK_FALSE(res.torn_tail);
  CHECK(res.state.log_number == 7);
  CHECK(res.state.flushed_ts == 99);
  CHECK(res.state.levels[1].empty());
  CHECK(res.state.levels[2].size() == 1);
  // Every truncation inside the last record is a torn tail, never an error.
  std::size_t second = file.size();
  append_manifest_record(file, first);
  for (std::size_t cut = second + 1; cut < file.size(); ++cut) {
    auto r = decode_manifest(std::string_view(file).substr(0, cut), "m", 3);
    CHECK(r.torn_tail);
    CHECK(r.records == 2);
  }
  // A flipped bit in the middle record is corruption with its offset.
  std::string bad = file;
  bad[manifest_header_size + 30] ^= 4;
  try {
    decode_manifest(bad, "manifest MANIFEST-000003", 3);
    FAIL("accepted a damaged record");
  } catch (const corruption& ex) {
    CHECK(std::string(ex.what()).find("manifest MANIFEST-000003: ") == 0);
    CHECK(std::string(ex.what()).find("at offset") != std::string::npos);
  }
  CHECK_THROWS_AS(decode_manifest(file, "m", 4), corruption);  // header names another number
  CHECK(parse_current_file("MANIFEST-000012\n") == 12u);
  CHECK_FALSE(parse_current_file("MANIFEST-12"));
  CHECK_FALSE(parse_current_file("MANIFEST-x\n"));
}

}  // namespace test_storage_sstable_test
