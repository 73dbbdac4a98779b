// toon_tokens: measures `approx_token_counter` against exact o200k_base counts (npm
// gpt-tokenizer, run under node from bench/toon_ref) and the token cost of TOON versus JSON.
//
//   toon_tokens            needs node; installs bench/toon_ref's packages when missing
//
// Corpus: bench/toon_corpus.hpp (TOON and JSON of the six benchmark shapes at seeds 1..5, prose,
// code, other scripts). The counter's costs were fitted on seeds 1-3 and on the even-numbered
// text chunks; the "held-out" rows are the rest, which the fit never saw.
//
// Output: JSON lines, then three tables: the counter's error by kind, the TOON-vs-JSON token
// savings per shape (exact o200k counts), and the counter's speed.
#include "bench_util.hpp"
#include "toon_corpus.hpp"

#include <sochdb/toon.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <unistd.h>
#include <vector>

using namespace sochdb_bench;
namespace toon = sochdb::toon;

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
    std::fprintf(stderr, "toon_tokens: installing gpt-tokenizer in %s\n", dir.c_str());
    std::string cmd = "npm ci --silent --no-audit --no-fund --prefix '" + dir + "' >&2";
    if (std::system(cmd.c_str()) != 0) return "";
  }
  return dir;
}

/// Exact o200k_base counts of `texts`, or empty when node is unavailable.
std::vector<std::size_t> exact_counts(const std::vector<std::string>& texts) {
  std::string dir = reference_dir();
  if (dir.empty()) return {};
  char in_path[] = "/tmp/toon_tokens_XXXXXX";
  int fd = ::mkstemp(in_path);
  if (fd < 0) return {};
  ::close(fd);
  {
    std::ofstream out(in_path, std::ios::binary);
    for (const auto& t : texts)
      out << nlohmann::json{{"text", t}}.dump(-1, ' ', false,
                                              nlohmann::json::error_handler_t::replace)
          << "\n";
  }
  std::string cmd = "cd '" + dir + "' && node count_tokens.mjs < '" + in_path + "'";
  std::vector<std::size_t> counts;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char line[256];
    while (std::fgets(line, sizeof line, p) != nullptr)
      counts.push_back(nlohmann::json::parse(line)["tokens"].get<std::size_t>());
    ::pclose(p);
  }
  std::remove(in_path);
  if (counts.size() != texts.size()) return {};
  return counts;
}

bool held_out(const corpus_item& it) {
  static const std::regex num("#(\\d+)");
  std::smatch m;
  if (!std::regex_search(it.name, m, num)) return true;
  int k = std::stoi(m[1]);
  return (it.kind == "toon" || it.kind == "json") ? k > 3 : k % 2 != 0;
}

}  // namespace

int main() {
  auto corpus = build_token_corpus();
  std::vector<std::string> texts;
  for (auto& it : corpus) texts.push_back(it.text);
  auto exact = exact_counts(texts);
  if (exact.empty()) {
    std::fprintf(stderr, "toon_tokens: node and gpt-tokenizer are needed for exact counts\n");
    return 1;
  }
  sochdb::approx_token_counter counter;

  // ---- error by kind, all and held-out ----
  struct stats {
    std::size_t items = 0;
    double exact = 0, approx = 0, abs_rel = 0, max_rel = 0, bias = 0;
  };
  std::map<std::string, stats> all, held;
  for (std::size_t i = 0; i < corpus.size(); ++i) {
    const auto& it = corpus[i];
    auto a = static_cast<double>(counter.count(it.text));
    auto e = static_cast<double>(exact[i]);
    double rel = (a - e) / e;
    for (auto* m : {&all, held_out(it) ? &held : nullptr}) {
      if (m == nullptr) continue;
      for (const std::string& k : {it.kind, std::string("(all)")}) {
        auto& s = (*m)[k];
        ++s.items;
        s.exact += e;
        s.approx += a;
        s.abs_rel += std::fabs(rel);
        s.bias += rel;
        s.max_rel = std::max(s.max_rel, std::fabs(rel));
      }
    }
  }
  reporter err({"set", "kind", "items", "exact_tokens", "approx_tokens", "mean_abs_err_pct",
                "max_abs_err_pct", "bias_pct"});
  for (auto [name, m] : {std::pair{"all", &all}, std::pair{"held-out", &held}}) {
    for (auto& [kind, s] : *m) {
      nlohmann::ordered_json row{
          {"bench", "token_counter"},
          {"set", name},
          {"kind", kind},
          {"items", s.items},
          {"exact_tokens", s.exact},
          {"approx_tokens", s.approx},
          {"mean_abs_err_pct", 100 * s.abs_rel / static_cast<double>(s.items)},
          {"max_abs_err_pct", 100 * s.max_rel},
          {"bias_pct", 100 * s.bias / static_cast<double>(s.items)}};
      err.emit(row);
    }
  }

  // ---- TOON vs JSON tokens per shape (exact counts, seeds 1..5 summed) ----
  struct per_shape {
    double toon = 0, toon_tab = 0, compact = 0, pretty = 0;
  };
  std::map<std::string, per_shape> shapes;
  std::vector<std::string> order;
  for (std::size_t i = 0; i < corpus.size(); ++i) {
    const auto& it = corpus[i];
    if (it.kind != "toon" && it.kind != "json") continue;
    std::string shape = it.name.substr(0, it.name.find('#'));
    if (shapes.find(shape) == shapes.end()) order.push_back(shape);
    auto& s = shapes[shape];
    auto e = static_cast<double>(exact[i]);
    if (it.name.ends_with(" comma")) s.toon += e;
    if (it.name.ends_with(" tab")) s.toon_tab += e;
    if (it.name.ends_with(" compact")) s.compact += e;
    if (it.name.ends_with(" pretty")) s.pretty += e;
  }
  reporter sav({"shape", "toon_tokens", "toon_tab_tokens", "json_compact_tokens",
                "json_pretty_tokens", "vs_compact_pct", "vs_pretty_pct"});
  for (const auto& shape : order) {
    const auto& s = shapes[shape];
    nlohmann::ordered_json row{{"bench", "toon_vs_json_tokens"},
                               {"shape", shape},
                               {"toon_tokens", s.toon},
                               {"toon_tab_tokens", s.toon_tab},
                               {"json_compact_tokens", s.compact},
                               {"json_pretty_tokens", s.pretty},
                               {"vs_compact_pct", 100 * (s.compact - s.toon) / s.compact},
                               {"vs_pretty_pct", 100 * (s.pretty - s.toon) / s.pretty}};
    sav.emit(row);
  }

  // ---- speed ----
  std::string big;
  for (const auto& t : texts) big += t;
  std::size_t total = 0;
  stopwatch sw;
  int reps = 0;
  while (sw.seconds() < 0.5) {
    total += counter.count(big);
    ++reps;
  }
  double mbs = static_cast<double>(big.size()) * reps / 1e6 / sw.seconds();
  do_not_optimize(total);
  reporter speed({"corpus_MB", "approx_counter_MBps"});
  speed.emit({{"bench", "token_counter_speed"},
              {"corpus_MB", static_cast<double>(big.size()) / 1e6},
              {"approx_counter_MBps", mbs}});

  std::cout
      << "\napprox_token_counter vs exact o200k_base (gpt-tokenizer); errors relative, per item\n";
  err.print_table();
  std::cout << "\nTokens (exact o200k_base) of the same documents; savings = 1 - TOON/JSON\n";
  sav.print_table();
  std::cout << "\n";
  speed.print_table();
  return 0;
}
