// toon_bench: TOON encode (document -> text) and decode (text -> document) throughput on six
// document shapes of at least 4 MB (bench/toon_docs.hpp, fixed seed), side by side with the
// reference implementation of spec 3.3 (npm @toon-format/toon 2.3.1, run under node when node
// is installed) and, for scale, JSON serialize / parse with the same JSON library (nlohmann)
// and with node's built-in JSON.
//
// Throughput is MB/s of the document's compact-JSON size, for every codec and direction, so the
// figures compare directly. Each figure is the median of several runs; the reference runs on the
// same documents in the same process tree, and the "speedup" column is sochdb / 2.3.1.
//
//   toon_bench [--reps N] [--min-mb M] [--no-ref]
//
// Output: one JSON object per measurement, then a table.
#include "bench_util.hpp"
#include "toon_docs.hpp"

#include <sochdb/toon.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

using namespace sochdb_bench;
namespace toon = sochdb::toon;

namespace {

/// Median seconds of `reps` runs of `fn` (at least `reps`, and at least 0.3 s in total). `fn`
/// returns what it built; it is destroyed after the clock stops (freeing a document is not part
/// of building it, and node's collector frees the reference's documents outside its timings).
template <class Fn>
double median_seconds(int reps, Fn&& fn) {
  std::vector<double> t;
  double total = 0;
  { auto warm = fn(); }
  while (static_cast<int>(t.size()) < reps || (total < 0.3 && t.size() < 50)) {
    stopwatch sw;
    auto result = fn();
    t.push_back(sw.seconds());
    do_not_optimize(result);
    total += t.back();
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

bool have_command(const char* name) {
  std::string cmd = std::string("command -v ") + name + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string run_capture(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

/// Makes sure the reference implementation is installed next to its package.json; returns the
/// folder, or "" when node/npm are missing or the install fails.
std::string reference_dir() {
  std::string dir = std::string(SOCHDB_SOURCE_ROOT) + "/bench/toon_ref";
  if (!have_command("node")) return "";
  if (!std::ifstream(dir + "/node_modules/@toon-format/toon/package.json")) {
    if (!have_command("npm")) return "";
    std::fprintf(stderr, "toon_bench: installing @toon-format/toon 2.3.1 in %s\n", dir.c_str());
    std::string cmd = "npm ci --silent --no-audit --no-fund --prefix '" + dir + "' >&2";
    if (std::system(cmd.c_str()) != 0) return "";
  }
  return dir;
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 7;
  double min_mb = 4.0;
  bool use_ref = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--reps" && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
    } else if (a == "--min-mb" && i + 1 < argc) {
      min_mb = std::atof(argv[++i]);
    } else if (a == "--no-ref") {
      use_ref = false;
    } else {
      std::fprintf(stderr, "usage: toon_bench [--reps N] [--min-mb M] [--no-ref]\n");
      return 2;
    }
  }
  std::string ref_dir = use_ref ? reference_dir() : "";
  if (use_ref && ref_dir.empty())
    std::fprintf(stderr, "toon_bench: node or the reference package unavailable; sochdb only\n");

  reporter rep({"shape", "op", "sochdb_MBps", "toon_2.3.1_MBps", "speedup", "nlohmann_json_MBps",
                "node_JSON_MBps"});
  auto docs = make_bench_docs(static_cast<std::size_t>(min_mb * 1024 * 1024));
  for (auto& d : docs) {
    const std::string json_text = d.doc.dump();
    const double mb = static_cast<double>(json_text.size()) / 1e6;
    const std::string text = toon::encode(d.doc);
    if (toon::decode(text) != d.doc) {
      std::fprintf(stderr, "toon_bench: %s does not round-trip\n", d.shape.c_str());
      return 1;
    }

    double enc = median_seconds(reps, [&] { return toon::encode(d.doc); });
    double dec = median_seconds(reps, [&] { return toon::decode(text); });
    double jdump = median_seconds(reps, [&] { return d.doc.dump(); });
    double jparse = median_seconds(reps, [&] { return toon::value::parse(json_text); });

    nlohmann::ordered_json ref;
    bool same_text = false;
    if (!ref_dir.empty()) {
      char doc_path[] = "/tmp/toon_bench_XXXXXX";
      int fd = ::mkstemp(doc_path);
      if (fd >= 0) {
        ::close(fd);
        std::ofstream(doc_path, std::ios::binary) << json_text;
        std::string out_path = std::string(doc_path) + ".toon";
        std::string cmd = "cd '" + ref_dir + "' && node bench.mjs '" + doc_path + "' " +
                          std::to_string(json_text.size()) + " " +
                          std::to_string(std::max(3, reps / 2)) + " '" + out_path + "'";
        std::string line = run_capture(cmd);
        try {
          ref = nlohmann::ordered_json::parse(line);
          same_text = read_all(out_path) == text;
        } catch (const std::exception&) {
          std::fprintf(stderr, "toon_bench: reference run failed: %s\n", line.c_str());
        }
        std::remove(doc_path);
        std::remove(out_path.c_str());
      }
    }

    auto emit = [&](const char* op, double secs, const char* ref_key, double json_secs,
                    const char* node_json_key) {
      nlohmann::ordered_json row;
      row["bench"] = "toon";
      row["shape"] = d.shape;
      row["op"] = op;
      row["json_bytes"] = json_text.size();
      row["toon_bytes"] = text.size();
      row["sochdb_MBps"] = mb / secs;
      if (!ref.is_null()) {
        row["toon_2.3.1_MBps"] = ref[ref_key];
        row["speedup"] = (mb / secs) / ref[ref_key].get<double>();
        row["identical_output"] = same_text;
        row["reference_roundtrip"] = ref["decode_matches"];
      }
      row["nlohmann_json_MBps"] = mb / json_secs;
      if (!ref.is_null()) row["node_JSON_MBps"] = ref[node_json_key];
      rep.emit(row);
    };
    emit("encode", enc, "encode", jdump, "json_stringify");
    emit("decode", dec, "decode", jparse, "json_parse");
  }
  std::cout << "\nTOON throughput in MB/s of compact JSON (median of runs); speedup = sochdb / "
               "@toon-format/toon 2.3.1 under node; JSON columns (serialize for encode, parse for "
               "decode) for scale\n";
  rep.print_table();
  return 0;
}
