// Benchmark documents for TOON: six shapes, generated from a fixed seed, each at least 4 MB as
// compact JSON. The shapes span TOON's range: uniform tables (where it shines), tables of free
// text (heavy quoting), nested records, semi-uniform logs (list form) and a deep configuration
// (objects all the way down, where the reference implementation is slowest).
//
// Deterministic across platforms: a splitmix64 generator and integer arithmetic only (no
// <random> distributions, whose output differs between standard libraries).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace sochdb_bench {

class doc_rng {
 public:
  explicit doc_rng(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return next() % n; }
  std::int64_t range(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hi - lo + 1)));
  }
  bool chance(unsigned percent) { return below(100) < percent; }
  /// A decimal with `places` digits after the point, in [0, hi).
  double decimal(std::int64_t hi, int places) {
    std::int64_t scale = 1;
    for (int i = 0; i < places; ++i) scale *= 10;
    return static_cast<double>(range(0, hi * scale - 1)) / static_cast<double>(scale);
  }
  template <class T, std::size_t N>
  const T& pick(const T (&a)[N]) {
    return a[below(N)];
  }

 private:
  std::uint64_t s_;
};

namespace docs_detail {
inline const char* const words[] = {
    "the",     "quick",   "data",     "model",  "vector", "index",   "query",  "token",
    "context", "memory",  "agent",    "store",  "fast",   "latency", "budget", "search",
    "result",  "embed",   "graph",    "node",   "edge",   "value",   "batch",  "stream",
    "cache",   "shard",   "replica",  "commit", "log",    "table",   "row",    "column",
    "users",   "orders",  "payment",  "retry",  "error",  "timeout", "config", "deploy",
    "service", "request", "response", "header", "field",  "schema",  "format", "compact"};
inline const char* const first_names[] = {"Ada",     "Grace",  "Alan",  "Linus",  "Barbara",
                                          "Edsger",  "Donald", "Ken",   "Dennis", "Margaret",
                                          "Frances", "John",   "Radia", "Leslie", "Niklaus"};
inline const char* const last_names[] = {"Lovelace", "Hopper",   "Turing",   "Torvalds", "Liskov",
                                         "Dijkstra", "Knuth",    "Thompson", "Ritchie",  "Hamilton",
                                         "Allen",    "McCarthy", "Perlman",  "Lamport",  "Wirth"};
inline const char* const countries[] = {"US", "DE", "FR", "JP", "BR", "IN", "GB", "CA", "NL", "SE"};
inline const char* const cities[] = {"Berlin", "Paris",   "Tokyo",     "Sao Paulo", "Mumbai",
                                     "London", "Toronto", "Amsterdam", "Stockholm", "Austin"};
inline const char* const levels[] = {"info", "info", "info", "debug", "warn", "error"};
inline const char* const services[] = {"api", "auth", "billing", "search", "ingest", "worker"};
inline const char* const statuses[] = {"pending", "paid", "shipped", "delivered", "cancelled"};
inline const char* const punct[] = {", ", ". ", ": ", "; ", " - ", " \"", "\" ", "? ", "! "};

inline std::string sentence(doc_rng& r, int min_words, int max_words, bool with_punct) {
  std::string s;
  int n = static_cast<int>(r.range(min_words, max_words));
  for (int i = 0; i < n; ++i) {
    if (i != 0) s += (with_punct && r.chance(12)) ? r.pick(punct) : " ";
    s += r.pick(words);
  }
  return s;
}
/// Concatenation by appending: GCC 12 at -O3 reports a false -Wrestrict on
/// `"literal" + std::string&&`.
template <class... Parts>
std::string cat(const Parts&... parts) {
  std::string s;
  (s.append(parts), ...);
  return s;
}
inline std::string hex_id(doc_rng& r, int len) {
  static const char hex[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < len; ++i) s += hex[r.below(16)];
  return s;
}
inline std::string date(doc_rng& r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "20%02d-%02d-%02dT%02d:%02d:%02dZ",
                static_cast<int>(r.range(18, 25)), static_cast<int>(r.range(1, 12)),
                static_cast<int>(r.range(1, 28)), static_cast<int>(r.range(0, 23)),
                static_cast<int>(r.range(0, 59)), static_cast<int>(r.range(0, 59)));
  return buf;
}
}  // namespace docs_detail

using ojson = nlohmann::ordered_json;

