// Context builder tests: section sources (literal, get with field selection, last with where,
// search through text and vector adapters), variables, the four output formats, and every
// truncation mode — exactly on small cases with a word counter, and as properties over a
// fixture database for budgets from 50 to 8000 tokens (never over budget, priorities kept).
#include <doctest/doctest.h>

#include <sochdb/context.hpp>
#include <sochdb/db.hpp>
#include <sochdb/toon.hpp>
#include <sochdb/vector/flat_index.hpp>

#include <random>
#include <sstream>
#include <string>
#include <vector>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_context_context_test {

using namespace sochdb;

namespace {
using mem_db = basic_database<memory_storage>;
mem_db open_mem() { return mem_db::open("/c", {}, memory_fs{}); }

// A counter whose counts are easy to reason about: whitespace-separated words.
struct word_counter {
  [[nodiscard]] std::size_t count(std::string_view s) const noexcept {
    std::size_t n = 0;
    bool in = false;
    for (char c : s) {
      bool ws = c == ' ' || c == '\n' || c == '\t';
      if (!ws && !in) ++n;
      in = !ws;
    }
    return n;
  }
};
static_assert(token_counter<word_counter>);

const char* words[] = {"refund",   "order",   "shipping", "delay",    "battery", "screen",
                       "warranty", "invoice", "account",  "password", "upgrade", "cancel"};

// The fixture: users, 1200 messages over 4 sessions, 200 documents with a BM25 index.
struct fixture {
  mem_db db = open_mem();
  bm25_index index;
  fixture() {
    std::mt19937_64 rng(1234);
    db.put(
        "users/alice",
        R"({"name":"Alice","plan":"pro","email":"alice@example.com","prefs":{"lang":"en","tz":"UTC"}})");
    db.put("users/bob", R"({"name":"Bob","plan":"free","email":"bob@example.com"})");
    for (int i = 0; i < 1200; ++i) {
      char key[32];
      std::snprintf(key, sizeof key, "messages/%05d", i);
      context_value m = context_value::object();
      m["session"] = "s" + std::to_string(i % 4);
      m["role"] = i % 2 ? "assistant" : "user";
      std::string text;
      for (int w = 0; w < 5 + static_cast<int>(rng() % 20); ++w) {
        if (w) text += ' ';
        text += words[rng() % 12];
      }
      m["text"] = text;
      db.put(key, m.dump());
    }
    for (int i = 0; i < 200; ++i) {
      context_value d = context_value::object();
      std::string body;
      for (int w = 0; w < 10 + static_cast<int>(rng() % 40); ++w) {
        if (w) body += ' ';
        body += words[rng() % 12];
      }
      d["title"] = "Doc " + std::to_string(i);
      d["body"] = body;
      db.put("docs/" + std::to_string(i), d.dump());
      index.add(static_cast<std::uint64_t>(i), body);
    }
  }
  context_builder<mem_db> builder() {
    context_builder<mem_db> b(db);
    b.with_search("docs", text_index_search(index, kv_document_loader(db, "docs/")));
    return b;
  }
  // A typical agent context: four sections at priorities 0..3.
  context_builder<mem_db> agent(std::size_t budget, context_format f, truncation_mode m) {
    auto b = builder();
    b.for_session("s1")
        .with_budget(budget)
        .format(f)
        .truncation(m)
        .set_var("user", "alice")
        .set_var("question", "refund for a delayed order")
        .literal("SYSTEM", 0,
                 "You are a support assistant.\nAnswer from the knowledge below.\nBe brief.")
        .section("USER", 1)
        .get("users/$user.{name, plan, prefs.lang}")
        .done()
        .section("HISTORY", 2)
        .last(200, "messages")
        .where_eq("session", "$session")
        .done()
        .section("KNOWLEDGE", 3)
        .search("docs", "$question", 80)
        .done();
    return b;
  }
};

std::size_t kept(const context_result& r, const std::string& name) {
  for (auto& s : r.sections) {
    if (s.name == name) return s.rows_kept;
  }
  FAIL("no section " << name);
  return 0;
}

}  // namespace

