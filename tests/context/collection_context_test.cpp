// Search sections over a real collection (db/collection.hpp) through collection_search:
// keyword search for text queries, vector search for embeddings, in every format and budget.
#include <doctest/doctest.h>

#include <sochdb/context.hpp>
#include <sochdb/db.hpp>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_context_collection_context_test {

using namespace sochdb;

namespace {
using mem_db = basic_database<wal_storage<memory_fs>>;
}

TEST_CASE("context: search sections over a collection") {
  memory_fs fs;
  auto db = mem_db::open("/db", {.sync = sync_mode::off}, fs);
  auto ns = db.create_namespace("kb");
  auto docs = ns.create_collection({.name = "articles", .dimension = 2, .hybrid = true});
  const char* texts[] = {"refunds are paid within fourteen days", "shipping takes three days",
                         "batteries carry a two year warranty",
                         "refund requests need the order id"};
  for (int i = 0; i < 4; ++i) {
    docs.insert({.id = "a" + std::to_string(i),
                 .vectors = {{static_cast<float>(i), 1.f}},
                 .metadata = {{"title", texts[i]}, {"n", i}},
                 .text = texts[i]});
  }
  auto b = context_builder(db);
  b.format(context_format::json)
      .with_search("articles", collection_search(docs))
      .set_var("q", "days")
      .set_var("emb", context_value::array({3.0, 1.0}))
      .section("BY_TEXT", 0)
      .search("articles", "$q", 5)
      .done()
      .section("BY_VECTOR", 1)
      .search("articles", "$emb", 1)
      .done();
  auto r = b.execute();
  auto j = context_value::parse(r.text);
  REQUIRE(j["BY_TEXT"].size() == 2);
  for (auto& h : j["BY_TEXT"]) {
    CHECK(h["title"].get<std::string>().find("days") != std::string::npos);
    CHECK(h["score"].get<double>() > 0);
  }
  REQUIRE(j["BY_VECTOR"].size() == 1);
  CHECK(j["BY_VECTOR"][0]["id"] == "a3");
  CHECK(j["BY_VECTOR"][0]["n"] == 3);
  for (std::size_t budget : {20, 40, 80, 400}) {
    auto t = context_builder(db)
                 .with_budget(budget)
                 .with_search("articles", collection_search(docs))
                 .section("K", 0)
                 .search("articles", "days", 4)
                 .done()
                 .execute();
    CHECK(t.total_tokens <= budget);
  }
}

}  // namespace test_context_collection_context_test
