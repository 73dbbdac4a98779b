// context_tokens: the context builder's outputs measured with the real tokenizer.
//
//   context_tokens            needs node + npm (installs gpt-tokenizer into bench/toon_ref once)
//
// Builds an agent context (system prompt, a user profile via get, chat history via last with a
// where filter, knowledge via BM25 search) over a fixture database for budgets 50..8000 in every
// format and truncation mode, and reports:
//   1. approx_token_counter against exact o200k_base counts (npm gpt-tokenizer) of the same
//      texts: mean absolute error, worst error and bias per format, and how often — and by how
//      much — the exact count of a packed context exceeds the budget the approximate counter
//      kept it under;
//   2. the exact token cost of the same sections (unbounded budget) in TOON, JSON, Markdown and
//      plain text, per section and whole, as savings of TOON against JSON.
#include "bench_util.hpp"

#include <sochdb/context.hpp>
#include <sochdb/db.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace sochdb_bench;
using namespace sochdb;

namespace {

bool have_command(const char* name) {
  std::string cmd = std::string("command -v ") + name + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

std::string reference_dir() {
  std::string dir = std::string(SOCHDB_SOURCE_ROOT) + "/bench/toon_ref";
  if (!have_command("node")) return "";
  if (!std::ifstream(dir + "/node_modules/gpt-tokenizer/package.json")) {
    if (!have_command("npm")) return "";
    std::fprintf(stderr, "context_tokens: installing gpt-tokenizer in %s\n", dir.c_str());
    std::string cmd = "npm ci --silent --no-audit --no-fund --prefix '" + dir + "' >&2";
    if (std::system(cmd.c_str()) != 0) return "";
  }
  return dir;
}

// Exact o200k_base counts through bench/toon_ref/count_tokens.mjs, or empty without node.
std::vector<std::size_t> exact_counts(const std::vector<std::string>& texts) {
  std::string dir = reference_dir();
  if (dir.empty()) return {};
  char in_path[] = "/tmp/context_tokens_XXXXXX";
  int fd = ::mkstemp(in_path);
  if (fd < 0) return {};
  ::close(fd);
  {
    std::ofstream out(in_path, std::ios::binary);
    for (const auto& t : texts) {
      out << nlohmann::json{{"text", t}}.dump(-1, ' ', false,
                                              nlohmann::json::error_handler_t::replace)
          << "\n";
    }
  }
  std::string cmd = "cd '" + dir + "' && node count_tokens.mjs < '" + in_path + "'";
  std::vector<std::size_t> counts;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char line[256];
    while (std::fgets(line, sizeof line, p) != nullptr) {
      counts.push_back(nlohmann::json::parse(line)["tokens"].get<std::size_t>());
    }
    ::pclose(p);
  }
  std::remove(in_path);
  if (counts.size() != texts.size()) return {};
  return counts;
}

using mem_db = basic_database<memory_storage>;

const char* vocab[] = {"refund",   "order",   "shipping",    "delay",    "battery",  "screen",
                       "warranty", "invoice", "account",     "password", "upgrade",  "cancel",
                       "the",      "was",     "my",          "please",   "received", "yesterday",
                       "customer", "support", "replacement", "tracking", "number",   "damaged"};

struct fixture {
  mem_db db = mem_db::open("/ctx", {}, memory_fs{});
  bm25_index index;
  fixture() {
    std::mt19937_64 rng(4242);
    auto sentence = [&](int lo, int span) {
      std::string s;
      int n = lo + static_cast<int>(rng() % static_cast<unsigned>(span));
      for (int w = 0; w < n; ++w) {
        if (w) s += ' ';
        s += vocab[rng() % (sizeof vocab / sizeof *vocab)];
      }
      s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
      return s + ".";
    };
    db.put(
        "users/alice",
        R"({"name":"Alice Martin","plan":"pro","email":"alice@example.com","since":"2021-04-03","prefs":{"lang":"en","tz":"Europe/Paris"}})");
    for (int i = 0; i < 2000; ++i) {
      char key[32];
      std::snprintf(key, sizeof key, "messages/%06d", i);
      context_value m = context_value::object();
      m["session"] = "s" + std::to_string(i % 5);
      m["ts"] = 1700000000000ll + i * 61000ll;
      m["role"] = i % 2 ? "assistant" : "user";
      m["text"] = sentence(6, 25);
      db.put(key, m.dump());
    }
    for (int i = 0; i < 500; ++i) {
      context_value d = context_value::object();
      d["title"] = sentence(2, 5);
      d["category"] = i % 3 == 0 ? "billing" : i % 3 == 1 ? "shipping" : "devices";
      d["updated"] = "2024-0" + std::to_string(1 + i % 9) + "-1" + std::to_string(i % 10);
      d["body"] = sentence(20, 60);
      db.put("kb/" + std::to_string(i), d.dump());
      index.add(static_cast<std::uint64_t>(i), d["body"].get<std::string>());
    }
  }
  context_builder<mem_db> agent(std::size_t budget, context_format f, truncation_mode m) {
    context_builder<mem_db> b(db);
    b.with_search("kb", text_index_search(index, kv_document_loader(db, "kb/")))
        .for_session("s3")
        .with_budget(budget)
        .format(f)
        .truncation(m)
        .set_var("question", "my replacement battery was damaged, refund please")
        .literal("SYSTEM", 0,
                 "You are the support assistant of an online electronics shop.\n"
                 "Answer from the knowledge base; cite article ids.\n"
                 "If you are unsure, ask one clarifying question.")
        .section("USER", 1)
        .get("users/alice.{name, plan, since, prefs.lang}")
        .done()
        .section("HISTORY", 2)
        .last(120, "messages")
        .where_eq("session", "$session")
        .done()
        .section("KNOWLEDGE", 3)
        .search("kb", "$question", 40)
        .done();
    return b;
  }
};

}  // namespace

