// quickstart — the demo the README runs. It grows as the engines land: today the durable
// key-value store (atomic batches, prefix scans, TTL, crash-safe commits) and TOON, the format
// sochdb hands data to language models in, with its token savings over JSON.
//
// Works in ./sochdb-demo (or the directory given as the first argument) and can be run again:
// each run reopens the database, sees what the previous run left, and updates it.
#include <sochdb/sochdb.hpp>

#include <chrono>
#include <cstdio>
#include <string>

namespace {

struct doc {
  const char* id;
  const char* title;
  const char* topic;
  int year;
};

constexpr doc corpus[] = {
    {"doc:001", "Write-ahead logging and group commit", "storage", 1992},
    {"doc:002", "Log-structured merge trees", "storage", 1996},
    {"doc:003", "Serializable snapshot isolation", "transactions", 2008},
    {"doc:004", "Hierarchical navigable small world graphs", "vectors", 2016},
    {"doc:005", "DiskANN: billion-point search on one node", "vectors", 2019},
    {"doc:006", "Okapi BM25 and probabilistic relevance", "search", 1994},
    {"doc:007", "Reciprocal rank fusion", "search", 2009},
    {"doc:008", "Token-oriented object notation", "llm", 2025},
};

}  // namespace

int main(int argc, char** argv) {
  using namespace sochdb;
  std::string dir = argc > 1 ? argv[1] : "sochdb-demo";
  try {
    std::printf("sochdb %s quickstart in %s\n", version_string, dir.c_str());

    // 1. Open (or create) the database. Defaults: files on disk, every commit fsynced
    //    before put() returns, recovery from the write-ahead log on open.
    auto db = database::open(dir);
    auto runs = db.get("demo:runs");
    int run = runs ? std::stoi(*runs) + 1 : 1;
    db.put("demo:runs", std::to_string(run));
    if (run == 1) {
      std::printf("\n[kv] run #1: a new database\n");
    } else {
      std::printf("\n[kv] run #%d: the run counter survived the %d earlier run(s)\n", run, run - 1);
    }

    // 2. An atomic batch: all eight documents become visible together, or none do.
    std::vector<std::string> values;
    for (const doc& d : corpus) {
      values.push_back(
          toon::value{{"title", d.title}, {"topic", d.topic}, {"year", d.year}}.dump());
    }
    std::vector<std::pair<std::string_view, std::string_view>> batch;
    for (std::size_t i = 0; i < values.size(); ++i) batch.emplace_back(corpus[i].id, values[i]);
    db.put_batch(batch);
    db.put("session:scratch", "expires soon", std::chrono::seconds(30));  // TTL
    std::printf("[kv] batch of %zu documents committed atomically\n", batch.size());

    // 3. A streaming prefix scan, in key order, collected as rows.
    toon::value rows = toon::value::array();
    for (auto [key, value] : db.scan_prefix("doc:")) {
      toon::value row = toon::value::parse(value);
      rows.push_back({{"id", std::string(key)},
                      {"title", row["title"]},
                      {"topic", row["topic"]},
                      {"year", row["year"]}});
    }
    std::printf("[kv] scan_prefix(\"doc:\") -> %zu rows\n", rows.size());

    // 4. Hand the rows to a model: TOON declares the fields once.
    toon::value result = {{"documents", rows}};
    std::string as_toon = toon::encode(result);
    std::string as_json = result.dump();
    approx_token_counter tokens;
    std::printf("\n[toon] the scan as TOON:\n%s\n", as_toon.c_str());
    std::size_t t_toon = tokens.count(as_toon), t_json = tokens.count(as_json);
    std::printf("\n[toon] ~%zu tokens as TOON vs ~%zu as compact JSON (%.0f%% fewer)\n", t_toon,
                t_json, 100.0 * (1.0 - static_cast<double>(t_toon) / static_cast<double>(t_json)));
    if (toon::decode(as_toon) != result) throw corruption("TOON round trip failed");

    auto s = db.stats();
    std::printf("\n[stats] %llu commits this session in %llu group commits, %llu fsyncs\n",
                static_cast<unsigned long long>(s.commits),
                static_cast<unsigned long long>(s.commit_groups),
                static_cast<unsigned long long>(s.storage.wal_syncs));
    db.close();
    std::printf("\ndone. Run it again: the data is still there.\n");
    return 0;
  } catch (const error& e) {
    std::fprintf(stderr, "quickstart: %s\n", e.what());
    return 1;
  }
}