TEST_CASE("context: sources, variables and field selection") {
  fixture fx;
  auto r = fx.agent(100000, context_format::json, truncation_mode::strict).execute();
  auto j = context_value::parse(r.text);
  CHECK(j["SYSTEM"] == "You are a support assistant.\nAnswer from the knowledge below.\nBe brief.");
  CHECK(j["USER"] == context_value::parse(R"({"name":"Alice","plan":"pro","prefs.lang":"en"})"));
  REQUIRE(j["HISTORY"].size() == 200);
  for (auto& m : j["HISTORY"]) CHECK(m["session"] == "s1");
  // The last 200 of session s1 (messages 1, 5, 9, ...), oldest first.
  std::vector<std::string> want;
  for (int i = 1199; i >= 0 && want.size() < 200; --i) {
    if (i % 4 == 1) {
      char key[32];
      std::snprintf(key, sizeof key, "messages/%05d", i);
      want.push_back(*fx.db.get(key));
    }
  }
  std::reverse(want.begin(), want.end());
  for (std::size_t i = 0; i < 200; ++i) CHECK(j["HISTORY"][i].dump() == want[i]);
  REQUIRE(j["KNOWLEDGE"].size() == 80);
  auto hits = fx.index.search("refund for a delayed order", 80);
  for (std::size_t i = 0; i < 80; ++i) {
    CHECK(j["KNOWLEDGE"][i]["id"] == std::to_string(hits[i].id));
    CHECK(j["KNOWLEDGE"][i]["title"] == "Doc " + std::to_string(hits[i].id));
  }
  CHECK(r.total_tokens == approx_token_counter{}.count(r.text));
  CHECK(r.dropped.empty());
  CHECK(r.sections.size() == 4);
  std::size_t sum = 0;
  for (auto& s : r.sections) {
    CHECK(s.tokens > 0);
    CHECK(s.rows == s.rows_kept);
    sum += s.tokens;
  }
  CHECK(sum == doctest::Approx(static_cast<double>(r.total_tokens)).epsilon(0.02));

  // get: whole value, dotted path fallback, missing key = empty section, $$ escape.
  auto g = fx.builder()
               .format(context_format::json)
               .section("A", 0)
               .get("users/bob")
               .done()
               .section("B", 1)
               .get("users.alice.{email}")
               .done()
               .section("C", 2)
               .get("users/nobody")
               .done()
               .section("D", 3)
               .get("users/alice.{missing}")
               .done()
               .execute();
  CHECK(
      context_value::parse(g.text) ==
      context_value::parse(
          R"({"A":{"name":"Bob","plan":"free","email":"bob@example.com"},"B":{"email":"alice@example.com"}})"));
  CHECK(g.sections[2].rows == 0);
  CHECK_FALSE(g.sections[2].dropped);

  // Errors name the section.
  CHECK_THROWS_WITH_AS((void)fx.builder().section("X", 0).get("users/$who").done().execute(),
                       doctest::Contains("undefined variable $who"), invalid_argument);
  CHECK_THROWS_AS((void)fx.builder().section("X", 0).search("nowhere", "q", 3).done().execute(),
                  invalid_argument);
  CHECK_THROWS_AS((void)fx.builder().section("X", 0).done().execute(), invalid_argument);
  CHECK_THROWS_AS((void)fx.builder().section("X", 0).get("a").last(3, "b"), invalid_argument);
  CHECK_THROWS_AS((void)fx.builder().literal("X", 0, "a").literal("X", 1, "b"), invalid_argument);
  CHECK_THROWS_AS((void)fx.builder().with_budget(0), invalid_argument);
  CHECK_THROWS_AS((void)fx.builder().set_var("a-b", 1), invalid_argument);
  CHECK_THROWS_AS((void)fx.builder().section("X", 0).search("docs", 42, 3).done().execute(),
                  invalid_argument);
}

