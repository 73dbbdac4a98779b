// The `sochdb collection` command: collections of documents with vectors, metadata and text.
//
//     sochdb --db ./db collection create docs --dim 3 --metric cosine --hybrid
//     sochdb --db ./db collection insert docs < docs.jsonl      # {"id", "vector", "metadata",
//     "text"} sochdb --db ./db collection search docs --vector '[1,0,0]' --filter '{"year":
//     {"$gte": 2020}}' -k 5 sochdb --db ./db collection search docs --text "machine learning"
//     --format json sochdb --db ./db collection list | info docs | delete docs
//
// Every subcommand takes `--ns NAME` (default "default"; created on first use by create and
// insert). insert reads JSON Lines from stdin (or a FILE argument): each line an object with
// "id" (string), "vector" (array of numbers) or "vectors" (array of arrays), optional
// "metadata" (object) and "text" (string). All lines are parsed and validated before anything
// is written, then inserted in one transaction (a bad line: exit 1 naming the line, nothing
// written). search prints TOON (default) or JSON: id, score, distance, metric, metadata.
#pragma once

#include "cli.hpp"
#include "cmd_kv.hpp"

#include <sochdb/db.hpp>
#include <sochdb/toon.hpp>

#include <fstream>
#include <string>
#include <vector>

namespace sochdb_cli {
namespace collection_detail {

constexpr std::string_view usage =
    "usage: sochdb --db DIR collection create NAME --dim N [--metric cosine|l2|ip]\n"
    "                 [--quantization none|sq8|pq] [--hybrid] [--content-field FIELD] [--ns NS]\n"
    "       sochdb --db DIR collection list [--ns NS]\n"
    "       sochdb --db DIR collection info NAME [--ns NS]\n"
    "       sochdb --db DIR collection delete NAME [--ns NS]\n"
    "       sochdb --db DIR collection insert NAME [FILE] [--ns NS]      (JSON Lines; stdin by "
    "default)\n"
    "       sochdb --db DIR collection search NAME (--vector JSON | --text STR) [--filter JSON]\n"
    "                 [-k N] [--alpha A] [--ns NS] [--format toon|json]\n"
    "\n"
    "Collections store documents (id, vectors, metadata, text) in the KV store and search them\n"
    "by vector (HNSW), keyword (BM25, collections created with --hybrid) or both (reciprocal\n"
    "rank fusion, or alpha * vector + (1 - alpha) * keyword with --alpha).\n"
    "\n"
    "insert lines: {\"id\": \"d1\", \"vector\": [0.1, 0.2, 0.3], \"metadata\": {\"year\": 2024}, "
    "\"text\": \"...\"}\n"
    "  (\"vectors\": [[...], [...]] for a multi-vector document). Every line is checked first;\n"
    "  then all are inserted in one transaction.\n"
    "filters: {\"field\": value}, {\"field\": {\"$gt\": 1}}, $eq $ne $gt $gte $lt $lte $in $nin,\n"
    "  {\"$and\": [...]}, {\"$or\": [...]}, {\"$not\": {...}}; nested fields as \"a.b\".\n"
    "\n"
    "examples:\n"
    "  sochdb --db ./db collection create docs --dim 3 --hybrid\n"
    "  sochdb --db ./db collection insert docs < docs.jsonl\n"
    "  sochdb --db ./db collection search docs --vector '[1,0,0]' -k 3 --filter '{\"year\": "
    "2024}'\n";

inline nlohmann::json parse_json_arg(const std::string& what, const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) throw usage_error("collection: " + what + " is not valid JSON: " + text);
  return j;
}

inline std::vector<float> to_vector(const nlohmann::json& j, const std::string& where) {
  if (!j.is_array())
    throw sochdb::invalid_argument(where + ": a vector must be an array of numbers");
  std::vector<float> v;
  for (auto& x : j) {
    if (!x.is_number())
      throw sochdb::invalid_argument(where + ": a vector must be an array of numbers");
    v.push_back(x.get<float>());
  }
  return v;
}

inline void print(context& ctx, const nlohmann::ordered_json& j) {
  if (ctx.format == output_format::json) {
    ctx.out << j.dump(2) << "\n";
  } else {
    ctx.out << sochdb::toon::encode(j) << "\n";
  }
}

inline int run(context& ctx, const std::vector<std::string>& args) {
  arg_parser p("collection", args);
  p.value("--ns")
      .value("--dim")
      .value("--metric")
      .value("--quantization")
      .value("--content-field")
      .flag("--hybrid")
      .value("--vector")
      .value("--text")
      .value("--filter")
      .value("-k")
      .value("--alpha")
      .value("--format");
  p.parse();
  if (auto f = p.get("--format")) {
    if (*f == "json")
      ctx.format = output_format::json;
    else if (*f == "toon")
      ctx.format = output_format::toon;
    else
      throw usage_error("collection: --format expects toon or json, got '" + *f + "'");
  }
  const auto& pos = p.positionals();
  if (pos.empty())
    throw usage_error(
        "collection: expected a subcommand (create, list, info, delete, insert, search)");
  const std::string sub = pos[0];
  std::string ns_name = p.get_or("--ns", "default");
  sochdb::validate_name(ns_name, "namespace");
  auto need_name = [&](std::size_t max_pos) {
    if (pos.size() < 2 || pos.size() > max_pos)
      throw usage_error("collection " + sub + ": expected " +
                        (max_pos == 2 ? "NAME" : "NAME [FILE]"));
    return pos[1];
  };
  if (sub == "create") {
    std::string name = need_name(2);
    if (!p.has("--dim")) throw usage_error("collection create: --dim N is required");
    sochdb::collection_config c{
        .name = name, .dimension = static_cast<std::size_t>(p.get_int("--dim", 0, 1, 65536))};
    try {
      c.metric = sochdb::collection_config::parse_metric(p.get_or("--metric", "cosine"));
      c.quantization =
          sochdb::collection_config::parse_quantization(p.get_or("--quantization", "none"));
    } catch (const sochdb::invalid_argument& e) {
      throw usage_error(std::string("collection create: ") + e.what());
    }
    c.hybrid = p.has("--hybrid");
    c.content_field = p.get_or("--content-field", "");
    sochdb::validate_name(name, "collection");
    auto db = kv_detail::open_db(ctx, "collection");
    auto ns = db.get_or_create_namespace(ns_name);
    ns.create_collection(c);
    ctx.err << "created collection " << name << " in namespace " << ns_name << "\n";
    db.close();
    return 0;
  }
  if (sub == "list") {
    if (pos.size() != 1) throw usage_error("collection list: takes no NAME");
    auto db = kv_detail::open_db(ctx, "collection", sochdb::sync_mode::full, false);
    nlohmann::ordered_json j = nlohmann::ordered_json::array();
    if (db.namespace_exists(ns_name)) {
      for (auto& n : db.ns(ns_name).list_collections()) j.push_back(n);
    }
    print(ctx, nlohmann::ordered_json{{"namespace", ns_name}, {"collections", j}});
    return 0;
  }
  if (sub == "info" || sub == "delete" || sub == "insert" || sub == "search") {
    std::string name = need_name(sub == "insert" ? 3 : 2);
    sochdb::validate_name(name, "collection");
    if (sub == "search" && p.has("--vector") == false && p.has("--text") == false)
      throw usage_error("collection search: give --vector JSON or --text STR (or both)");
    // Parse everything a command reads before opening the database.
    std::vector<sochdb::document> docs;
    if (sub == "insert") {
      std::ifstream file;
      std::istream* in = &ctx.in;
      if (pos.size() == 3 && pos[2] != "-") {
        file.open(pos[2]);
        if (!file) throw command_failed("collection insert: cannot open " + pos[2]);
        in = &file;
      }
      std::string line;
      for (int n = 1; std::getline(*in, line); ++n) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        std::string where = "collection insert: line " + std::to_string(n);
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) throw command_failed(where + ": not a JSON object");
        sochdb::document d;
        if (!j.contains("id") || !j["id"].is_string())
          throw command_failed(where + ": \"id\" (a string) is required");
        d.id = j["id"].get<std::string>();
        try {
          if (j.contains("vector")) d.vectors.push_back(to_vector(j["vector"], where));
          if (j.contains("vectors")) {
            if (!j["vectors"].is_array())
              throw sochdb::invalid_argument(where + ": \"vectors\" must be an array of arrays");
            for (auto& v : j["vectors"]) d.vectors.push_back(to_vector(v, where));
          }
        } catch (const sochdb::invalid_argument& e) {
          throw command_failed(e.what());
        }
        if (j.contains("metadata")) {
          if (!j["metadata"].is_object())
            throw command_failed(where + ": \"metadata\" must be an object");
          d.metadata = j["metadata"];
        }
        if (j.contains("text")) {
          if (!j["text"].is_string()) throw command_failed(where + ": \"text\" must be a string");
          d.text = j["text"].get<std::string>();
        }
        docs.push_back(std::move(d));
      }
    }
    sochdb::search_request req;
    if (sub == "search") {
      if (auto v = p.get("--vector")) {
        try {
          req.vector = to_vector(parse_json_arg("--vector", *v), "collection search: --vector");
        } catch (const sochdb::invalid_argument& e) {
          throw usage_error(e.what());
        }
      }
      req.text = p.get_or("--text", "");
      req.k = static_cast<std::size_t>(p.get_int("-k", 10, 1, 100000));
      if (auto f = p.get("--filter")) {
        try {
          req.filter = sochdb::metadata_filter::compile(parse_json_arg("--filter", *f));
        } catch (const sochdb::invalid_argument& e) {
          throw usage_error(std::string("collection search: ") + e.what());
        }
      }
      if (auto a = p.get("--alpha")) {
        try {
          std::size_t used = 0;
          req.alpha = std::stod(*a, &used);
          if (used != a->size()) throw std::invalid_argument("trailing");
        } catch (const std::exception&) {
          throw usage_error("collection search: --alpha expects a number in [0, 1]");
        }
      }
    }
    auto db = kv_detail::open_db(ctx, "collection", sochdb::sync_mode::full, sub == "insert");
    if (!db.namespace_exists(ns_name)) {
      if (sub != "insert") throw sochdb::not_found("namespace " + ns_name + " does not exist");
    }
    auto ns = db.get_or_create_namespace(ns_name);
    if (sub == "delete") {
      if (!ns.delete_collection(name))
        throw sochdb::not_found("collection " + name + " does not exist in namespace " + ns_name);
      ctx.err << "deleted collection " << name << "\n";
      db.close();
      return 0;
    }
    auto c = ns.collection(name);
    if (sub == "info") {
      auto j = c.info().to_json();
      nlohmann::ordered_json o;
      o["namespace"] = ns_name;
      for (auto& [k, v] : j.items()) o[k] = v;
      print(ctx, o);
    } else if (sub == "insert") {
      c.insert_batch(docs);
      ctx.err << "inserted " << docs.size() << " documents into " << name << "\n";
    } else {
      auto hits = c.search(req);
      nlohmann::ordered_json arr = nlohmann::ordered_json::array();
      for (auto& h : hits) {
        nlohmann::ordered_json o;
        o["id"] = h.id;
        o["score"] = h.score;
        if (!std::isnan(h.distance)) {
          o["distance"] = h.distance;
          o["metric"] = std::string(sochdb::simd::to_string(h.metric));
        }
        if (!std::isnan(h.keyword_score)) o["bm25"] = h.keyword_score;
        o["metadata"] = h.metadata;
        arr.push_back(std::move(o));
      }
      print(ctx, nlohmann::ordered_json{{"results", arr}});
    }
    db.close();
    return 0;
  }
  throw usage_error("collection: unknown subcommand '" + sub +
                    "' (create, list, info, delete, insert, search)");
}

}  // namespace collection_detail

inline std::vector<command> collection_commands() {
  return {{"collection",
           "collections: create, list, info, delete, insert JSONL, vector/keyword/hybrid search",
           collection_detail::usage, collection_detail::run}};
}

}  // namespace sochdb_cli