int main() {
  fixture fx;
  const context_format formats[] = {context_format::toon, context_format::json,
                                    context_format::markdown, context_format::text};
  const truncation_mode modes[] = {truncation_mode::tail_drop, truncation_mode::head_drop,
                                   truncation_mode::proportional};
  std::vector<std::size_t> budgets = {50,   100,  200,  300,  500,  750,  1000,
                                      1500, 2000, 3000, 4000, 5000, 6000, 8000};
  struct item {
    context_format f;
    truncation_mode m;
    std::size_t budget;
    context_result r;
  };
  std::vector<item> items;
  stopwatch sw;
  for (auto f : formats) {
    for (auto m : modes) {
      for (auto b : budgets) items.push_back({f, m, b, fx.agent(b, f, m).execute()});
    }
  }
  double build_ms = sw.seconds() * 1e3 / static_cast<double>(items.size());
  // Whole sections, unbounded, per format.
  std::map<context_format, context_result> whole;
  for (auto f : formats) whole[f] = fx.agent(1000000, f, truncation_mode::strict).execute();

  std::vector<std::string> texts;
  for (auto& it : items) texts.push_back(it.r.text);
  // Each section alone in each format (a one-section context of the same rows).
  std::vector<std::string> section_names = {"SYSTEM", "USER", "HISTORY", "KNOWLEDGE"};
  std::map<std::pair<context_format, std::string>, std::size_t> section_text_index;
  for (auto f : formats) {
    for (std::size_t s = 0; s < section_names.size(); ++s) {
      auto b = fx.agent(1000000, f, truncation_mode::strict);
      // Re-run with only section s: build a fresh builder with the same source.
      context_builder<mem_db> one(fx.db);
      one.with_search("kb", text_index_search(fx.index, kv_document_loader(fx.db, "kb/")))
          .for_session("s3")
          .with_budget(1000000)
          .format(f)
          .set_var("question", "my replacement battery was damaged, refund please");
      if (s == 0) {
        one.literal("SYSTEM", 0,
                    "You are the support assistant of an online electronics shop.\n"
                    "Answer from the knowledge base; cite article ids.\n"
                    "If you are unsure, ask one clarifying question.");
      } else if (s == 1) {
        one.section("USER", 1).get("users/alice.{name, plan, since, prefs.lang}").done();
      } else if (s == 2) {
        one.section("HISTORY", 2).last(120, "messages").where_eq("session", "$session").done();
      } else {
        one.section("KNOWLEDGE", 3).search("kb", "$question", 40).done();
      }
      section_text_index[{f, section_names[s]}] = texts.size();
      texts.push_back(one.execute().text);
      (void)b;
    }
    section_text_index[{f, "(all)"}] = texts.size();
    texts.push_back(whole[f].text);
  }

  auto exact = exact_counts(texts);
  if (exact.empty()) {
    std::fprintf(stderr, "context_tokens: node and gpt-tokenizer are needed for exact counts\n");
    return 1;
  }
  approx_token_counter approx;

  reporter err({"format", "contexts", "mean_abs_err_pct", "worst_err_pct", "bias_pct",
                "over_budget", "worst_over_pct"});
  for (auto f : formats) {
    double sum_abs = 0, worst = 0, bias = 0, worst_over = 0;
    std::size_t n = 0, over = 0;
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (items[i].f != f || items[i].r.text.empty()) continue;
      double a = static_cast<double>(approx.count(items[i].r.text));
      double e = static_cast<double>(exact[i]);
      double rel = (a - e) / e * 100.0;
      sum_abs += std::fabs(rel);
      bias += rel;
      worst = std::max(worst, std::fabs(rel));
      if (exact[i] > items[i].budget) {
        ++over;
        worst_over = std::max(worst_over, (e - static_cast<double>(items[i].budget)) /
                                              static_cast<double>(items[i].budget) * 100.0);
      }
      ++n;
    }
    nlohmann::ordered_json j;
    j["bench"] = "context_tokens";
    j["kind"] = "counter_error";
    j["format"] = std::string(to_string(f));
    j["contexts"] = n;
    j["mean_abs_err_pct"] = sum_abs / static_cast<double>(n);
    j["worst_err_pct"] = worst;
    j["bias_pct"] = bias / static_cast<double>(n);
    j["over_budget"] = over;
    j["worst_over_pct"] = worst_over;
    err.emit(j);
  }

  reporter sav({"section", "toon", "json", "markdown", "text", "toon_vs_json_pct"});
  for (auto& name : {"SYSTEM", "USER", "HISTORY", "KNOWLEDGE", "(all)"}) {
    nlohmann::ordered_json j;
    j["bench"] = "context_tokens";
    j["kind"] = "format_tokens";
    j["section"] = name;
    for (auto f : formats) {
      j[std::string(to_string(f))] = exact[section_text_index[{f, name}]];
    }
    double t = j["toon"].get<double>(), js = j["json"].get<double>();
    j["toon_vs_json_pct"] = (js - t) / js * 100.0;
    sav.emit(j);
  }
  std::cout << "\napprox_token_counter vs exact o200k_base on " << items.size()
            << " packed contexts (budgets 50..8000, 4 formats, 3 truncation modes); mean build "
            << build_ms << " ms per context\n";
  err.print_table();
  std::cout << "\nexact o200k_base tokens of the same sections per format (savings: TOON vs "
               "compact JSON)\n";
  sav.print_table();
  return 0;
}