TEST_CASE("context: embedding search through the vector adapter, custom sources") {
  auto db = open_mem();
  vector::flat_index<> idx({.dimension = 3});
  for (int i = 0; i < 10; ++i) {
    float v[3] = {static_cast<float>(i), 0.f, 1.f};
    idx.add(static_cast<vector::label_t>(i), std::span<const float>(v, 3));
    db.put("img/" + std::to_string(i), R"({"caption":"image )" + std::to_string(i) + "\"}");
  }
  auto r = context_builder(db)
               .format(context_format::json)
               .set_var("emb", context_value::array({6.9, 0.0, 1.0}))
               .with_search("images", vector_index_search(idx, kv_document_loader(db, "img/")))
               .section("IMAGES", 0)
               .search("images", "$emb", 3)
               .done()
               .execute();
  auto j = context_value::parse(r.text);
  REQUIRE(j["IMAGES"].size() == 3);
  CHECK(j["IMAGES"][0]["id"] == "7");
  CHECK(j["IMAGES"][0]["caption"] == "image 7");
  CHECK(j["IMAGES"][1]["id"] == "6");
  // A text query into a vector source is a clear error.
  CHECK_THROWS_AS((void)context_builder(db)
                      .with_search(vector_index_search(idx, kv_document_loader(db, "img/")))
                      .section("I", 0)
                      .search("any", "words", 3)
                      .done()
                      .execute(),
                  invalid_argument);
  // A callable source; a document that is not an object lands under "document".
  auto c = context_builder(db)
               .format(context_format::json)
               .with_search([](const context_search_request& q) {
                 return std::vector<context_search_hit>{{"a", 0.98765, q.query}, {"b", 0.5, {}}};
               })
               .section("S", 0)
               .search("whatever", "hello", 5)
               .done()
               .execute();
  CHECK(context_value::parse(c.text)["S"] ==
        context_value::parse(
            R"([{"id":"a","score":0.988,"document":"hello"},{"id":"b","score":0.5}])"));
}

TEST_CASE("context: output formats") {
  auto db = open_mem();
  db.put("t/1", R"({"id":1,"name":"a|b","ok":true})");
  db.put("t/2", R"({"id":2,"name":"c","ok":false})");
  db.put("u/x", R"({"name":"Alice","tags":["x","y"]})");
  auto build = [&](context_format f) {
    return context_builder(db)
        .format(f)
        .literal("SYSTEM", 0, "Be brief.\nBe kind.")
        .section("ROWS", 1)
        .last(5, "t")
        .done()
        .section("USER", 2)
        .get("u/x")
        .done()
        .execute()
        .text;
  };
  CHECK(build(context_format::toon) ==
        "SYSTEM: \"Be brief.\\nBe kind.\"\n"
        "ROWS[2]{id,name,ok}:\n  1,a|b,true\n  2,c,false\n"
        "USER:\n  name: Alice\n  tags[2]: x,y");
  CHECK(
      build(context_format::json) ==
      "{\"SYSTEM\":\"Be brief.\\nBe kind.\",\n"
      "\"ROWS\":[{\"id\":1,\"name\":\"a|b\",\"ok\":true},{\"id\":2,\"name\":\"c\",\"ok\":false}],\n"
      "\"USER\":{\"name\":\"Alice\",\"tags\":[\"x\",\"y\"]}}");
  CHECK(build(context_format::markdown) ==
        "## SYSTEM\n\nBe brief.\nBe kind.\n\n"
        "## ROWS\n\n| id | name | ok |\n| --- | --- | --- |\n| 1 | a\\|b | true |\n| 2 | c | false "
        "|\n\n"
        "## USER\n\n- name: Alice\n- tags: [\"x\",\"y\"]");
  CHECK(build(context_format::text) ==
        "SYSTEM:\nBe brief.\nBe kind.\n\n"
        "ROWS:\nid: 1, name: a|b, ok: true\nid: 2, name: c, ok: false\n\n"
        "USER:\nname: Alice\ntags: [\"x\",\"y\"]");
  // The TOON context is one TOON document: it decodes to the JSON context.
  CHECK(toon::decode(build(context_format::toon)) ==
        context_value::parse(build(context_format::json)));
}

