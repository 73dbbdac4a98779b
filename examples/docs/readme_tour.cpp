// The code of README.md's "short tour of the API", compiled and run in CI.
#include <sochdb/sochdb.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

static void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "readme_tour: failed: %s\n", what);
    std::exit(1);
  }
}

int main() {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "sochdb-readme-tour";
  std::filesystem::remove_all(dir);
  {
    auto db = sochdb::database::open(dir.string());  // files on disk; every commit fsynced
    db.put("user:1", "Alice");
    std::optional<std::string> v = db.get("user:1");       // "Alice"
    db.put_batch({{"user:2", "Bob"}, {"user:3", "Eve"}});  // atomic: all or nothing
    int n = 0;
    for (auto [key, value] : db.scan_prefix("user:")) {  // streams, in key order
      (void)key, (void)value;
      ++n;
    }
    expect(v == "Alice" && n == 3, "kv");
  }

  namespace toon = sochdb::toon;
  toon::value rows = toon::value::parse(R"([{"id":1,"name":"Ada"},{"id":2,"name":"Bob"}])");
  std::string text = toon::encode(toon::value{{"users", rows}});  // users[2]{id,name}: ...
  std::size_t tokens = sochdb::approx_token_counter{}.count(text);
  expect(text.rfind("users[2]{id,name}:", 0) == 0 && tokens > 0, "toon");

  sochdb::bm25_index idx;
  idx.add(1, "write-ahead logging and group commit");
  auto hits = idx.search("group commit", 10);
  expect(hits.size() == 1 && hits[0].id == 1, "bm25");

  std::vector<float> a = {1, 2, 3, 4}, b = {1, 2, 3, 6};
  sochdb::simd::l2<> l2;                                // kernels for the running CPU, chosen once
  float d = l2.distance(a.data(), b.data(), a.size());  // squared L2
  expect(d == 4.0f, "l2");
  std::printf("readme tour ok (isa %s)\n", std::string(l2.isa_name()).c_str());
  std::filesystem::remove_all(dir);
  return 0;
}
