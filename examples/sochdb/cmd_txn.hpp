// The `sochdb txn` command: a batch of operations from stdin applied in one transaction.
//
//     printf 'get acct/a\nput acct/a 90\nput acct/b 110\n' | sochdb --db ./db txn
//
// Every line is parsed before anything runs (a malformed line is a usage error naming it, and
// nothing is written); then the operations run in order in one transaction at the requested
// isolation level and it commits at the end of input (or aborts with --dry-run). Results of
// `get` and `scan` go to stdout as KEY<TAB>VALUE lines; a missing key prints "not found: KEY" on
// stderr and the transaction goes on. Any error aborts the whole transaction (exit status 1).
// The commit timestamp goes to stderr.
#pragma once

#include "cli.hpp"
#include "cmd_kv.hpp"

#include <sstream>
#include <string>
#include <vector>

namespace sochdb_cli {
namespace txn_detail {

struct txn_op {
  enum class kind { get, put, del, scan } k;
  std::string key;  // or prefix
  std::string value;
};

inline std::vector<txn_op> parse_ops(std::istream& in) {
  std::vector<txn_op> ops;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    std::string rest = line.substr(start);
    auto take_word = [&]() -> std::string {
      std::size_t end = rest.find_first_of(" \t");
      std::string w = rest.substr(0, end);
      rest = end == std::string::npos ? "" : rest.substr(end + 1);
      return w;
    };
    std::string op = take_word();
    std::string key = take_word();
    auto bad = [&](const std::string& why) {
      throw usage_error("txn: line " + std::to_string(n) + ": " + why);
    };
    if (op == "put") {
      if (key.empty()) bad("put needs KEY VALUE");
      ops.push_back({txn_op::kind::put, key, rest});  // the rest of the line, spaces and all
    } else if (op == "get" || op == "del" || op == "scan") {
      if (key.empty() && op != "scan") bad(op + " needs KEY");
      if (!rest.empty()) bad(op + " takes one argument");
      ops.push_back({op == "get"   ? txn_op::kind::get
                     : op == "del" ? txn_op::kind::del
                                   : txn_op::kind::scan,
                     key,
                     {}});
    } else {
      bad("unknown operation '" + op + "' (expected get, put, del or scan)");
    }
  }
  return ops;
}

inline int cmd_txn(context& ctx, const std::vector<std::string>& args) {
  arg_parser p("txn", args);
  p.value("--isolation", "-i").value("--sync").flag("--dry-run").parse();
  p.expect_positionals(0, 0, "no arguments (operations come from stdin)");
  std::string iso = p.get_or("--isolation", "serializable");
  sochdb::isolation_level level;
  if (iso == "serializable") {
    level = sochdb::isolation_level::serializable;
  } else if (iso == "snapshot") {
    level = sochdb::isolation_level::snapshot;
  } else if (iso == "read_committed") {
    level = sochdb::isolation_level::read_committed;
  } else {
    throw usage_error("txn: --isolation expects serializable, snapshot or read_committed, got '" +
                      iso + "'");
  }
  auto ops = parse_ops(ctx.in);
  auto db = kv_detail::open_db(ctx, "txn", kv_detail::parse_sync(p, "txn"));
  auto t = db.begin(level);
  std::size_t writes = 0;
  for (auto& op : ops) {
    switch (op.k) {
      case txn_op::kind::get: {
        auto v = t.get(op.key);
        if (v) {
          ctx.out << op.key << '\t' << *v << '\n';
        } else {
          ctx.err << "not found: " << op.key << '\n';
        }
        break;
      }
      case txn_op::kind::put:
        t.put(op.key, op.value);
        ++writes;
        break;
      case txn_op::kind::del:
        t.del(op.key);
        ++writes;
        break;
      case txn_op::kind::scan:
        for (auto [k, v] : t.scan_prefix_unchecked(op.key)) ctx.out << k << '\t' << v << '\n';
        break;
    }
  }
  if (p.has("--dry-run")) {
    t.abort();
    ctx.err << "dry run: " << writes << " writes discarded\n";
  } else {
    std::uint64_t ts = t.commit();
    ctx.err << "committed " << writes << " writes at ts " << ts << '\n';
  }
  db.close();
  return 0;
}

}  // namespace txn_detail

inline std::vector<command> txn_commands() {
  return {
      {"txn", "apply operations from stdin in one transaction",
       "usage: sochdb --db DIR txn [--isolation serializable|snapshot|read_committed]\n"
       "                           [--sync full|normal|off] [--dry-run] < OPERATIONS\n\n"
       "Reads one operation per line from stdin and runs them in order in one transaction,\n"
       "which commits at the end of input (all or nothing):\n"
       "  get KEY          prints KEY<TAB>VALUE (a missing key: \"not found: KEY\" on stderr)\n"
       "  put KEY VALUE    VALUE is the rest of the line\n"
       "  del KEY\n"
       "  scan [PREFIX]    prints KEY<TAB>VALUE for every key with PREFIX, as the\n"
       "                   transaction sees them (its own writes included)\n"
       "Blank lines and lines starting with # are skipped. Every line is checked before\n"
       "anything runs: a malformed one is a usage error naming its line number. --dry-run\n"
       "runs everything and aborts instead of committing. The commit timestamp goes to stderr.\n\n"
       "example: printf 'get acct/a\\nput acct/a 90\\nput acct/b 110\\n' | sochdb --db ./db txn\n",
       txn_detail::cmd_txn},
  };
}

}  // namespace sochdb_cli