TEST_CASE("context: truncation modes, exactly (word counter)") {
  auto db = open_mem();
  // Sections of 1-word lines in text format: "NAME:" + one word per row, so a section of r
  // rows costs r + 1 words.
  auto make = [&](truncation_mode m, std::size_t budget) {
    return context_builder(db, word_counter{})
        .format(context_format::text)
        .truncation(m)
        .with_budget(budget)
        .literal("C", 2, "c1\nc2\nc3\nc4")
        .literal("A", 0, "a1\na2\na3\na4")
        .literal("B", 1, "b1\nb2\nb3\nb4")
        .execute();
  };
  auto all = make(truncation_mode::tail_drop, 15);
  CHECK(all.text == "A:\na1\na2\na3\na4\n\nB:\nb1\nb2\nb3\nb4\n\nC:\nc1\nc2\nc3\nc4");
  CHECK(all.total_tokens == 15);

  auto tail = make(truncation_mode::tail_drop, 8);  // A whole (5), B: header + 2 rows (3)
  CHECK(tail.text == "A:\na1\na2\na3\na4\n\nB:\nb1\nb2");
  CHECK(tail.total_tokens == 8);
  CHECK(tail.dropped == std::vector<dropped_rows>{{"B", 2, 2, false}, {"C", 0, 4, true}});
  CHECK(tail.sections[1].truncated);
  CHECK(tail.sections[2].dropped);
  CHECK(tail.sections[0].tokens == 5);
  CHECK(tail.sections[1].tokens == 3);
  CHECK(make(truncation_mode::tail_drop, 6).text == "A:\na1\na2\na3\na4");  // B cannot keep a row
  CHECK(make(truncation_mode::tail_drop, 3).text == "A:\na1\na2");
  CHECK(make(truncation_mode::tail_drop, 1).text.empty());

  auto head = make(truncation_mode::head_drop, 8);  // C whole (5), B: its last 2 rows
  CHECK(head.text == "B:\nb3\nb4\n\nC:\nc1\nc2\nc3\nc4");
  CHECK(head.dropped == std::vector<dropped_rows>{{"A", 0, 4, true}, {"B", 0, 2, false}});

  // proportional: 3 sections of 4 rows; budget 12 = 3 * (1 + 3): 3 rows each.
  auto prop = make(truncation_mode::proportional, 12);
  CHECK(prop.text == "A:\na1\na2\na3\n\nB:\nb1\nb2\nb3\n\nC:\nc1\nc2\nc3");
  // 13: one row of leftover goes to the most important section.
  CHECK(make(truncation_mode::proportional, 13).text ==
        "A:\na1\na2\na3\na4\n\nB:\nb1\nb2\nb3\n\nC:\nc1\nc2\nc3");
  // 5: not even a row each for three sections (6); the least important goes first.
  CHECK(make(truncation_mode::proportional, 5).text == "A:\na1\na2\n\nB:\nb1");
  auto prop5 = make(truncation_mode::proportional, 5);
  CHECK(prop5.sections[2].dropped);

  CHECK_THROWS_AS(make(truncation_mode::strict, 14), budget_exceeded);
  CHECK(make(truncation_mode::strict, 15).total_tokens == 15);
}

TEST_CASE("context: proportional shrinks sections in proportion to their rows") {
  auto db = open_mem();
  auto lines = [](int n, char ch) {
    std::string s;
    for (int i = 0; i < n; ++i) {
      if (i) s.push_back('\n');
      s.push_back(ch);
    }
    return s;
  };
  std::string a = lines(100, 'a'), b = lines(50, 'b'), c = lines(20, 'c');
  auto r = context_builder(db, word_counter{})
               .format(context_format::text)
               .truncation(truncation_mode::proportional)
               .with_budget(3 + 85)  // headers + half the rows
               .literal("A", 0, a)
               .literal("B", 1, b)
               .literal("C", 2, c)
               .execute();
  CHECK(r.total_tokens == 88);
  CHECK(kept(r, "A") == 50);
  CHECK(kept(r, "B") == 25);
  CHECK(kept(r, "C") == 10);
}