/// Uniform user records: a TOON table.
inline ojson make_flat_records(std::size_t n, std::uint64_t seed) {
  using namespace docs_detail;
  doc_rng r(seed);
  ojson users = ojson::array();
  for (std::size_t i = 0; i < n; ++i) {
    std::string first = r.pick(first_names), last = r.pick(last_names);
    users.push_back({{"id", static_cast<std::int64_t>(i + 1)},
                     {"name", first + " " + last},
                     {"email", first + "." + last + std::to_string(i) + "@example.com"},
                     {"age", r.range(18, 90)},
                     {"score", r.decimal(100, 2)},
                     {"active", r.chance(70)},
                     {"country", r.pick(countries)},
                     {"signup", date(r)}});
  }
  return {{"users", std::move(users)}};
}

/// Sensor readings: a numeric table.
inline ojson make_time_series(std::size_t n, std::uint64_t seed) {
  doc_rng r(seed);
  ojson points = ojson::array();
  std::int64_t ts = 1700000000000;
  double v = 20.0;
  for (std::size_t i = 0; i < n; ++i) {
    ts += r.range(900, 1100);
    v += static_cast<double>(r.range(-50, 50)) / 100.0;
    points.push_back({{"ts", ts},
                      {"temp", static_cast<double>(static_cast<std::int64_t>(v * 100)) / 100.0},
                      {"humidity", r.decimal(100, 1)},
                      {"pressure", r.range(980, 1040)},
                      {"ok", !r.chance(3)}});
  }
  return {{"sensor", "greenhouse-7"}, {"unit", "celsius"}, {"points", std::move(points)}};
}

/// Reviews with free text: a table whose cells need quoting (commas, colons, quotes).
inline ojson make_free_text(std::size_t n, std::uint64_t seed) {
  using namespace docs_detail;
  doc_rng r(seed);
  ojson reviews = ojson::array();
  for (std::size_t i = 0; i < n; ++i) {
    reviews.push_back({{"id", static_cast<std::int64_t>(i + 1)},
                       {"product", cat("P-", hex_id(r, 6))},
                       {"rating", r.range(1, 5)},
                       {"title", sentence(r, 2, 6, false)},
                       {"body", sentence(r, 12, 60, true)},
                       {"helpful", r.range(0, 500)},
                       {"verified", r.chance(60)}});
  }
  return {{"reviews", std::move(reviews)}};
}

/// Orders with nested customers, line items (inner tables) and totals: TOON's list form.
inline ojson make_nested_orders(std::size_t n, std::uint64_t seed) {
  using namespace docs_detail;
  doc_rng r(seed);
  ojson orders = ojson::array();
  for (std::size_t i = 0; i < n; ++i) {
    std::string first = r.pick(first_names), last = r.pick(last_names);
    ojson items = ojson::array();
    double subtotal = 0;
    auto k = r.range(1, 5);
    for (std::int64_t j = 0; j < k; ++j) {
      double price = r.decimal(200, 2);
      std::int64_t qty = r.range(1, 4);
      subtotal += price * static_cast<double>(qty);
      items.push_back({{"sku", cat("SKU-", hex_id(r, 5))},
                       {"name", sentence(r, 1, 3, false)},
                       {"qty", qty},
                       {"price", price}});
    }
    ojson order = {
        {"id", cat("ORD-", std::to_string(100000 + i))},
        {"status", r.pick(statuses)},
        {"created", date(r)},
        {"customer",
         {{"id", r.range(1, 50000)},
          {"name", first + " " + last},
          {"email", first + "@example.com"},
          {"address",
           {{"street", std::to_string(r.range(1, 999)) + " " + r.pick(words) + " street"},
            {"city", r.pick(cities)},
            {"zip", std::to_string(r.range(10000, 99999))},
            {"country", r.pick(countries)}}}}},
        {"items", std::move(items)},
        {"totals",
         {{"subtotal", static_cast<double>(static_cast<std::int64_t>(subtotal * 100)) / 100.0},
          {"tax", r.decimal(40, 2)},
          {"currency", "EUR"}}},
        {"tags", ojson::array({r.pick(words), r.pick(words)})}};
    if (r.chance(30)) order["notes"] = sentence(r, 3, 12, true);
    orders.push_back(std::move(order));
  }
  return {{"orders", std::move(orders)}};
}

