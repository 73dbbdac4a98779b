#include <doctest/doctest.h>

#include <sochdb/text/tokenizer.hpp>

#include <random>
#include <string>
#include <vector>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_text_tokenizer_test {

using namespace sochdb;
using words = std::vector<std::string>;

TEST_CASE("ASCII words, numbers and the UAX #29 mid-word rules") {
  tokenizer t;
  CHECK(t.words("Hello, World! It's 3.14 and R2D2.") ==
        words{"hello", "world", "it's", "3.14", "and", "r2d2"});
  CHECK(t.words("U.S.A. e.g. 1,000,000 a,b x.5") ==
        words{"u.s.a", "e.g", "1,000,000", "a", "b", "x", "5"});
  CHECK(t.words("dogs' toys 'quoted' end.") == words{"dogs", "toys", "quoted", "end"});
  CHECK(t.words("foo_bar key:value a-b a/b") ==
        words{"foo", "bar", "key", "value", "a", "b", "a", "b"});
  CHECK(t.words("").empty());
  CHECK(t.words(" \t\n.,;:!?").empty());
}

TEST_CASE("Unicode letters: lowercase and diacritic folding") {
  tokenizer t;
  CHECK(t.words("Café NAÏVE Ærø") == words{"cafe", "naive", "ærø"});
  CHECK(t.words("Σίσυφος ΟΔΥΣΣΕΥΣ") == words{"σισυφος", "οδυσσευσ"});
  CHECK(t.words("e\xcc\x81"
                "cole") == words{"ecole"});              // e + combining acute
  CHECK(t.words("don\xe2\x80\x99t") == words{"don't"});  // typographic apostrophe
  CHECK(t.words("Ёлка Straße") == words{"елка", "straße"});
  // Devanagari vowel signs and virama are marks of the word, not diacritics: kept.
  CHECK(t.words("हिन्दी भाषा") == words{"हिन्दी", "भाषा"});

  tokenizer keep({.lowercase = false, .fold_diacritics = false});
  CHECK(keep.words("Café") == words{"Café"});
}

TEST_CASE("ideographs are words of their own, katakana runs join") {
  tokenizer t;
  CHECK(t.words("日本語テキスト") == words{"日", "本", "語", "テキスト"});
  CHECK(t.words("ひらがな") == words{"ひ", "ら", "が", "な"});
  CHECK(t.words("abc漢字def") == words{"abc", "漢", "字", "def"});
}

TEST_CASE("invalid UTF-8 separates words and never crashes") {
  tokenizer t;
  CHECK(t.words("ab\xff"
                "cd") == words{"ab", "cd"});
  CHECK(t.words("ab\xc0\xaf"
                "cd") == words{"ab", "cd"});  // overlong '/'
  CHECK(t.words("ab\xed\xa0\x80"
                "cd") == words{"ab", "cd"});    // surrogate
  CHECK(t.words("ab\xe6\x97") == words{"ab"});  // truncated sequence
  std::mt19937_64 rng(11);
  for (int i = 0; i < 2000; ++i) {
    std::string s(static_cast<std::size_t>(rng() % 64), '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    for (auto& w : t.words(s)) {
      CHECK_FALSE(w.empty());
      CHECK(w.size() <= 64);
    }
  }
}

TEST_CASE("long words are cut at a code-point boundary; stop words keep positions") {
  tokenizer t({.max_token_bytes = 5});
  CHECK(t.words("abcdefgh ééé") == words{"abcde", "eee"});
  tokenizer u({.fold_diacritics = false, .max_token_bytes = 5});
  CHECK(u.words("ééé") == words{"éé"});  // 4 bytes; a third é would exceed 5

  tokenizer s({.stopwords = std::make_shared<stopword_set>(english_stopwords())});
  std::vector<std::pair<std::string, std::uint32_t>> got;
  s.tokenize("The cat is on the mat",
             [&](std::string_view w, std::uint32_t pos) { got.emplace_back(std::string(w), pos); });
  CHECK(got == std::vector<std::pair<std::string, std::uint32_t>>{{"cat", 1}, {"mat", 5}});
  CHECK_THROWS_AS(tokenizer({.max_token_bytes = 2}), invalid_argument);
}

}  // namespace test_text_tokenizer_test
