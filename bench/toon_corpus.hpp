// The corpus the approximate token counter is measured on (bench/toon_tokens): TOON and JSON
// renderings of the six benchmark shapes at several seeds, plus English prose, source code and
// text in other scripts taken from files every Debian 12 system has (license texts, the Vim
// tutor translations, C++ and Python sources). Missing files are skipped, so the corpus is
// reproducible on Debian 12 and still usable elsewhere.
#pragma once

#include "toon_docs.hpp"

#include <sochdb/toon.hpp>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace sochdb_bench {

struct corpus_item {
  std::string kind;  // toon, json, prose, code, multilingual
  std::string name;  // where it came from
  std::string text;
};

namespace corpus_detail {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Up to `max_chunks` pieces of about `chunk` bytes, cut at line ends (UTF-8 safe).
inline std::vector<std::string> chunks(const std::string& text, std::size_t chunk,
                                       std::size_t max_chunks) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size() && out.size() < max_chunks) {
    std::size_t end = std::min(text.size(), pos + chunk);
    if (end < text.size()) {
      std::size_t nl = text.find('\n', end);
      end = nl == std::string::npos ? text.size() : nl + 1;
    }
    out.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

}  // namespace corpus_detail

/// The document shapes at a size that suits a prompt (tens of records), for seed `seed`.
inline std::vector<bench_doc> small_docs(std::uint64_t seed) {
  return {{"flat_records", make_flat_records(40, seed)},
          {"time_series", make_time_series(60, seed)},
          {"free_text", make_free_text(20, seed)},
          {"nested_orders", make_nested_orders(12, seed)},
          {"semi_uniform_logs", make_semi_uniform_logs(40, seed)},
          {"deep_config", make_deep_config(6, seed)}};
}

inline std::vector<corpus_item> build_token_corpus() {
  using namespace corpus_detail;
  namespace toon = sochdb::toon;
  std::vector<corpus_item> items;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    for (auto& d : small_docs(seed)) {
      std::string tag = d.shape + "#" + std::to_string(seed);
      items.push_back({"toon", tag + " comma", toon::encode(d.doc)});
      items.push_back(
          {"toon", tag + " tab", toon::encode(d.doc, {.delimiter = toon::delimiter::tab})});
      items.push_back({"json", tag + " compact", d.doc.dump()});
      items.push_back({"json", tag + " pretty", d.doc.dump(2)});
    }
  }
  // Symbols and emoji inside ordinary words (the text sources have almost none).
  {
    static const char* const symbols[] = {
        "\u2192",     "\u2190",     "\u2191",     "\u2264",     "\u2265",     "\u2260",
        "\u00b1",     "\u00d7",     "\u00f7",     "\u221e",     "\u20ac",     "\u00a3",
        "\u00a5",     "\u201c",     "\u201d",     "\u2018",     "\u2019",     "\u2014",
        "\u2026",     "\u2022",     "\u2713",     "\u2717",     "\u2705",     "\u274c",
        "\u2b50",     "\u00a9",     "\u2122",     "\u00b0",     "\U0001F680", "\U0001F389",
        "\U0001F600", "\U0001F44D", "\U0001F525", "\U0001F4E6", "\U0001F4A1", "\U0001F9E0",
        "\U0001F916"};
    for (std::uint64_t seed = 1; seed <= 6; ++seed) {
      doc_rng r(seed * 7919);
      std::string t;
      while (t.size() < 1500) {
        t += docs_detail::sentence(r, 3, 9, true);
        t += ' ';
        for (auto k = r.range(1, 3); k > 0; --k) t += r.pick(symbols);
        t += r.chance(20) ? "\n" : " ";
      }
      items.push_back({"symbols", "symbols #" + std::to_string(seed), std::move(t)});
    }
  }
  struct source {
    const char* kind;
    const char* path;
    std::size_t max_chunks;
  };
  const source sources[] = {
      {"prose", "/usr/share/common-licenses/GPL-3", 12},
      {"prose", "/usr/share/common-licenses/Apache-2.0", 6},
      {"prose", "/usr/share/vim/vim90/tutor/tutor", 8},
      {"code", "/usr/include/nlohmann/json.hpp", 8},
      {"code", "/usr/include/c++/12/bits/stl_vector.h", 6},
      {"code", "/usr/lib/python3.11/json/decoder.py", 4},
      {"multilingual", "/usr/share/vim/vim90/tutor/tutor.de.utf-8", 3},
      {"multilingual", "/usr/share/vim/vim90/tutor/tutor.fr.utf-8", 3},
      {"multilingual", "/usr/share/vim/vim90/tutor/tutor.ru.utf-8", 3},
      {"multilingual", "/usr/share/vim/vim90/tutor/tutor.el.utf-8", 3},
      {"multilingual", "/usr/share/vim/vim90/tutor/tutor.ja.utf-8", 3},
      {"multilingual", "/usr/share/vim/vim90/tutor/tutor.zh.utf-8", 3},
      {"multilingual", "/usr/share/vim/vim90/tutor/tutor.ko.utf-8", 3},
  };
  for (const auto& s : sources) {
    std::string text = read_file(s.path);
    if (text.empty()) continue;
    std::size_t i = 0;
    // Skip the first chunk of the tutors (a banner of '=' signs).
    for (auto& c : chunks(text, 3000, s.max_chunks + 1)) {
      if (i++ == 0 && std::string(s.path).find("tutor") != std::string::npos) continue;
      items.push_back({s.kind, std::string(s.path) + " #" + std::to_string(i), std::move(c)});
    }
  }
  return items;
}

}  // namespace sochdb_bench
