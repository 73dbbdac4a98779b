// libFuzzer target: hostile graph keys and values. The input is split at 0xFE bytes into
// key/value pairs stored under a graph's prefix (the first byte of each key picks a tag); then
// every read path runs over them: get_node, neighbors and edges both ways, traverse, find_path,
// temporal queries, nodes_of_type and delete_node. Anything but a sochdb::error is a bug.
#include <sochdb/db.hpp>
#include <sochdb/graph.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using namespace sochdb;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using mem_db = basic_database<memory_storage>;
  static const char* tags[] = {"n/", "t/", "o/", "i/", "e/", "E/", "T/"};
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> parts;
  while (!in.empty() && parts.size() < 64) {
    std::size_t cut = in.find('\xfe');
    parts.push_back(in.substr(0, cut));
    in = cut == std::string_view::npos ? std::string_view{} : in.substr(cut + 1);
  }
  try {
    auto db = mem_db::open("/f", {}, memory_fs{});
    graph_store g(db, {.key_prefix = "G"});
    for (std::size_t i = 0; i + 1 < parts.size(); i += 2) {
      std::string_view k = parts[i];
      if (k.empty()) continue;
      std::string key = "G";
      key += tags[static_cast<unsigned char>(k[0]) % 7];
      key += k.substr(1);
      db.put(key, parts[i + 1]);
    }
    std::string a("a\0\x01", 3);
    for (const std::string& id : {std::string("a"), std::string("b"), std::string("")}) {
      auto guard = [&](auto&& fn) {
        try {
          fn();
        } catch (const error&) {
        }
      };
      guard([&] { (void)g.get_node(id); });
      guard([&] { (void)g.neighbors(id, direction::both); });
      guard([&] { (void)g.edges(id, direction::both); });
      guard([&] { (void)g.traverse(id, {.max_depth = 3, .dir = direction::both}); });
      guard([&] { (void)g.traverse(id, {.max_depth = 3, .order = traversal_order::dfs}); });
      guard([&] { (void)g.find_path(id, "b", {.weight_property = "w"}); });
      guard([&] { (void)g.find_path(id, "b"); });
      guard([&] { (void)g.query_temporal_graph(id, temporal_query::range(0, 0)); });
      guard([&] { (void)g.query_temporal_graph(id, temporal_query::point_in_time(100)); });
      guard([&] { (void)g.nodes_of_type(id); });
      guard([&] { g.delete_node(id); });
      guard([&] { g.end_temporal_edge(id, "s", "x", 1000); });
    }
  } catch (const error&) {
  }
  return 0;
}
