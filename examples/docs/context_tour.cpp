// Every code block of docs/context.md, as a program (run as a test: suite `docs`).
#include <sochdb/sochdb.hpp>

#include "../common/hash_embedder.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

static void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "context_tour: failed: %s\n", what);
    std::exit(1);
  }
}
#define EXPECT(x) expect((x), #x)

int main() {
  std::string dir = (std::filesystem::temp_directory_path() / "sochdb-context-tour").string();
  std::filesystem::remove_all(dir);
  {
    auto db = sochdb::database::open(dir, {.sync = sochdb::sync_mode::off});
    db.put("users/alice", R"({"name": "Alice", "plan": "pro", "email": "a@example.com"})");
    for (int i = 0; i < 30; ++i) {
      char key[32];
      std::snprintf(key, sizeof key, "messages/%04d", i);
      db.put(key,
             R"({"session": "s1", "role": "user", "text": "question )" + std::to_string(i) + "\"}");
    }
    sochdb::bm25_index index;
    index.add(1, "refunds are paid within 14 days");
    index.add(2, "shipping takes 3 days");
    db.put("kb/1", R"({"title": "Refunds", "body": "refunds are paid within 14 days"})");
    db.put("kb/2", R"({"title": "Shipping", "body": "shipping takes 3 days"})");

    // [build]
    auto ctx = sochdb::context_builder(db)
                   .for_session("s1")
                   .with_budget(400)
                   .format(sochdb::context_format::toon)
                   .truncation(sochdb::truncation_mode::tail_drop)
                   .set_var("user", "alice")
                   .set_var("question", "how long do refunds take")
                   .with_search("kb", sochdb::text_index_search(
                                          index, sochdb::kv_document_loader(db, "kb/")))
                   .literal("SYSTEM", 0, "You are a helpful assistant.")
                   .section("USER", 1)
                   .get("users/$user.{name, plan}")
                   .done()
                   .section("HISTORY", 2)
                   .last(10, "messages")
                   .where_eq("session", "$session")
                   .done()
                   .section("KNOWLEDGE", 3)
                   .search("kb", "$question", 2)
                   .done()
                   .execute();
    std::printf("%s\n\n%zu of %zu tokens\n", ctx.text.c_str(), ctx.total_tokens, ctx.budget);
    for (auto& s : ctx.sections) {
      std::printf("%s: %zu/%zu rows, %zu tokens\n", s.name.c_str(), s.rows_kept, s.rows, s.tokens);
    }
    // [build]
    EXPECT(ctx.total_tokens <= 400);
    EXPECT(ctx.text.rfind("SYSTEM: You are a helpful assistant.\nUSER:\n  name: Alice", 0) == 0);

    // [tight]
    auto small = sochdb::context_builder(db)
                     .with_budget(60)
                     .for_session("s1")
                     .literal("SYSTEM", 0, "You are a helpful assistant.")
                     .section("HISTORY", 1)
                     .last(10, "messages")
                     .done()
                     .execute();
    // small.sections[1].truncated: the oldest messages that fit are kept, the rest are listed
    // in small.dropped ({"HISTORY", first, count, whole_section = false}).
    // [tight]
    EXPECT(small.total_tokens <= 60);
    EXPECT(small.sections[1].truncated && !small.dropped.empty());

    // [counter]
    struct bytes_over_4 {  // any type with a const count(string_view) -> size_t
      std::size_t count(std::string_view s) const noexcept { return (s.size() + 3) / 4; }
    };
    auto rough = sochdb::context_builder(db, bytes_over_4{})
                     .with_budget(100)
                     .section("HISTORY", 0)
                     .last(30, "messages")
                     .done()
                     .execute();
    // [counter]
    EXPECT((rough.text.size() + 3) / 4 <= 100);

    // [spec]
    auto spec = nlohmann::ordered_json::parse(R"({
      "session": "s1", "budget": 300, "format": "markdown", "truncation": "proportional",
      "vars": {"user": "alice"},
      "sections": [
        {"name": "SYSTEM", "priority": 0, "kind": "literal", "text": "Be brief."},
        {"name": "USER", "priority": 1, "kind": "get", "path": "users/$user.{name}"},
        {"name": "HISTORY", "priority": 2, "kind": "last", "table": "messages", "n": 5,
         "where": {"session": "$session"}}]})");
    auto from_spec = sochdb::context_builder<sochdb::database>::from_spec(db, spec).execute();
    // [spec]
    EXPECT(from_spec.total_tokens <= 300);
    EXPECT(from_spec.text.rfind("## SYSTEM\n\nBe brief.", 0) == 0);

    const sochdb_examples::hash_embedder embedder(384);
    auto fn = [&](std::string_view t) { return embedder.embed(t); };
    const std::uint64_t t = 1'700'000'000'000;  // ms: before the fact below
    // [agent_memory]
    sochdb::agent_memory mem(db, {.embed = fn, .dimension = 384});  // or {} for BM25 only
    mem.upsert_entity({.id = "payments-api",
                       .kind = "service",
                       .name = "payments API",
                       .description = "charges cards and issues refunds"});
    mem.add_fact({.subject = "payments-api", .predicate = "pool_size", .object = "50"}, true);
    auto ep = mem.record_episode({.type = "debug",
                                  .summary = "refunds timed out: pool exhausted",
                                  .entity_ids = {"payments-api"}});
    mem.append_event({.episode_id = ep.id, .role = "user", .content = "refunds time out"});
    auto similar = mem.search_episodes({.query = "timeouts on refunds", .k = 3});
    auto then = mem.facts("payments-api", {.at_ms = t});  // what was true at t
    auto packed = mem.build_context({.goal = "fix the refund timeouts",
                                     .token_budget = 1024,
                                     .episode_id = ep.id,
                                     .entity_ids = {"payments-api"}});
    // [agent_memory]
    EXPECT(!similar.empty() && similar[0].episode.id == ep.id);
    EXPECT(then.empty() && mem.facts("payments-api").size() == 1);
    EXPECT(packed.total_tokens <= 1024 &&
           packed.text.find("refunds time out") != std::string::npos);
  }
  std::filesystem::remove_all(dir);
  std::puts("context_tour: ok");
  return 0;
}
