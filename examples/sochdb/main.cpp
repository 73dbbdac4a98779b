// sochdb — the command-line tool.
//
//   sochdb [--db DIR] [--format toon|json|table] COMMAND [ARGS...]
//
// Exit status: 0 success, 1 failure or not found, 2 usage error. Results go to stdout, errors
// to stderr. Each command lives in its own header and is listed in `all_commands()`.
#include "cli.hpp"
#include "cmd_kv.hpp"
#include "cmd_mcp.hpp"
#include "cmd_simd.hpp"
#include "cmd_toon.hpp"
#include "cmd_txn.hpp"

#include <algorithm>
#include <cstring>
#include <exception>
#include <iostream>

namespace sochdb_cli {
namespace {

constexpr std::string_view tool_usage =
    "usage: sochdb [--db DIR] [--format toon|json|table] COMMAND [ARGS...]\n"
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
  add(mcp_commands());
  return cmds;
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
  if (i == args.size()) {
    throw usage_error("no command given");
  }
  std::string name = args[i];
  std::vector<std::string> rest(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
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

}  // namespace
}  // namespace sochdb_cli

int main(int argc, char** argv) {
  using namespace sochdb_cli;
  try {
    return run(argc, argv);
  } catch (const usage_error& e) {
    std::cerr << "sochdb: " << e.what() << "\n"
              << tool_usage << "run 'sochdb --help' for the list of commands\n";
    return 2;
  } catch (const command_failed& e) {
    std::cerr << "sochdb: " << e.what() << "\n";
    return 1;
  } catch (const sochdb::error& e) {
    std::cerr << "sochdb: " << sochdb::to_string(e.code()) << ": " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "sochdb: " << e.what() << "\n";
    return 1;
  }
}