TEST_CASE("context: budgets 50..8000 over the fixture — never over budget, priorities kept") {
  fixture fx;
  std::vector<std::size_t> budgets = {50,   64,   80,   100,  128,  160,  200,  256,
                                      320,  400,  512,  640,  800,  1000, 1300, 1600,
                                      2000, 2600, 3200, 4000, 5000, 6500, 8000};
  std::mt19937_64 rng(77);
  for (int i = 0; i < 10; ++i) budgets.push_back(50 + rng() % 7951);
  std::sort(budgets.begin(), budgets.end());
  approx_token_counter counter;
  std::size_t cases = 0;
  for (auto f : {context_format::toon, context_format::json, context_format::markdown,
                 context_format::text}) {
    for (auto m :
         {truncation_mode::tail_drop, truncation_mode::head_drop, truncation_mode::proportional}) {
      std::size_t prev_rows = 0;
      for (std::size_t budget : budgets) {
        INFO("format " << to_string(f) << " mode " << to_string(m) << " budget " << budget);
        auto r = fx.agent(budget, f, m).execute();
        ++cases;
        CHECK(r.total_tokens <= budget);
        CHECK(r.total_tokens == counter.count(r.text));
        REQUIRE(r.sections.size() == 4);
        std::size_t rows = 0;
        for (auto& s : r.sections) rows += s.rows_kept;
        // Sections present in the text are exactly those with rows kept.
        for (auto& s : r.sections) {
          bool present;
          if (f == context_format::json) {
            present = r.text.find("\"" + s.name + "\":") != std::string::npos;
          } else if (f == context_format::markdown) {
            present = r.text.find("## " + s.name + "\n") != std::string::npos;
          } else {  // a line starting with NAME: (TOON: NAME: or NAME[n]...:)
            std::string t = "\n" + r.text;
            present = t.find("\n" + s.name + ":") != std::string::npos ||
                      t.find("\n" + s.name + "[") != std::string::npos;
          }
          CHECK(present == (s.rows_kept > 0));
        }
        if (m == truncation_mode::tail_drop) {
          // Once a section loses rows, every less important one is gone.
          bool cut = false;
          for (auto& s : r.sections) {
            if (cut) CHECK(s.rows_kept == 0);
            if (s.rows_kept < s.rows) cut = true;
          }
          if (budget > 50) CHECK(rows >= prev_rows);  // a larger budget never keeps less
          prev_rows = rows;
        } else if (m == truncation_mode::head_drop) {
          bool cut = false;
          for (auto it = r.sections.rbegin(); it != r.sections.rend(); ++it) {
            if (cut) CHECK(it->rows_kept == 0);
            if (it->rows_kept < it->rows) cut = true;
          }
        } else {
          // Sections left out entirely are the least important ones.
          bool out = false;
          for (auto& s : r.sections) {
            if (out) CHECK(s.rows_kept == 0);
            if (s.rows_kept == 0) out = true;
          }
        }
        // Dropped rows and kept rows account for every row.
        std::map<std::string, std::size_t> dropped;
        for (auto& d : r.dropped) dropped[d.section] += d.count;
        for (auto& s : r.sections) CHECK(s.rows_kept + dropped[s.name] == s.rows);
      }
    }
  }
  MESSAGE(cases
          << " contexts checked; the whole context is "
          << fx.agent(100000, context_format::toon, truncation_mode::strict).execute().total_tokens
          << " tokens in TOON, "
          << fx.agent(100000, context_format::json, truncation_mode::strict).execute().total_tokens
          << " in JSON");
  // strict: over budget throws, within budget passes unchanged.
  CHECK_THROWS_AS((void)fx.agent(500, context_format::toon, truncation_mode::strict).execute(),
                  budget_exceeded);
  auto full = fx.agent(100000, context_format::toon, truncation_mode::strict).execute();
  auto same = fx.agent(full.total_tokens, context_format::toon, truncation_mode::strict).execute();
  CHECK(same.text == full.text);
}

TEST_CASE("context: JSON spec") {
  fixture fx;
  auto spec = context_value::parse(R"({
    "session": "s2", "budget": 600, "format": "markdown", "truncation": "tail_drop",
    "vars": {"user": "bob"},
    "sections": [
      {"name": "SYSTEM", "priority": 0, "kind": "literal", "text": "Hi."},
      {"name": "USER", "priority": 1, "kind": "get", "path": "users/$user.{name}"},
      {"name": "HISTORY", "priority": 2, "kind": "last", "table": "messages", "n": 5,
       "where": {"session": "$session", "role": "user"}},
      {"name": "DOCS", "priority": 3, "kind": "search", "collection": "docs", "query": "battery", "k": 3}
    ]})");
  auto b = context_builder<mem_db>::from_spec(fx.db, spec);
  b.with_search("docs", text_index_search(fx.index, kv_document_loader(fx.db, "docs/")));
  auto r = b.execute();
  CHECK(r.total_tokens <= 600);
  CHECK(r.text.rfind("## SYSTEM\n\nHi.\n\n## USER\n\n- name: Bob\n\n## HISTORY\n\n", 0) == 0);
  CHECK(r.sections[2].rows == 5);
  for (auto bad : {R"({"sections": 3})", R"({"sections": [{"name": "a", "kind": "sql"}]})",
                   R"({"budget": -1, "sections": []})", R"({"colour": 1, "sections": []})",
                   R"({"sections": [{"name": "a", "kind": "get"}]})"}) {
    CHECK_THROWS_AS(context_builder<mem_db>::from_spec(fx.db, context_value::parse(bad)),
                    invalid_argument);
  }
}

