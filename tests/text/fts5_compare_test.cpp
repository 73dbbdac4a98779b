// BM25 ranking against SQLite FTS5's bm25() on the same corpus, same k1/b and the same idf
// (idf_formula::robertson). FTS5's default unicode61 tokenizer and ours split this corpus
// identically (ASCII words, punctuation, capitals), so scores must agree to rounding.
#include <doctest/doctest.h>

#include <sochdb/text/bm25.hpp>

#include "corpus.hpp"

#include <sqlite3.h>

#include <cmath>
#include <string>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_text_fts5_compare_test {

using namespace sochdb;

namespace {
struct db_handle {
  sqlite3* db = nullptr;
  ~db_handle() { sqlite3_close(db); }
};
void exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "?";
    sqlite3_free(err);
    FAIL("sqlite: " << msg);
  }
}
}  // namespace

TEST_CASE("BM25 ranking equals SQLite FTS5 bm25() (robertson idf, k1 1.2, b 0.75)") {
  auto c = sochdb_test::make_corpus(4000, 1500, 300, 42);
  bm25_index idx({.k1 = 1.2, .b = 0.75, .idf = idf_formula::robertson});
  db_handle h;
  REQUIRE(sqlite3_open(":memory:", &h.db) == SQLITE_OK);
  exec(h.db, "CREATE VIRTUAL TABLE docs USING fts5(body)");
  sqlite3_stmt* ins = nullptr;
  REQUIRE(sqlite3_prepare_v2(h.db, "INSERT INTO docs(rowid, body) VALUES (?, ?)", -1, &ins,
                             nullptr) == SQLITE_OK);
  exec(h.db, "BEGIN");
  for (std::size_t i = 0; i < c.documents.size(); ++i) {
    auto id = static_cast<std::int64_t>(i + 1);
    idx.add(static_cast<std::uint64_t>(id), c.documents[i]);
    sqlite3_bind_int64(ins, 1, id);
    sqlite3_bind_text(ins, 2, c.documents[i].c_str(), -1, SQLITE_STATIC);
    REQUIRE(sqlite3_step(ins) == SQLITE_DONE);
    sqlite3_reset(ins);
  }
  exec(h.db, "COMMIT");
  sqlite3_finalize(ins);

  sqlite3_stmt* q = nullptr;
  REQUIRE(sqlite3_prepare_v2(h.db,
                             "SELECT rowid, bm25(docs) FROM docs WHERE docs MATCH ? "
                             "ORDER BY bm25(docs), rowid LIMIT 10",
                             -1, &q, nullptr) == SQLITE_OK);
  std::size_t compared = 0, identical_order = 0;
  for (auto& words : c.queries) {
    std::string match, text;
    for (auto& w : words) {
      match += (match.empty() ? "" : " OR ") + ("\"" + w + "\"");
      text += w + " ";
    }
    sqlite3_bind_text(q, 1, match.c_str(), -1, SQLITE_TRANSIENT);
    std::vector<scored_id> want;
    while (sqlite3_step(q) == SQLITE_ROW) {
      want.push_back(
          {static_cast<std::uint64_t>(sqlite3_column_int64(q, 0)), -sqlite3_column_double(q, 1)});
    }
    sqlite3_reset(q);
    auto got = idx.search(text, 10);
    REQUIRE(got.size() == want.size());
    bool same = true;
    for (std::size_t i = 0; i < got.size(); ++i) {
      CHECK(got[i].score == doctest::Approx(want[i].score).epsilon(1e-9));
      same = same && got[i].id == want[i].id;
    }
    // Ids may only differ where scores tie (FTS5 breaks ties by rowid, as we do by id, but two
    // scores equal in exact arithmetic can round differently).
    if (!same) {
      for (std::size_t i = 0; i < got.size(); ++i) {
        if (got[i].id != want[i].id) {
          bool tie = (i > 0 && std::abs(want[i].score - want[i - 1].score) < 1e-9) ||
                     (i + 1 < want.size() && std::abs(want[i].score - want[i + 1].score) < 1e-9);
          CHECK_MESSAGE(tie, "query '" << text << "' rank " << i);
        }
      }
    }
    identical_order += same;
    ++compared;
  }
  sqlite3_finalize(q);
  MESSAGE("FTS5 comparison: " << compared << " queries, " << identical_order
                              << " with identical top-10 order");
  CHECK(compared == c.queries.size());
}

}  // namespace test_text_fts5_compare_test
