// The key-value commands of the `sochdb` tool: put, get, del, scan, stats, compact, checkpoint,
// check.
//
// Every command but `check` opens the database in --db DIR for writing (it takes the
// directory's lock, so a second process gets a clear `locked` error) and closes it before
// exiting. `put` and `del` return after the commit is durable (sync full unless --sync says
// otherwise). `check` only reads: it verifies every checksum of every WAL segment, the manifest
// and every SSTable block, and names the first damaged byte.
#pragma once

#include "cli.hpp"

#include <sochdb/mcp/kv_tools.hpp>  // make_row: a key and its value as a result row

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace sochdb_cli {
namespace kv_detail {

inline sochdb::sync_mode parse_sync(const arg_parser& p, std::string_view cmd) {
  std::string s = p.get_or("--sync", "full");
  if (s == "full") return sochdb::sync_mode::full;
  if (s == "normal") return sochdb::sync_mode::normal;
  if (s == "off") return sochdb::sync_mode::off;
  throw usage_error(std::string(cmd) + ": --sync expects full, normal or off, got '" + s + "'");
}

inline sochdb::database open_db(const context& ctx, std::string_view cmd,
                                sochdb::sync_mode sync = sochdb::sync_mode::full,
                                bool create = true) {
  return sochdb::database::open(
      ctx.require_db(cmd), {.sync = sync, .auto_checkpoint = false, .create_if_missing = create});
}

inline int cmd_put(context& ctx, const std::vector<std::string>& args) {
  arg_parser p("put", args);
  p.value("--ttl").value("--sync").parse().expect_positionals(2, 2, "KEY VALUE");
  long long ttl = p.get_int("--ttl", 0, 0, 100LL * 365 * 24 * 3600);
  auto db = open_db(ctx, "put", parse_sync(p, "put"));
  const auto& pos = p.positionals();
  if (ttl > 0) {
    db.put(pos[0], pos[1], std::chrono::seconds(ttl));
  } else {
    db.put(pos[0], pos[1]);
  }
  db.close();
  return 0;
}

inline int cmd_get(context& ctx, const std::vector<std::string>& args) {
  arg_parser p("get", args);
  p.parse().expect_positionals(1, 1, "KEY");
  auto db = open_db(ctx, "get", sochdb::sync_mode::full, false);
  auto v = db.get(p.positionals()[0]);
  if (!v) throw command_failed("not found: " + sochdb::printable_key(p.positionals()[0]));
  if (ctx.format_set) {
    print_rows(
        ctx, "rows",
        nlohmann::ordered_json::array({sochdb::mcp::detail::make_row(p.positionals()[0], *v)}));
    return 0;
  }
  ctx.out << *v << "\n";
  return 0;
}

inline int cmd_del(context& ctx, const std::vector<std::string>& args) {
  arg_parser p("del", args);
  p.value("--sync").parse().expect_positionals(1, 1, "KEY");
  auto db = open_db(ctx, "del", parse_sync(p, "del"), false);
  db.del(p.positionals()[0]);
  db.close();
  return 0;
}

inline int cmd_scan(context& ctx, const std::vector<std::string>& args) {
  arg_parser p("scan", args);
  p.flag("--reverse", "-r").value("--limit", "-n").parse().expect_positionals(0, 1, "[PREFIX]");
  long long limit = p.get_int("--limit", -1, 0, (1LL << 62));
  std::string prefix = p.positionals().empty() ? "" : p.positionals()[0];
  auto db = open_db(ctx, "scan", sochdb::sync_mode::full, false);
  auto order = p.has("--reverse") ? sochdb::scan_order::reverse : sochdb::scan_order::forward;
  long long n = 0;
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (auto [k, v] : db.scan_prefix_unchecked(prefix, order)) {
    if (limit >= 0 && n >= limit) break;
    if (ctx.format_set)
      rows.push_back(sochdb::mcp::detail::make_row(k, v));
    else
      ctx.out << k << '\t' << v << '\n';
    ++n;
  }
  if (ctx.format_set) print_rows(ctx, "rows", rows);
  return 0;
}

inline int cmd_stats(context& ctx, const std::vector<std::string>& args) {
  arg_parser p("stats", args);
  p.parse().expect_positionals(0, 0, "no arguments");
  auto db = open_db(ctx, "stats", sochdb::sync_mode::full, false);
  std::uint64_t keys = 0, bytes = 0;
  for (auto [k, v] : db.scan_prefix_unchecked("")) {
    ++keys;
    bytes += k.size() + v.size();
  }
  auto s = db.stats();
  auto& st = s.storage;
  auto& r = st.recovery;
  auto& l = st.lsm;
  nlohmann::ordered_json j = {
      {"keys", keys},
      {"key_value_bytes", bytes},
      {"memtable_entries", st.memtable_entries},
      {"memtable_bytes", st.memtable_bytes},
      {"wal_bytes", st.wal_bytes},
      {"wal_segments", st.wal_segments},
      {"checkpoint_bytes", st.checkpoint_bytes},
      {"last_commit_ts", s.last_commit_ts},
      {"recovery_checkpoint_entries", r.checkpoint_entries},
      {"recovery_segments", r.segments},
      {"recovery_records", r.records},
      {"recovery_transactions", r.transactions},
      {"recovery_discarded_transactions", r.discarded_transactions},
      {"recovery_truncated_bytes", r.truncated_bytes},
      {"recovery_skipped_corrupt", r.skipped_corrupt},
      {"recovery_seconds", r.seconds},
  };
  if (l.enabled) {
    for (std::size_t i = 0; i < l.levels.size(); ++i) {
      std::string lv = "level" + std::to_string(i);
      j[lv + "_files"] = l.levels[i].files;
      j[lv + "_bytes"] = l.levels[i].bytes;
    }
    j["sst_files"] = l.sst_files;
    j["sst_bytes"] = l.sst_bytes;
    j["immutable_memtables"] = l.immutable_memtables;
    j["flushes"] = l.flushes;
    j["compactions"] = l.compactions;
    j["trivial_moves"] = l.trivial_moves;
    j["write_amplification"] = l.write_amplification;
    j["stall_micros"] = l.stall_micros;
    j["cache_capacity"] = l.cache_capacity;
    j["cache_usage"] = l.cache_usage;
    j["cache_hit_rate"] = l.cache_hit_rate;
    j["bloom_checks"] = l.bloom_checks;
    j["bloom_useful"] = l.bloom_useful;
    j["table_memory"] = l.table_memory;
  }
  if (ctx.format == output_format::json) {
    ctx.out << j.dump(2) << "\n";
  } else if (ctx.format == output_format::table) {
    for (auto& [k, v] : j.items())
      ctx.out << k << std::string(34 - k.size(), ' ') << v.dump() << "\n";
  } else {
    for (auto& [k, v] : j.items()) ctx.out << k << ": " << v.dump() << "\n";  // a TOON object
  }
  return 0;
}

// Prints the size of each level (after compact / checkpoint).
inline void print_levels(context& ctx, const sochdb::database_stats& s) {
  const auto& l = s.storage.lsm;
  for (std::size_t i = 0; i < l.levels.size(); ++i) {
    if (l.levels[i].files == 0) continue;
    ctx.out << "level " << i << ": " << l.levels[i].files << " files, " << l.levels[i].bytes
            << " bytes\n";
  }
}

inline int cmd_compact(context& ctx, const std::vector<std::string>& args) {
  arg_parser p("compact", args);
  p.value("--begin").value("--end").parse().expect_positionals(0, 1, "[PREFIX]");
  if (!p.positionals().empty() && (p.has("--begin") || p.has("--end"))) {
    throw usage_error("compact: give a PREFIX or --begin/--end, not both");
  }
  auto db = open_db(ctx, "compact", sochdb::sync_mode::full, false);
  auto before = db.stats().storage.lsm;
  if (!p.positionals().empty()) {
    const std::string& prefix = p.positionals()[0];
    db.compact_range(prefix, sochdb::prefix_successor(prefix));
  } else if (p.has("--begin") || p.has("--end")) {
    db.compact_range(p.get_or("--begin", ""), p.get_or("--end", ""));
  } else {
    db.compact();
  }
  auto s = db.stats();
  ctx.out << "compacted: " << before.sst_files << " files (" << before.sst_bytes << " bytes) -> "
          << s.storage.lsm.sst_files << " files (" << s.storage.lsm.sst_bytes << " bytes), "
          << s.storage.gc_dropped_versions << " old versions dropped\n";
  print_levels(ctx, s);
  db.close();
  return 0;
}

inline int cmd_checkpoint(context& ctx, const std::vector<std::string>& args) {
  arg_parser p("checkpoint", args);
  p.parse().expect_positionals(0, 0, "no arguments");
  auto db = open_db(ctx, "checkpoint", sochdb::sync_mode::full, false);
  db.checkpoint();
  auto s = db.stats();
  ctx.out << "checkpoint: memtable flushed, " << s.storage.wal_segments << " WAL segment(s) left\n";
  print_levels(ctx, s);
  db.close();
  return 0;
}

inline int cmd_check(context& ctx, const std::vector<std::string>& args) {
  arg_parser p("check", args);
  p.parse().expect_positionals(0, 0, "no arguments");
  sochdb::posix_fs fs;
  const std::string& dir = ctx.require_db("check");
  if (!fs.exists(dir))
    throw command_failed("check: database directory '" + dir + "' does not exist");
  if (fs.exists(sochdb::path_join(dir, "CURRENT"))) {
    auto rep = sochdb::verify_lsm_directory(fs, dir);
    if (!rep.ok) throw command_failed("check: " + rep.message);
    ctx.out << "ok: " << rep.sst_files << " sstables (" << rep.sst_blocks << " blocks, "
            << rep.sst_entries << " entries), " << rep.wal_files << " wal segments ("
            << rep.transactions << " transactions), " << rep.bytes << " bytes verified\n";
    return 0;
  }
  auto rep = sochdb::verify_wal_directory(fs, dir);
  if (!rep.ok) throw command_failed("check: " + rep.message());
  ctx.out << "ok: " << rep.files << " files, " << rep.records << " records, " << rep.transactions
          << " transactions, " << rep.bytes << " bytes verified\n";
  return 0;
}

}  // namespace kv_detail

inline std::vector<command> kv_commands() {
  using namespace kv_detail;
  return {
      {"put", "store a value under a key (returns after a durable commit)",
       "usage: sochdb --db DIR put KEY VALUE [--ttl SECONDS] [--sync full|normal|off]\n\n"
       "Stores VALUE under KEY in one commit and returns once it is durable (--sync full, the\n"
       "default). --ttl makes the value disappear after SECONDS.\n\n"
       "example: sochdb --db ./db put user:1 Alice\n",
       cmd_put},
      {"get", "print the value of a key",
       "usage: sochdb --db DIR [--format toon|json|table] get KEY\n\n"
       "Prints the value of KEY and a newline. A missing key prints \"not found\" on stderr and\n"
       "exits with status 1. With --format, prints a row {key, value} instead (a JSON-object\n"
       "value's fields become columns).\n\nexample: sochdb --db ./db get user:1\n",
       cmd_get},
      {"del", "delete a key",
       "usage: sochdb --db DIR del KEY [--sync full|normal|off]\n\n"
       "Deletes KEY (deleting a missing key succeeds) and returns once durable.\n",
       cmd_del},
      {"scan", "list keys and values in key order",
       "usage: sochdb --db DIR [--format toon|json|table] scan [PREFIX] [--reverse] [--limit N]\n\n"
       "Prints one KEY<TAB>VALUE line per key starting with PREFIX (all keys without one), in\n"
       "key order (descending with --reverse), at most N with --limit. With --format, prints\n"
       "the rows as a TOON table, a JSON array or an aligned table (JSON-object values have\n"
       "their fields as columns).\n\n"
       "example: sochdb --db ./db scan user:\n",
       cmd_scan},
      {"stats", "show key counts, sizes, levels, WAL, cache and recovery statistics",
       "usage: sochdb --db DIR [--format toon|json|table] stats\n\n"
       "Counts the live keys and prints memtable, WAL and recovery statistics, and for the LSM\n"
       "backend the files and bytes per level, flushes, compactions, write amplification,\n"
       "write-stall time, block cache hit rate and bloom filter counts (of this session).\n",
       cmd_stats},
      {"compact", "merge the SSTables down to the deepest level, dropping old versions",
       "usage: sochdb --db DIR compact [PREFIX | --begin KEY --end KEY]\n\n"
       "Flushes the memtable, then compacts every level (or only the files overlapping the keys\n"
       "starting with PREFIX, or [--begin, --end)) down to the deepest level that holds data,\n"
       "dropping deleted keys, expired values and overwritten versions. Prints the files and\n"
       "bytes before and after and the size of each level.\n\n"
       "example: sochdb --db ./db compact user:\n",
       cmd_compact},
      {"checkpoint", "flush the memtable to an SSTable and delete the WAL it covered",
       "usage: sochdb --db DIR checkpoint\n\n"
       "Writes the memtable (the data of the WAL tail) to a level-0 SSTable and deletes the WAL\n"
       "segments it covered, so the next open replays nothing.\n",
       cmd_checkpoint},
      {"check", "verify every checksum of the database files",
       "usage: sochdb --db DIR check\n\n"
       "Reads every WAL segment, the manifest and every block of every SSTable without opening\n"
       "the database and verifies every checksum (and that tables hold what the manifest says).\n"
       "Exits 1 naming the file and offset of the first damaged byte.\n",
       cmd_check},
  };
}

}  // namespace sochdb_cli