TEST_CASE("context: builds while writers run" * doctest::test_suite("concurrency")) {
  fixture fx;
  std::atomic<bool> stop{false};
  std::thread w([&] {
    for (int i = 0; !stop.load(); ++i) {
      char key[32];
      std::snprintf(key, sizeof key, "messages/9%05d", i);
      fx.db.put(key, R"({"session":"s1","role":"user","text":"new"})");
    }
  });
  for (int i = 0; i < 30; ++i) {
    auto r = fx.agent(400 + static_cast<std::size_t>(i) * 50, context_format::toon,
                      truncation_mode::tail_drop)
                 .execute();
    CHECK(r.total_tokens <= 400 + static_cast<std::size_t>(i) * 50);
  }
  stop = true;
  w.join();
}

TEST_CASE("context: values that are not JSON, binary bytes, deep documents") {
  auto db = open_mem();
  db.put("raw/1", "plain text, not JSON");
  db.put("raw/2", std::string("\xff\xfe\x00bin", 6));
  db.put("raw/3", std::string(300, '[') + std::string(300, ']'));
  // TOON refuses documents nested deeper than its max_depth (256) with a clear error.
  CHECK_THROWS_AS((void)context_builder(db).section("RAW", 0).last(10, "raw").done().execute(),
                  invalid_argument);
  for (auto f : {context_format::json, context_format::markdown, context_format::text}) {
    auto r = context_builder(db).format(f).section("RAW", 0).last(10, "raw").done().execute();
    CHECK(r.sections[0].rows == 3);
    CHECK(r.total_tokens == approx_token_counter{}.count(r.text));
    CHECK(r.text.find("plain text, not JSON") != std::string::npos);
  }
  db.del("raw/3");
  auto t = context_builder(db).section("RAW", 0).last(10, "raw").done().execute();
  CHECK(t.text.find("plain text, not JSON") != std::string::npos);
}

TEST_CASE("context: execute through a caller's transaction sees its writes") {
  auto db = open_mem();
  db.put("m/1", R"({"text":"committed"})");
  auto txn = db.begin();
  txn.put("m/2", R"({"text":"pending"})");
  auto b = context_builder(db).format(context_format::json);
  b.section("M", 0).last(5, "m").done();
  CHECK(context_value::parse(b.execute(txn).text)["M"].size() == 2);
  CHECK(context_value::parse(b.execute().text)["M"].size() == 1);
  txn.abort();
}

namespace {
// A stand-in with the collection handle's search API (db/collection.hpp).
struct fake_collection {
  struct hit {
    std::string id;
    double score;
    nlohmann::json metadata;
  };
  std::vector<hit> keyword_search(std::string q, std::size_t k) const {
    std::vector<hit> h{{"k1", 2.5, {{"q", q}}}, {"k2", 1.0, {{"q", q}}}};
    h.resize(std::min(k, h.size()));
    return h;
  }
  std::vector<hit> vector_search(std::vector<float> v, std::size_t k) const {
    std::vector<hit> h{{"v1", 0.9, {{"dim", v.size()}}}};
    h.resize(std::min(k, h.size()));
    return h;
  }
};
}  // namespace

TEST_CASE("context: collection adapter routes text to keyword search, embeddings to vectors") {
  auto db = open_mem();
  db.put("docs/k1", R"({"title":"loaded"})");
  auto r = context_builder(db)
               .format(context_format::json)
               .set_var("emb", context_value::array({0.1, 0.2, 0.3}))
               .with_search("c", collection_search(fake_collection{}))
               .with_search("loaded",
                            collection_search(fake_collection{}, kv_document_loader(db, "docs/")))
               .section("T", 0)
               .search("c", "hello", 1)
               .done()
               .section("V", 1)
               .search("c", "$emb", 5)
               .done()
               .section("L", 2)
               .search("loaded", "x", 5)
               .done()
               .execute();
  auto j = context_value::parse(r.text);
  CHECK(j["T"] == context_value::parse(R"([{"id":"k1","score":2.5,"q":"hello"}])"));
  CHECK(j["V"] == context_value::parse(R"([{"id":"v1","score":0.9,"dim":3}])"));
  CHECK(j["L"] == context_value::parse(R"([{"id":"k1","score":2.5,"title":"loaded"}])"));
  CHECK_THROWS_AS((void)context_builder(db)
                      .with_search(collection_search(fake_collection{}))
                      .section("X", 0)
                      .search("c", context_value::array({"a"}), 1)
                      .done()
                      .execute(),
                  invalid_argument);
}

}  // namespace test_context_context_test
