// The `sochdb` command-line tool's small framework: a command table, an argument parser, and the
// exit-code conventions (0 success, 1 failure or not found, 2 usage error).
//
// A command is a name, a one-line summary, a usage text for `--help`, and a function taking the
// shared context and the arguments after the command name. Commands throw `usage_error` for bad
// arguments (exit 2) and `command_failed` (or any sochdb::error) for failures (exit 1).
#pragma once

#include <sochdb/sochdb.hpp>

#include <algorithm>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sochdb_cli {

/// Bad command-line usage: exit status 2 with a usage hint.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A failure to report on stderr with exit status 1 (also used for "not found").
struct command_failed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class output_format { toon, json, table };

/// What every command sees: global options and the standard streams.
struct context {
  std::optional<std::string> db_path;  ///< --db DIR
  output_format format = output_format::toon;
  bool format_set = false;  ///< --format was given explicitly
  std::istream& in = std::cin;
  std::ostream& out = std::cout;
  std::ostream& err = std::cerr;

  /// The database directory, or a usage error naming the command that needs it.
  const std::string& require_db(std::string_view command) const {
    if (!db_path) throw usage_error(std::string(command) + " needs --db DIR");
    return *db_path;
  }
};

struct command {
  std::string_view name;
  std::string_view summary;  ///< one line for the command list
  std::string_view usage;    ///< full help text: synopsis, options, examples
  std::function<int(context&, const std::vector<std::string>&)> run;
};

/// Parses one command's arguments: `--name VALUE`, `--name=VALUE`, `--flag`, `-x VALUE` for
/// declared short aliases, positionals, and `--` to end options. Unknown options and missing
/// values are usage errors.
class arg_parser {
 public:
  arg_parser(std::string_view command, const std::vector<std::string>& args)
      : command_(command), args_(args) {}

  /// Declares an option that takes a value. `alias` is an optional short form like "-k".
  arg_parser& value(std::string name, std::string alias = "") {
    value_opts_[name] = true;
    if (!alias.empty()) aliases_[alias] = name;
    return *this;
  }
  /// Declares a boolean flag.
  arg_parser& flag(std::string name, std::string alias = "") {
    value_opts_[name] = false;
    if (!alias.empty()) aliases_[alias] = name;
    return *this;
  }

  /// Parses; call after declaring options.
  arg_parser& parse() {
    bool options_done = false;
    for (std::size_t i = 0; i < args_.size(); ++i) {
      std::string a = args_[i];
      if (options_done || a.size() < 2 || a[0] != '-' || a == "-") {
        positionals_.push_back(a);
        continue;
      }
      if (a == "--") {
        options_done = true;
        continue;
      }
      std::optional<std::string> inline_value;
      if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
        inline_value = a.substr(eq + 1);
        a = a.substr(0, eq);
      }
      if (auto al = aliases_.find(a); al != aliases_.end()) a = al->second;
      auto it = value_opts_.find(a);
      if (it == value_opts_.end()) {
        throw usage_error(std::string(command_) + ": unknown option '" + a + "'");
      }
      if (it->second) {
        if (inline_value) {
          values_[a] = *inline_value;
        } else {
          if (i + 1 >= args_.size()) {
            throw usage_error(std::string(command_) + ": option '" + a + "' needs a value");
          }
          values_[a] = args_[++i];
        }
      } else {
        if (inline_value) {
          throw usage_error(std::string(command_) + ": option '" + a + "' takes no value");
        }
        flags_[a] = true;
      }
    }
    return *this;
  }

  [[nodiscard]] bool has(const std::string& name) const {
    return values_.count(name) != 0 || flags_.count(name) != 0;
  }
  [[nodiscard]] std::optional<std::string> get(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) return std::nullopt;
    return it->second;
  }
  [[nodiscard]] std::string get_or(const std::string& name, std::string fallback) const {
    return get(name).value_or(std::move(fallback));
  }
  /// An integer option in [lo, hi], or `fallback` when absent.
  [[nodiscard]] long long get_int(const std::string& name, long long fallback, long long lo,
                                  long long hi) const {
    auto v = get(name);
    if (!v) return fallback;
    std::size_t used = 0;
    long long n = 0;
    try {
      n = std::stoll(*v, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != v->size() || v->empty() || n < lo || n > hi) {
      throw usage_error(std::string(command_) + ": option '" + name + "' expects an integer in [" +
                        std::to_string(lo) + ", " + std::to_string(hi) + "], got '" + *v + "'");
    }
    return n;
  }
  [[nodiscard]] const std::vector<std::string>& positionals() const noexcept {
    return positionals_;
  }
  /// Requires between `min` and `max` positionals.
  void expect_positionals(std::size_t min, std::size_t max, std::string_view what) const {
    if (positionals_.size() < min || positionals_.size() > max) {
      throw usage_error(std::string(command_) + ": expected " + std::string(what));
    }
  }

 private:
  std::string_view command_;
  const std::vector<std::string>& args_;
  std::map<std::string, bool> value_opts_;  // name -> takes a value
  std::map<std::string, std::string> aliases_;
  std::map<std::string, std::string> values_;
  std::map<std::string, bool> flags_;
  std::vector<std::string> positionals_;
};

/// Prints result rows (objects) in the context's format: a TOON table `name[N]{cols}:`, a JSON
/// array, or an aligned text table with a header line.
inline void print_rows(context& ctx, const std::string& name, const nlohmann::ordered_json& rows) {
  using ojson = nlohmann::ordered_json;
  if (ctx.format == output_format::json) {
    ctx.out << rows.dump(2, ' ', false, ojson::error_handler_t::replace) << "\n";
    return;
  }
  if (ctx.format == output_format::toon) {
    ctx.out << sochdb::toon::encode(ojson{{name, rows}}) << "\n";
    return;
  }
  // table: columns in first-seen order; cells are strings as they are, other JSON compact.
  std::vector<std::string> cols;
  for (auto& r : rows)
    for (auto& [k, v] : r.items())
      if (std::find(cols.begin(), cols.end(), k) == cols.end()) cols.push_back(k);
  auto cell = [](const ojson& r, const std::string& c) -> std::string {
    if (!r.contains(c)) return "";
    const ojson& v = r[c];
    std::string s = v.is_string() ? v.get<std::string>()
                                  : v.dump(-1, ' ', false, ojson::error_handler_t::replace);
    for (auto& ch : s)
      if (ch == '\n' || ch == '\t' || ch == '\r') ch = ' ';
    return s;
  };
  std::vector<std::size_t> width(cols.size());
  for (std::size_t i = 0; i < cols.size(); ++i) {
    width[i] = cols[i].size();
    for (auto& r : rows) width[i] = std::max(width[i], cell(r, cols[i]).size());
  }
  auto line = [&](auto get) {
    std::string out;
    for (std::size_t i = 0; i < cols.size(); ++i) {
      std::string c = get(i);
      out += c;
      if (i + 1 < cols.size()) out += std::string(width[i] - c.size() + 2, ' ');
    }
    ctx.out << out << "\n";
  };
  line([&](std::size_t i) { return cols[i]; });
  line([&](std::size_t i) { return std::string(width[i], '-'); });
  for (auto& r : rows) line([&](std::size_t i) { return cell(r, cols[i]); });
}

}  // namespace sochdb_cli