/// Log events that mostly share fields, with optional ones: list form, not tabular.
inline ojson make_semi_uniform_logs(std::size_t n, std::uint64_t seed) {
  using namespace docs_detail;
  doc_rng r(seed);
  ojson logs = ojson::array();
  std::int64_t ts = 1700000000000;
  for (std::size_t i = 0; i < n; ++i) {
    ts += r.range(1, 400);
    std::string level = r.pick(levels);
    ojson e = {{"ts", ts},
               {"level", level},
               {"service", r.pick(services)},
               {"msg", sentence(r, 3, 10, false)},
               {"latency_ms", r.range(1, 2000)}};
    if (r.chance(40)) e["user"] = cat("u", std::to_string(r.range(1, 99999)));
    if (r.chance(20)) e["trace"] = hex_id(r, 16);
    if (level == "error")
      e["error"] = {{"code", r.range(400, 599)},
                    {"type", std::string(r.pick(words)) + "_error"},
                    {"retryable", r.chance(50)}};
    if (r.chance(15)) e["tags"] = ojson::array({r.pick(words), r.pick(words), r.pick(words)});
    logs.push_back(std::move(e));
  }
  return {{"logs", std::move(logs)}};
}

/// A deep configuration: services with nested settings, maps and small arrays.
inline ojson make_deep_config(std::size_t n, std::uint64_t seed) {
  using namespace docs_detail;
  doc_rng r(seed);
  ojson services_obj = ojson::object();
  for (std::size_t i = 0; i < n; ++i) {
    ojson env = ojson::object();
    auto ne = r.range(3, 8);
    for (std::int64_t k = 0; k < ne; ++k)
      env[std::string(r.pick(words)) + "_" + std::to_string(k)] =
          r.chance(50) ? ojson(sentence(r, 1, 3, false)) : ojson(r.range(0, 10000));
    ojson routes = ojson::array();
    auto nr = r.range(1, 3);
    for (std::int64_t k = 0; k < nr; ++k)
      routes.push_back(
          {{"path", cat("/", r.pick(words), "/", r.pick(words))},
           {"methods", r.chance(50) ? ojson::array({"GET"}) : ojson::array({"GET", "POST"})},
           {"auth", {{"required", r.chance(70)}, {"scopes", ojson::array({r.pick(words)})}}},
           {"rate_limit", {{"per_minute", r.range(10, 1000)}, {"burst", r.range(1, 50)}}}});
    services_obj[std::string(r.pick(services)) + "_" + std::to_string(i)] = {
        {"enabled", r.chance(90)},
        {"image",
         {{"repo", cat("registry.example.com/", r.pick(words))},
          {"tag", cat("v", std::to_string(r.range(1, 9)), ".", std::to_string(r.range(0, 30)))}}},
        {"replicas", {{"min", r.range(1, 3)}, {"max", r.range(3, 20)}}},
        {"env", std::move(env)},
        {"ports", ojson::array({r.range(1000, 9999), r.range(1000, 9999)})},
        {"resources",
         {{"limits", {{"cpu", r.decimal(4, 1)}, {"memory_mb", r.range(128, 8192)}}},
          {"requests", {{"cpu", r.decimal(2, 2)}, {"memory_mb", r.range(64, 4096)}}}}},
        {"probes",
         {{"liveness",
           {{"http", {{"path", "/healthz"}, {"port", r.range(1000, 9999)}}},
            {"period_s", r.range(5, 60)}}},
          {"readiness",
           {{"http", {{"path", "/ready"}, {"port", r.range(1000, 9999)}}},
            {"period_s", r.range(5, 60)}}}}},
        {"routes", std::move(routes)},
        {"labels", {{"team", r.pick(words)}, {"tier", r.pick(levels)}}}};
  }
  return {{"version", 3}, {"services", std::move(services_obj)}};
}

struct bench_doc {
  std::string shape;
  ojson doc;
};

/// The six benchmark documents, each grown until its compact JSON reaches `min_bytes`.
inline std::vector<bench_doc> make_bench_docs(std::size_t min_bytes = 4u << 20,
                                              std::uint64_t seed = 20250521) {
  struct maker {
    const char* shape;
    ojson (*make)(std::size_t, std::uint64_t);
    std::size_t guess;
  };
  const maker makers[] = {{"flat_records", make_flat_records, 25000},
                          {"time_series", make_time_series, 60000},
                          {"free_text", make_free_text, 12000},
                          {"nested_orders", make_nested_orders, 8000},
                          {"semi_uniform_logs", make_semi_uniform_logs, 25000},
                          {"deep_config", make_deep_config, 3000}};
  std::vector<bench_doc> out;
  for (const auto& m : makers) {
    std::size_t n = m.guess;
    ojson doc = m.make(n, seed);
    std::size_t size = doc.dump().size();
    while (size < min_bytes) {
      n = static_cast<std::size_t>(static_cast<double>(n) * static_cast<double>(min_bytes) /
                                   static_cast<double>(size) * 1.05) +
          1;
      doc = m.make(n, seed);
      size = doc.dump().size();
    }
    out.push_back({m.shape, std::move(doc)});
  }
  return out;
}

}  // namespace sochdb_bench
