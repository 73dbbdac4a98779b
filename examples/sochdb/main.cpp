// sochdb — the command-line tool.
//
//   sochdb [--db DIR] [--format toon|json|table] COMMAND [ARGS...]
//   sochdb [--db DIR] [--format toon|json|table]          # the interactive shell
//
// Exit status: 0 success, 1 failure or not found, 2 usage error. Results go to stdout, errors
// to stderr. Each command lives in its own header and is listed in `all_commands()`.
#include "cli.hpp"
#include "cmd_io.hpp"
#include "cmd_collection.hpp"
#include "cmd_graph.hpp"
#include "cmd_kv.hpp"
#include "cmd_mcp.hpp"
#include "cmd_simd.hpp"
#include "cmd_toon.hpp"
#include "cmd_txn.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <iostream>

namespace sochdb_cli {
namespace {

constexpr std::string_view tool_usage =
    "usage: sochdb [--db DIR] [--format toon|json|table] COMMAND [ARGS...]\n"
    "       sochdb [--db DIR] [--format toon|json|table]     (interactive shell)\n"
    "       sochdb --help | --version | COMMAND --help\n";

std::vector<command> all_commands();

int cmd_version(context& ctx, const std::vector<std::string>& args) {
  arg_parser(("version"), args).parse().expect_positionals(0, 0, "no arguments");
  ctx.out << "sochdb " << sochdb::version_string << "\n";
  return 0;
}

void print_overview(std::ostream& os) {
  os << "sochdb " << sochdb::version_string << " - embedded AI-native database\n\n"
     << tool_usage
     << "\nglobal options:\n"
        "  --db DIR          database directory (commands that read or write data need it)\n"
        "  --format FMT      result format: toon (default), json or table\n"
        "  -h, --help        this help; `sochdb COMMAND --help` for a command\n"
        "  --version         print the version\n"
        "\nWithout a COMMAND, sochdb runs a shell: it reads commands from stdin, one per line\n"
        "(prompting when stdin is a terminal), until `quit` or end of input.\n"
        "\ncommands:\n";
  auto cmds = all_commands();
  std::size_t width = 0;
  for (auto& c : cmds) width = std::max(width, c.name.size());
  for (auto& c : cmds) {
    os << "  " << c.name << std::string(width + 2 - c.name.size(), ' ') << c.summary << "\n";
  }
  os << "\nexit status: 0 success, 1 failure or not found, 2 usage error\n";
}

int cmd_help(context& ctx, const std::vector<std::string>& args) {
  arg_parser p("help", args);
  p.parse().expect_positionals(0, 1, "at most one command name");
  if (p.positionals().empty()) {
    print_overview(ctx.out);
    return 0;
  }
  for (auto& c : all_commands()) {
    if (c.name == p.positionals()[0]) {
      ctx.out << c.usage;
      return 0;
    }
  }
  throw usage_error("help: unknown command '" + p.positionals()[0] + "'");
}

// Each area's commands live in cmd_<area>.hpp as `std::vector<command> <area>_commands()` and
// are appended here, one line per area.
std::vector<command> all_commands() {
  std::vector<command> cmds = {
      {"help", "show help for the tool or one command",
       "usage: sochdb help [COMMAND]\n\nShows the command list, or the full help of COMMAND.\n",
       cmd_help},
      {"version", "print the version", "usage: sochdb version\n", cmd_version},
  };
  auto add = [&cmds](std::vector<command> more) {
    for (auto& c : more) cmds.push_back(std::move(c));
  };
  add(kv_commands());
  add(simd_commands());
  add(txn_commands());
  add(toon_commands());
  add(io_commands());
  add(mcp_commands());
  add(collection_commands());
  add(graph_commands());
  return cmds;
}

/// Runs the command `name` with `rest` (after its name); `--help` anywhere prints its usage.
int dispatch(context& ctx, const std::string& name, const std::vector<std::string>& rest) {
  for (auto& c : all_commands()) {
    if (c.name != name) continue;
    if (std::find_if(rest.begin(), rest.end(), [](const std::string& s) {
          return s == "--help" || s == "-h";
        }) != rest.end()) {
      ctx.out << c.usage;
      return 0;
    }
    return c.run(ctx, rest);
  }
  throw usage_error("unknown command '" + name + "'");
}

/// Runs `fn`, turning the exceptions of a failed command into its exit status and a message on
/// stderr: usage_error 2, everything else 1.
template <class F>
int guarded(std::ostream& err, F&& fn, bool usage_hint) {
  try {
    return fn();
  } catch (const usage_error& e) {
    err << "sochdb: " << e.what() << "\n";
    if (usage_hint) err << tool_usage << "run 'sochdb --help' for the list of commands\n";
    return 2;
  } catch (const command_failed& e) {
    err << "sochdb: " << e.what() << "\n";
    return 1;
  } catch (const sochdb::error& e) {
    err << "sochdb: " << sochdb::to_string(e.code()) << ": " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    err << "sochdb: " << e.what() << "\n";
    return 1;
  }
}

/// Splits a shell line into words: blanks separate, '...' and "..." quote, backslash escapes
/// (outside single quotes). An unterminated quote is a usage error.
std::vector<std::string> split_words(const std::string& line) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < line.size()) {
        cur += line[++i];
      } else {
        cur += c;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < line.size()) {
      cur += line[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      if (in_word) words.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (quote) throw usage_error(std::string("unterminated ") + quote + " quote");
  if (in_word) words.push_back(std::move(cur));
  return words;
}

constexpr std::string_view shell_help =
    "Type a command as you would after `sochdb` (global options come from the command line;\n"
    "a line may start with --format FMT), e.g.\n"
    "  put user:1 Alice\n  get user:1\n  --format table scan user:\n"
    "Quote words with '...' or \"...\". `help COMMAND` shows a command's help; `quit` (or\n"
    "end of input) leaves. Commands that read stdin (batch, txn, mcp, import -) are not\n"
    "available here.\n";

/// The interactive shell: commands from stdin until `quit` or end of input. Exit status 0 when
/// every command succeeded, else the status of the last failure.
int run_shell(context& ctx) {
  const bool tty = ::isatty(0) == 1;
  if (tty) {
    ctx.out << "sochdb " << sochdb::version_string << " shell"
            << (ctx.db_path ? " on " + *ctx.db_path
                            : std::string(" (no --db: KV commands need one)"))
            << ". `help` lists commands, `quit` leaves.\n";
  }
  int status = 0;
  std::string line;
  for (int n = 1;; ++n) {
    if (tty) ctx.out << "sochdb> " << std::flush;
    if (!std::getline(ctx.in, line)) break;
    int rc = guarded(
        ctx.err,
        [&]() -> int {
          std::vector<std::string> words = split_words(line);
          if (words.empty() || words[0].rfind('#', 0) == 0) return 0;
          context line_ctx = ctx;
          std::size_t i = 0;
          if (words[0] == "--format" || words[0].rfind("--format=", 0) == 0) {
            std::string f = words[0].size() > 8 ? words[0].substr(9)
                            : words.size() > 1  ? words[1]
                                                : throw usage_error("--format needs a value");
            i = words[0].size() > 8 ? 1 : 2;
            if (f == "toon")
              line_ctx.format = output_format::toon;
            else if (f == "json")
              line_ctx.format = output_format::json;
            else if (f == "table")
              line_ctx.format = output_format::table;
            else
              throw usage_error("--format expects toon, json or table, got '" + f + "'");
            line_ctx.format_set = true;
          }
          if (i >= words.size()) throw usage_error("no command given");
          const std::string& name = words[i];
          std::vector<std::string> rest(words.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                                        words.end());
          if (name == "quit" || name == "exit" || name == ".quit") return -1;
          if (name == "help" && rest.empty()) {
            ctx.out << shell_help << "\n";
            print_overview(ctx.out);
            return 0;
          }
          if (name == "batch" || name == "txn" || name == "mcp" ||
              (name == "import" && std::find(rest.begin(), rest.end(), "-") != rest.end()))
            throw usage_error(name + " reads stdin and is not available in the shell");
          return dispatch(line_ctx, name, rest);
        },
        false);
    if (rc == -1) break;
    if (rc != 0) {
      status = rc;
      if (!tty) ctx.err << "sochdb: (line " << n << ")\n";
    }
  }
  if (tty) ctx.out << "\n";
  return status;
}

int run(int argc, char** argv) {
  context ctx;
  std::vector<std::string> args(argv + 1, argv + argc);
  std::size_t i = 0;
  // Global options come before the command.
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value_of = [&](std::string_view name) -> std::string {
      auto prefix = std::string(name) + "=";
      if (a.rfind(prefix, 0) == 0) return a.substr(prefix.size());
      if (i + 1 >= args.size()) throw usage_error(std::string(name) + " needs a value");
      return args[++i];
    };
    if (a == "--db" || a.rfind("--db=", 0) == 0) {
      ctx.db_path = value_of("--db");
    } else if (a == "--format" || a.rfind("--format=", 0) == 0) {
      std::string f = value_of("--format");
      if (f == "toon")
        ctx.format = output_format::toon;
      else if (f == "json")
        ctx.format = output_format::json;
      else if (f == "table")
        ctx.format = output_format::table;
      else
        throw usage_error("--format expects toon, json or table, got '" + f + "'");
      ctx.format_set = true;
    } else if (a == "--help" || a == "-h") {
      print_overview(ctx.out);
      return 0;
    } else if (a == "--version") {
      ctx.out << "sochdb " << sochdb::version_string << "\n";
      return 0;
    } else if (a.size() > 1 && a[0] == '-') {
      throw usage_error("unknown option '" + a + "'");
    } else {
      break;
    }
  }
  if (i == args.size()) return run_shell(ctx);
  std::string name = args[i];
  std::vector<std::string> rest(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
  return dispatch(ctx, name, rest);
}

}  // namespace
}  // namespace sochdb_cli

int main(int argc, char** argv) {
  using namespace sochdb_cli;
  return guarded(
      std::cerr, [&] { return run(argc, argv); }, true);
}
