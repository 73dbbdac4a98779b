// The token_counter policy: the contract every model keeps, and the accuracy of
// approx_token_counter against exact o200k_base counts (computed once with npm gpt-tokenizer
// 3.4.0; bench/toon_tokens measures the full corpus).
#include <doctest/doctest.h>

#include <sochdb/toon.hpp>

#include <cmath>
#include <string>
#include <thread>
#include <vector>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_toon_token_counter_test {

using namespace sochdb;

namespace {

/// A second model, to show the contract test is generic: one token per whitespace-separated
/// word.
struct word_counter {
  [[nodiscard]] std::size_t count(std::string_view text) const noexcept {
    std::size_t n = 0;
    bool in_word = false;
    for (char c : text) {
      bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
      if (!space && !in_word) ++n;
      in_word = !space;
    }
    return n;
  }
};
static_assert(token_counter<word_counter>);

struct exact_sample {
  const char* text;
  std::size_t o200k_tokens;
};

// Exact o200k_base counts (gpt-tokenizer 3.4.0, countTokens).
const exact_sample samples[] = {
    {"hello world", 2},
    {"users[3]{id,name,role}:\n  1,Alice,admin\n  2,Bob,user\n  3,Carol,user", 31},
    {"{\"users\":[{\"id\":1,\"name\":\"Alice\",\"role\":\"admin\"},{\"id\":2,\"name\":\"Bob\","
     "\"role\":\"user\"},{\"id\":3,\"name\":\"Carol\",\"role\":\"user\"}]}",
     41},
    {"{\n  \"users\": [\n    {\n      \"id\": 1,\n      \"name\": \"Alice\",\n      \"role\": "
     "\"admin\"\n    },\n    {\n      \"id\": 2,\n      \"name\": \"Bob\",\n      \"role\": "
     "\"user\"\n    }\n  ]\n}",
     59},
    {"The quick brown fox jumps over the lazy dog. It was the best of times, it was the worst of "
     "times; a sentence with punctuation, numbers like 2024 and 3.14159, and a URL: "
     "https://example.com/path?q=1.",
     54},
    {"order:\n  id: ORD-100042\n  customer:\n    name: Ada Lovelace\n    email: ada@example.com\n  "
     "items[2]{sku,qty,price}:\n    SKU-a1b2c,2,19.99\n    SKU-d3e4f,1,5.5\n  tags[3]: "
     "urgent,gift,eu",
     78},
    {"metrics[4\t]{ts\tcpu\tmem}:\n  1700000000000\t0.42\t1024\n  1700000001000\t0.47\t1031\n  "
     "1700000002000\t0.39\t1019\n  1700000003000\t0.51\t1040",
     70},
    {"int main(int argc, char** argv) {\n  std::vector<std::string> args(argv + 1, argv + argc);\n "
     " for (const auto& a : args) std::cout << a << '\\n';\n  return 0;\n}",
     53},
    {"Vim ist ein sehr mächtiger Editor, der viele Befehle hat. Größe und Übersicht zählen.", 22},
    {"Съешь же ещё этих мягких французских булок, да выпей чаю.", 19},
    {"这是一个测试句子，用于估计分词器的令牌数量。", 17},
    {"emoji test 🚀🎉 and symbols → ≤ ≥ ™", 12},
};

}  // namespace

TEST_CASE_TEMPLATE("token_counter contract", T, approx_token_counter, word_counter) {
  const T counter{};
  CHECK(counter.count("") == 0);
  CHECK(counter.count("hello") >= 1);
  // Deterministic, and more text never costs fewer tokens here.
  std::string text = "users[2]{id,name}:\n  1,Ada\n  2,Bob";
  CHECK(counter.count(text) == counter.count(text));
  CHECK(counter.count(text + "\n  3,Carol") > counter.count(text));
  // Any bytes: invalid UTF-8, NULs, truncated sequences.
  std::string junk("\xff\xfe\x00\xc3\xe2\x82\xf0\x9f\x9a", 9);
  CHECK(counter.count(junk) < 100);
}

TEST_CASE_TEMPLATE("token_counter is safe from several threads" *
                       doctest::test_suite("concurrency"),
                   T, approx_token_counter, word_counter) {
  const T counter{};
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "row " + std::to_string(i) + ", value: x\n";
  const std::size_t expected = counter.count(text);
  std::vector<std::thread> threads;
  std::vector<std::size_t> got(4);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int k = 0; k < 20; ++k) got[static_cast<std::size_t>(t)] = counter.count(text);
    });
  for (auto& th : threads) th.join();
  for (auto g : got) CHECK(g == expected);
}

TEST_CASE("approx_token_counter stays close to o200k_base") {
  approx_token_counter counter;
  double total_exact = 0, total_approx = 0;
  for (const auto& s : samples) {
    auto approx = static_cast<double>(counter.count(s.text));
    auto exact = static_cast<double>(s.o200k_tokens);
    CHECK_MESSAGE(std::fabs(approx - exact) <= std::max(2.0, 0.12 * exact),
                  s.text << ": approx " << approx << ", o200k " << exact);
    total_exact += exact;
    total_approx += approx;
  }
  CHECK(std::fabs(total_approx - total_exact) / total_exact < 0.05);
  CHECK(counter.count("hello world") == 2);
}

TEST_CASE("approx_token_counter splits like the o200k pre-tokenizer") {
  approx_token_counter c;
  // Digits go in groups of up to three.
  CHECK(c.count("123") == 1);
  CHECK(c.count("1234567") == 3);
  // A single space joins the next word; indentation runs are one piece.
  CHECK(c.count("a b") == c.count("ab") + 1);
  // camelCase splits.
  CHECK(c.count("getElementById") == 4);
  // TOON's tab delimiter costs a token between cells.
  CHECK(c.count("a\tb") > c.count("a b"));
}

}  // namespace test_toon_token_counter_test
