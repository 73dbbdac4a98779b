// Shared pieces of the benchmarks: timing, latency percentiles, process RSS, JSON-line output
// and a plain-text table. Every benchmark prints one JSON object per measurement on stdout and
// a table (to stdout after the JSON lines, or to stderr with --table-to-stderr), so scripts can
// read the JSON lines and humans the table. Figures are meant as ratios against the comparison
// library measured in the same run.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace sochdb_bench {

using clock_type = std::chrono::steady_clock;

/// Seconds since construction or the last reset().
class stopwatch {
 public:
  stopwatch() : start_(clock_type::now()) {}
  void reset() { start_ = clock_type::now(); }
  [[nodiscard]] double seconds() const {
    return std::chrono::duration<double>(clock_type::now() - start_).count();
  }
  [[nodiscard]] double micros() const { return seconds() * 1e6; }

 private:
  clock_type::time_point start_;
};

/// Collects per-operation latencies (microseconds) and reports percentiles.
class latency_recorder {
 public:
  void reserve(std::size_t n) { samples_.reserve(n); }
  void add(double micros) { samples_.push_back(micros); }
  [[nodiscard]] std::size_t count() const { return samples_.size(); }
  /// p in [0, 100]; nearest-rank on a sorted copy.
  [[nodiscard]] double percentile(double p) {
    if (samples_.empty()) return 0;
    if (!sorted_) {
      std::sort(samples_.begin(), samples_.end());
      sorted_ = true;
    }
    auto idx = static_cast<std::size_t>(p / 100.0 * static_cast<double>(samples_.size() - 1) + 0.5);
    return samples_[std::min(idx, samples_.size() - 1)];
  }

 private:
  std::vector<double> samples_;
  bool sorted_ = false;
};

/// Resident set size now and at peak (VmRSS / VmHWM from /proc/self/status), in bytes.
struct rss_info {
  std::uint64_t current = 0;
  std::uint64_t peak = 0;
};
inline rss_info read_rss() {
  rss_info r;
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    auto parse = [&](const char* key, std::uint64_t& out) {
      if (line.rfind(key, 0) == 0) {
        std::istringstream ss(line.substr(std::char_traits<char>::length(key)));
        std::uint64_t kb = 0;
        ss >> kb;
        out = kb * 1024;
      }
    };
    parse("VmRSS:", r.current);
    parse("VmHWM:", r.peak);
  }
  return r;
}

/// Prints one JSON object per line and remembers the rows for the table.
class reporter {
 public:
  /// `columns`: the keys shown in the table, in order.
  explicit reporter(std::vector<std::string> columns) : columns_(std::move(columns)) {}

  void emit(const nlohmann::ordered_json& row) {
    std::cout << row.dump() << "\n" << std::flush;
    rows_.push_back(row);
  }

  /// A fixed-width table of every emitted row (numbers with up to 4 significant decimals).
  void print_table(std::ostream& os = std::cout) const {
    std::vector<std::vector<std::string>> cells;
    std::vector<std::size_t> width(columns_.size());
    for (std::size_t c = 0; c < columns_.size(); ++c) width[c] = columns_[c].size();
    for (auto& r : rows_) {
      std::vector<std::string> line;
      for (std::size_t c = 0; c < columns_.size(); ++c) {
        std::string s = format_cell(r.contains(columns_[c]) ? r[columns_[c]] : nlohmann::ordered_json());
        width[c] = std::max(width[c], s.size());
        line.push_back(std::move(s));
      }
      cells.push_back(std::move(line));
    }
    auto print_line = [&](const std::vector<std::string>& line) {
      for (std::size_t c = 0; c < line.size(); ++c) {
        os << (c ? "  " : "") << line[c] << std::string(width[c] - line[c].size(), ' ');
      }
      os << "\n";
    };
    print_line(columns_);
    std::vector<std::string> rule;
    for (auto w : width) rule.emplace_back(w, '-');
    print_line(rule);
    for (auto& l : cells) print_line(l);
  }

  [[nodiscard]] const std::vector<nlohmann::ordered_json>& rows() const { return rows_; }

  static std::string format_cell(const nlohmann::ordered_json& v) {
    if (v.is_null()) return "-";
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number_float()) {
      double d = v.get<double>();
      char buf[64];
      if (d != 0 && (d >= 1e7 || (d < 1e-3 && d > -1e-3))) {
        std::snprintf(buf, sizeof buf, "%.3e", d);
      } else {
        std::snprintf(buf, sizeof buf, "%.4g", d);
      }
      return buf;
    }
    if (v.is_object() || v.is_array()) return v.dump();
    return v.dump();
  }

 private:
  std::vector<std::string> columns_;
  std::vector<nlohmann::ordered_json> rows_;
};

/// Keeps the optimizer from discarding a computed value.
template <class T>
inline void do_not_optimize(const T& value) {
  asm volatile("" : : "r,m"(value) : "memory");
}

}  // namespace sochdb_bench
