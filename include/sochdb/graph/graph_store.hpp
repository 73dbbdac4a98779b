// sochdb/graph/graph_store.hpp — a property graph with temporal edges over a database keyspace.
//
//     sochdb::graph_store g(db, {.ns = "default"});
//     g.add_node("alice", "person", {{"team", "ml"}});
//     g.add_node("project_x", "project");
//     g.add_edge("alice", "works_on", "project_x", {{"role", "lead"}});
//     auto out = g.neighbors("alice", sochdb::direction::outgoing);
//     auto t = g.traverse("alice", {.max_depth = 2, .edge_types = {"works_on"}});
//     auto p = g.find_path("alice", "project_x");
//
//     db.transaction([&](auto& txn) {            // the same calls inside a caller's transaction
//       txn.put("docs/1", "...");
//       g.add_node(txn, "doc1", "document");
//       g.add_edge(txn, "alice", "wrote", "doc1");
//     });
//
// Nodes (id, type, JSON properties) and directed edges (from, type, to, JSON properties; at most
// one per (from, type, to)) live under one key prefix (a namespace), with adjacency stored both
// ways — an outgoing key under the source and an incoming key under the target — so the
// neighbours of a node in either direction are one range scan, and a type index lists the nodes
// of a type. Temporal edges (valid_from inclusive, valid_until exclusive, 0 = open) are a
// separate set with a block index on time: a point-in-time query reads the intervals filed in
// the 17 aligned time blocks that contain the instant, not the node's whole history. The key
// layout is docs/formats/graph.md; semantics are docs/graph.md.
//
// Every operation comes in two forms: `op(args)` runs in its own transaction (writes retry
// conflicts through db.transaction; multi-read operations read one snapshot), and
// `op(txn, args)` runs on a caller's transaction, so graph changes commit atomically with
// anything else the caller writes. Reads also accept a snapshot or the database as `txn`.
//
// Invariants (kept by every write, each one a single transaction): an edge exists only between
// two existing nodes; its outgoing and incoming keys exist together; a node's type index entry
// matches its record; deleting a node deletes every edge and temporal edge that touches it.
//
// Thread safety: a graph_store is a small handle (database pointer + prefix); it may be used from
// any number of threads as the database may. Transactions are used by one thread at a time.
#pragma once

#include <sochdb/core/clock.hpp>
#include <sochdb/core/error.hpp>
#include <sochdb/graph/keys.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

SOCHDB_BEGIN_NAMESPACE

/// JSON properties of nodes and edges (object keys in insertion order).
using graph_properties = nlohmann::ordered_json;

/// Edge direction seen from a node.
enum class direction { outgoing, incoming, both };

/// Traversal order.
enum class traversal_order { bfs, dfs };

struct graph_node {
  std::string id;
  std::string type;
  graph_properties properties = graph_properties::object();
  friend bool operator==(const graph_node&, const graph_node&) = default;
};

struct graph_edge {
  std::string from;
  std::string type;
  std::string to;
  graph_properties properties = graph_properties::object();
  friend bool operator==(const graph_edge&, const graph_edge&) = default;
};

/// A neighbour: the node at the other end of an edge, the edge type, and which way it points.
struct graph_neighbor {
  std::string id;
  std::string edge_type;
  direction dir = direction::outgoing;  ///< outgoing: node -> id; incoming: id -> node
  friend bool operator==(const graph_neighbor&, const graph_neighbor&) = default;
};

/// A node predicate for traverse(): true keeps the node (and lets the traversal go on from it).
using node_predicate = std::function<bool(const graph_node&)>;

/// A predicate true for nodes whose properties contain every key of `want` with an equal value
/// (the seed's `node_filter={"team": "ml"}`).
inline node_predicate properties_match(graph_properties want) {
  if (!want.is_object()) throw invalid_argument("graph: properties_match needs a JSON object");
  return [want = std::move(want)](const graph_node& n) {
    if (!n.properties.is_object()) return false;
    for (auto it = want.begin(); it != want.end(); ++it) {
      auto f = n.properties.find(it.key());
      if (f == n.properties.end() || *f != it.value()) return false;
    }
    return true;
  };
}

/// Options of traverse() (designated initializers).
struct traverse_options {
  /// Deepest hop distance included; 0 = the start node only. Default 3.
  std::size_t max_depth = 3;
  /// Order nodes are visited and listed in. Default bfs.
  traversal_order order = traversal_order::bfs;
  /// Direction edges are followed in. Default outgoing.
  direction dir = direction::outgoing;
  /// Edge types followed; empty = every type.
  std::vector<std::string> edge_types{};
  /// Node types included; empty = every type. Other nodes are neither listed nor passed through.
  std::vector<std::string> node_types{};
  /// Extra node predicate (e.g. properties_match); null = every node. As node_types.
  node_predicate node_filter{};
};

/// What traverse() reached.
struct traversal {
  /// Included nodes in visit order (the start first), each once.
  std::vector<graph_node> nodes;
  /// depths[i]: hop distance of nodes[i] from the start through included nodes.
  std::vector<std::size_t> depths;
  /// Every edge, as stored (from -> to), followed from a node at depth < max_depth to an
  /// included node, each once.
  std::vector<graph_edge> edges;
};

/// Options of find_path().
struct path_options {
  /// Longest path in hops. Default 6.
  std::size_t max_depth = 6;
  /// Direction edges are followed in. Default outgoing.
  direction dir = direction::outgoing;
  /// Edge types followed; empty = every type.
  std::vector<std::string> edge_types{};
  /// Empty (default): the path with fewest hops. Otherwise the cheapest path of at most
  /// max_depth hops, an edge costing its numeric property of this name (missing: 1; negative or
  /// not a number: invalid_argument).
  std::string weight_property{};
};

/// A path: nodes[0] = from, nodes.back() = to, edges[i] joins nodes[i] and nodes[i + 1].
struct graph_path {
  std::vector<std::string> nodes;
  std::vector<graph_edge> edges;
  double cost = 0;  ///< hops, or the summed weights
};

/// An edge valid over [valid_from, valid_until) in milliseconds; valid_until 0 = still valid.
struct temporal_edge {
  std::string from;
  std::string type;
  std::string to;
  std::uint64_t valid_from = 0;
  std::uint64_t valid_until = 0;
  graph_properties properties = graph_properties::object();
  friend bool operator==(const temporal_edge&, const temporal_edge&) = default;
};

enum class temporal_mode { current, point_in_time, range };

/// What query_temporal_graph() selects among a node's outgoing temporal edges.
struct temporal_query {
  temporal_mode mode = temporal_mode::current;
  std::uint64_t at = 0;     ///< point_in_time: edges with valid_from <= at < valid_until
  std::uint64_t start = 0;  ///< range: edges overlapping [start, end)
  std::uint64_t end = 0;    ///< range end, exclusive; 0 = no end
  std::string edge_type{};  ///< empty = every type

  /// Edges valid now (the wall clock in ms when the query runs).
  static temporal_query current(std::string type = {}) {
    return {.mode = temporal_mode::current, .edge_type = std::move(type)};
  }
  static temporal_query point_in_time(std::uint64_t t, std::string type = {}) {
    return {.mode = temporal_mode::point_in_time, .at = t, .edge_type = std::move(type)};
  }
  static temporal_query range(std::uint64_t s, std::uint64_t e, std::string type = {}) {
    return {.mode = temporal_mode::range, .start = s, .end = e, .edge_type = std::move(type)};
  }
};

/// Work done by one temporal query (for tests and tuning).
struct temporal_scan_stats {
  std::size_t scans = 0;         ///< range scans issued
  std::size_t entries_read = 0;  ///< index entries read
};

/// Where the graph lives in the keyspace.
struct graph_options {
  /// Namespace name; the keys go under "g/" + escaped name. Default "default".
  std::string ns = "default";
  /// Non-empty: the exact key prefix to use instead (e.g. a collection namespace's prefix).
  std::string key_prefix{};
};

/// Something the graph can read through: a database, a snapshot or a transaction.
template <class R>
concept graph_reader = requires(R& r, std::string_view k, std::string& out) {
  { r.get(k, out) } -> std::same_as<bool>;
  r.scan_prefix(k);
  r.scan_range(k, k);
};

/// A transaction the graph can write through.
template <class T>
concept graph_transaction = graph_reader<T> && requires(T& t, std::string_view k) {
  t.put(k, k);
  t.del(k);
  t.commit();
  { t.active() } -> std::same_as<bool>;
};

template <class Db>
class graph_store {
 public:
  explicit graph_store(Db& db, const graph_options& o = {}) : db_(&db) {
    if (!o.key_prefix.empty()) {
      prefix_ = o.key_prefix;
    } else {
      if (o.ns.empty()) throw invalid_argument("graph: namespace name is empty");
      prefix_ = "g/";
      detail::graph_keys::append_component(prefix_, o.ns);
    }
  }

  /// The key prefix every key of this graph starts with.
  [[nodiscard]] const std::string& key_prefix() const noexcept { return prefix_; }
  [[nodiscard]] Db& database() const noexcept { return *db_; }

  // ---- nodes ----

  /// Adds a node; already_exists if `id` is taken.
  void add_node(std::string_view id, std::string_view type,
                const graph_properties& props = graph_properties::object()) {
    write([&](auto& t) { add_node(t, id, type, props); });
  }
  template <graph_transaction T>
  void add_node(T& t, std::string_view id, std::string_view type,
                const graph_properties& props = graph_properties::object()) const {
    check_name("add_node", "node id", id);
    check_name("add_node", "node type", type);
    check_props("add_node", props);
    std::string v;
    if (t.get(node_key(id), v)) {
      throw already_exists("graph add_node: node " + printable_key(id) + " already exists");
    }
    store_node(t, id, type, props);
  }

  /// Adds or replaces a node (type and properties); its edges stay.
  void put_node(std::string_view id, std::string_view type,
                const graph_properties& props = graph_properties::object()) {
    write([&](auto& t) { put_node(t, id, type, props); });
  }
  template <graph_transaction T>
  void put_node(T& t, std::string_view id, std::string_view type,
                const graph_properties& props = graph_properties::object()) const {
    check_name("put_node", "node id", id);
    check_name("put_node", "node type", type);
    check_props("put_node", props);
    if (auto old = get_node(t, id); old && old->type != type) t.del(type_key(old->type, id));
    store_node(t, id, type, props);
  }

  /// Replaces the properties of an existing node (not_found otherwise); the type stays.
  void update_node(std::string_view id, const graph_properties& props) {
    write([&](auto& t) { update_node(t, id, props); });
  }
  template <graph_transaction T>
  void update_node(T& t, std::string_view id, const graph_properties& props) const {
    check_props("update_node", props);
    auto old = get_node(t, id);
    if (!old) throw not_found("graph update_node: node " + printable_key(id) + " does not exist");
    store_node(t, id, old->type, props);
  }

  [[nodiscard]] std::optional<graph_node> get_node(std::string_view id) const {
    return get_node(*db_, id);
  }
  template <graph_reader R>
  [[nodiscard]] std::optional<graph_node> get_node(R& r, std::string_view id) const {
    std::string v;
    std::string k = node_key(id);
    if (!r.get(k, v)) return std::nullopt;
    return decode_node(k, id, v);
  }

  /// Deletes a node with every edge and temporal edge touching it; false if it did not exist
  /// (its temporal edges, which may name ids that are not nodes, are deleted all the same).
  bool delete_node(std::string_view id) {
    return write([&](auto& t) { return delete_node(t, id); });
  }
  template <graph_transaction T>
  bool delete_node(T& t, std::string_view id) const {
    namespace gk = detail::graph_keys;
    auto node = get_node(t, id);
    // Collect first: a transaction's scan views end when it writes.
    std::vector<std::string> dels;
    for_each_adjacent(t, id, direction::both, {}, [&](const edge_ref& e) {
      dels.push_back(out_key(e.from, e.type, e.to));
      dels.push_back(in_key(e.to, e.type, e.from));
    });
    std::vector<temporal_edge> touching;
    {
      std::string p = tagged(gk::tedge_tag, id);
      auto sc = t.scan_prefix(p);
      for (; sc.valid(); sc.next())
        touching.push_back(decode_temporal_record(sc.key(), sc.value()));
    }
    {
      std::string p = tagged(gk::tin_tag, id);
      std::vector<std::string> recs;
      auto sc = t.scan_prefix(p);
      for (; sc.valid(); sc.next()) {
        std::string_view rest = sc.key().substr(p.size());
        std::string type, from;
        std::uint64_t vf;
        if (!gk::read_component(rest, type) || !gk::read_component(rest, from) ||
            !gk::read_u64(rest, vf) || !rest.empty())
          gk::bad_key(sc.key(), "incoming temporal");
        recs.push_back(temporal_record_key(from, type, id, vf));
      }
      for (auto& rk : recs) {
        std::string v;
        if (!t.get(rk, v)) gk::bad_key(rk, "temporal record missing for incoming temporal");
        touching.push_back(decode_temporal_record(rk, v));
      }
    }
    for (auto& k : dels) t.del(k);
    for (auto& e : touching) erase_temporal(t, e);
    if (node) {
      t.del(node_key(id));
      t.del(type_key(node->type, id));
    }
    return node.has_value();
  }

  /// Ids of the nodes of `type`, in id order.
  [[nodiscard]] std::vector<std::string> nodes_of_type(std::string_view type) const {
    return nodes_of_type(*db_, type);
  }
  template <graph_reader R>
  [[nodiscard]] std::vector<std::string> nodes_of_type(R& r, std::string_view type) const {
    std::string p = tagged(detail::graph_keys::type_tag, type);
    std::vector<std::string> ids;
    auto sc = r.scan_prefix(p);
    std::string id;
    for (; sc.valid(); sc.next()) {
      std::string_view rest = sc.key().substr(p.size());
      if (!detail::graph_keys::read_component(rest, id) || !rest.empty())
        detail::graph_keys::bad_key(sc.key(), "type index");
      ids.push_back(id);
    }
    return ids;
  }

  // ---- edges ----

  /// Adds (or replaces the properties of) the edge from -type-> to; both nodes must exist
  /// (not_found).
  void add_edge(std::string_view from, std::string_view type, std::string_view to,
                const graph_properties& props = graph_properties::object()) {
    write([&](auto& t) { add_edge(t, from, type, to, props); });
  }
  template <graph_transaction T>
  void add_edge(T& t, std::string_view from, std::string_view type, std::string_view to,
                const graph_properties& props = graph_properties::object()) const {
    check_name("add_edge", "node id", from);
    check_name("add_edge", "edge type", type);
    check_name("add_edge", "node id", to);
    check_props("add_edge", props);
    std::string v;
    if (!t.get(node_key(from), v))
      throw not_found("graph add_edge: node " + printable_key(from) + " does not exist");
    if (!t.get(node_key(to), v))
      throw not_found("graph add_edge: node " + printable_key(to) + " does not exist");
    std::string pv = props.dump();
    t.put(out_key(from, type, to), pv);
    t.put(in_key(to, type, from), pv);
  }

  [[nodiscard]] std::optional<graph_edge> get_edge(std::string_view from, std::string_view type,
                                                   std::string_view to) const {
    return get_edge(*db_, from, type, to);
  }
  template <graph_reader R>
  [[nodiscard]] std::optional<graph_edge> get_edge(R& r, std::string_view from,
                                                   std::string_view type,
                                                   std::string_view to) const {
    std::string v;
    std::string k = out_key(from, type, to);
    if (!r.get(k, v)) return std::nullopt;
    return graph_edge{std::string(from), std::string(type), std::string(to), parse_props(k, v)};
  }

  /// Deletes the edge; false if it did not exist.
  bool delete_edge(std::string_view from, std::string_view type, std::string_view to) {
    return write([&](auto& t) { return delete_edge(t, from, type, to); });
  }
  template <graph_transaction T>
  bool delete_edge(T& t, std::string_view from, std::string_view type, std::string_view to) const {
    std::string v;
    std::string k = out_key(from, type, to);
    if (!t.get(k, v)) return false;
    t.del(k);
    t.del(in_key(to, type, from));
    return true;
  }

  /// The neighbours of `id` over edges of `edge_types` (empty = all) in direction `dir`: for
  /// `both`, outgoing ones first; each group in (edge type, id) order.
  [[nodiscard]] std::vector<graph_neighbor> neighbors(
      std::string_view id, direction dir = direction::outgoing,
      const std::vector<std::string>& edge_types = {}) const {
    return neighbors(*db_, id, dir, edge_types);
  }
  template <graph_reader R>
  [[nodiscard]] std::vector<graph_neighbor> neighbors(
      R& r, std::string_view id, direction dir = direction::outgoing,
      const std::vector<std::string>& edge_types = {}) const {
    std::vector<graph_neighbor> out;
    for_each_adjacent(r, id, dir, edge_types, [&](const edge_ref& e) {
      out.push_back(e.outgoing ? graph_neighbor{e.to, e.type, direction::outgoing}
                               : graph_neighbor{e.from, e.type, direction::incoming});
    });
    return out;
  }

  /// The edges touching `id`, as neighbors() orders them, with their properties.
  [[nodiscard]] std::vector<graph_edge> edges(
      std::string_view id, direction dir = direction::outgoing,
      const std::vector<std::string>& edge_types = {}) const {
    return edges(*db_, id, dir, edge_types);
  }
  template <graph_reader R>
  [[nodiscard]] std::vector<graph_edge> edges(
      R& r, std::string_view id, direction dir = direction::outgoing,
      const std::vector<std::string>& edge_types = {}) const {
    std::vector<graph_edge> out;
    for_each_adjacent(r, id, dir, edge_types, [&](const edge_ref& e) {
      out.push_back({e.from, e.type, e.to, parse_props(e.key, e.value)});
    });
    return out;
  }

  // ---- traversal ----

  /// Breadth- or depth-first traversal from `start` (not_found if it is not a node). The start
  /// is always included; other nodes are included when their type is in node_types (if given)
  /// and node_filter (if given) accepts them, and only included nodes are passed through. Both
  /// orders include the same nodes at the same (shortest) depths and the same edges; dfs lists
  /// nodes in depth-first preorder (neighbours in neighbors() order).
  [[nodiscard]] traversal traverse(std::string_view start, const traverse_options& o = {}) const {
    return read([&](auto& r) { return traverse(r, start, o); });
  }
  template <graph_reader R>
  [[nodiscard]] traversal traverse(R& r, std::string_view start,
                                   const traverse_options& o = {}) const {
    auto first = get_node(r, start);
    if (!first) {
      throw not_found("graph traverse: start node " + printable_key(start) + " does not exist");
    }
    traversal res;
    constexpr std::size_t rejected = static_cast<std::size_t>(-1);
    // id -> index in res.nodes, or `rejected` (filtered out).
    std::unordered_map<std::string, std::size_t> seen;
    std::unordered_set<std::string> edge_keys;  // out keys of the edges listed
    seen.emplace(first->id, 0);
    res.nodes.push_back(std::move(*first));
    res.depths.push_back(0);

    // The index of `id` in res.nodes (loading, filtering and listing it the first time it is
    // reached, at `depth`), or `rejected`.
    auto reach = [&](const std::string& id, std::size_t depth) -> std::size_t {
      if (auto it = seen.find(id); it != seen.end()) return it->second;
      auto n = get_node(r, id);
      if (!n || !accepts(o, *n)) {
        seen.emplace(id, rejected);
        return rejected;
      }
      std::size_t i = res.nodes.size();
      seen.emplace(id, i);
      res.nodes.push_back(std::move(*n));
      res.depths.push_back(depth);
      return i;
    };
    auto list_edge = [&](const edge_ref& e) {
      std::string k = out_key(e.from, e.type, e.to);
      if (edge_keys.insert(k).second) {
        res.edges.push_back({e.from, e.type, e.to, parse_props(e.key, e.value)});
      }
    };

    if (o.order == traversal_order::bfs) {
      std::deque<std::size_t> queue{0};
      while (!queue.empty()) {
        std::size_t u = queue.front();
        queue.pop_front();
        std::size_t d = res.depths[u];
        if (d >= o.max_depth) continue;
        std::string uid = res.nodes[u].id;
        for_each_adjacent(r, uid, o.dir, o.edge_types, [&](const edge_ref& e) {
          const std::string& v = e.outgoing ? e.to : e.from;
          std::size_t before = res.nodes.size();
          std::size_t i = reach(v, d + 1);
          if (i == rejected) return;
          list_edge(e);
          if (i >= before) queue.push_back(i);
        });
      }
      return res;
    }

    // Depth-first, preorder. A node reached again by a shorter path is expanded again (its
    // depth lowered), so the included set and depths equal the breadth-first ones.
    std::vector<std::size_t> expanded_at;  // per node: depth of its last expansion
    struct frame {
      std::size_t node;
      std::size_t depth;
    };
    std::vector<frame> stack{{0, 0}};
    std::vector<std::size_t> preorder;
    while (!stack.empty()) {
      frame f = stack.back();
      stack.pop_back();
      if (expanded_at.size() < res.nodes.size()) {
        expanded_at.resize(res.nodes.size(), static_cast<std::size_t>(-1));
      }
      if (expanded_at[f.node] != static_cast<std::size_t>(-1) && expanded_at[f.node] <= f.depth) {
        continue;
      }
      if (expanded_at[f.node] == static_cast<std::size_t>(-1)) preorder.push_back(f.node);
      expanded_at[f.node] = f.depth;
      if (f.depth < res.depths[f.node]) res.depths[f.node] = f.depth;
      if (f.depth >= o.max_depth) continue;
      std::string uid = res.nodes[f.node].id;
      std::vector<std::size_t> next;
      for_each_adjacent(r, uid, o.dir, o.edge_types, [&](const edge_ref& e) {
        const std::string& v = e.outgoing ? e.to : e.from;
        std::size_t i = reach(v, f.depth + 1);
        if (i == rejected) return;
        list_edge(e);
        next.push_back(i);
      });
      for (auto it = next.rbegin(); it != next.rend(); ++it) stack.push_back({*it, f.depth + 1});
    }
    // List the nodes in the order they were first expanded (every included node is).
    traversal ordered;
    ordered.edges = std::move(res.edges);
    for (std::size_t i : preorder) {
      ordered.nodes.push_back(std::move(res.nodes[i]));
      ordered.depths.push_back(res.depths[i]);
    }
    return ordered;
  }

  // ---- paths ----

  /// The shortest path from `from` to `to` (fewest hops, or cheapest by weight_property) of at
  /// most max_depth hops; nullopt if none. from == to gives the one-node path.
  [[nodiscard]] std::optional<graph_path> find_path(std::string_view from, std::string_view to,
                                                    const path_options& o = {}) const {
    return read([&](auto& r) { return find_path(r, from, to, o); });
  }
  template <graph_reader R>
  [[nodiscard]] std::optional<graph_path> find_path(R& r, std::string_view from,
                                                    std::string_view to,
                                                    const path_options& o = {}) const {
    if (o.weight_property.empty()) return hop_path(r, from, to, o);
    return weighted_path(r, from, to, o);
  }

  // ---- temporal edges ----

  /// Records that from -type-> to holds over [valid_from, valid_until) (valid_until 0 = still
  /// holds; otherwise it must be > valid_from). One record per (from, type, to, valid_from): a
  /// second call with the same four replaces it. Ids need not be nodes (states like "open").
  void add_temporal_edge(std::string_view from, std::string_view type, std::string_view to,
                         std::uint64_t valid_from, std::uint64_t valid_until = 0,
                         const graph_properties& props = graph_properties::object()) {
    write([&](auto& t) { add_temporal_edge(t, from, type, to, valid_from, valid_until, props); });
  }
  template <graph_transaction T>
  void add_temporal_edge(T& t, std::string_view from, std::string_view type, std::string_view to,
                         std::uint64_t valid_from, std::uint64_t valid_until = 0,
                         const graph_properties& props = graph_properties::object()) const {
    check_name("add_temporal_edge", "node id", from);
    check_name("add_temporal_edge", "edge type", type);
    check_name("add_temporal_edge", "node id", to);
    check_props("add_temporal_edge", props);
    if (valid_until != 0 && valid_until <= valid_from) {
      throw invalid_argument("graph add_temporal_edge: valid_until " + std::to_string(valid_until) +
                             " is not after valid_from " + std::to_string(valid_from) +
                             " (0 means open)");
    }
    std::string rk = temporal_record_key(from, type, to, valid_from);
    std::string v;
    if (t.get(rk, v)) erase_temporal(t, decode_temporal_record(rk, v));
    store_temporal(t, temporal_edge{std::string(from), std::string(type), std::string(to),
                                    valid_from, valid_until, props});
  }

  /// Closes every open temporal edge from -type-> to that started before end_time, setting
  /// valid_until = end_time; returns how many. not_found if there is none.
  std::size_t end_temporal_edge(std::string_view from, std::string_view type, std::string_view to,
                                std::uint64_t end_time) {
    return write([&](auto& t) { return end_temporal_edge(t, from, type, to, end_time); });
  }
  template <graph_transaction T>
  std::size_t end_temporal_edge(T& t, std::string_view from, std::string_view type,
                                std::string_view to, std::uint64_t end_time) const {
    namespace gk = detail::graph_keys;
    std::string p = prefix_;
    p += gk::tedge_tag;
    gk::append_component(p, from);
    gk::append_component(p, type);
    gk::append_component(p, to);
    std::vector<temporal_edge> open;
    {
      auto sc = t.scan_prefix(p);
      for (; sc.valid(); sc.next()) {
        auto e = decode_temporal_record(sc.key(), sc.value());
        if (e.valid_until == 0 && e.valid_from < end_time) open.push_back(std::move(e));
      }
    }
    if (open.empty()) {
      throw not_found("graph end_temporal_edge: no open edge " + printable_key(from) + " -" +
                      printable_key(type) + "-> " + printable_key(to) + " that started before " +
                      std::to_string(end_time));
    }
    for (auto& e : open) {
      erase_temporal(t, e);
      e.valid_until = end_time;
      store_temporal(t, e);
    }
    return open.size();
  }

  /// The outgoing temporal edges of `node` that `q` selects, ordered by (valid_from, type, to).
  /// point_in_time(t): valid_from <= t < valid_until (or open); current: the same at the wall
  /// clock's now; range(s, e): the edges whose interval overlaps [s, e) (e = 0: no end).
  [[nodiscard]] std::vector<temporal_edge> query_temporal_graph(
      std::string_view node, const temporal_query& q, temporal_scan_stats* stats = nullptr) const {
    return read([&](auto& r) { return query_temporal_graph(r, node, q, stats); });
  }
  template <graph_reader R>
  [[nodiscard]] std::vector<temporal_edge> query_temporal_graph(
      R& r, std::string_view node, const temporal_query& q,
      temporal_scan_stats* stats = nullptr) const {
    namespace gk = detail::graph_keys;
    constexpr std::uint64_t max64 = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t lo_t, hi_t;  // the query interval [lo_t, hi_t], inclusive
    switch (q.mode) {
      case temporal_mode::current:
        lo_t = hi_t = system_ms_source{}();
        break;
      case temporal_mode::point_in_time:
        lo_t = hi_t = q.at;
        break;
      case temporal_mode::range:
        if (q.end != 0 && q.end <= q.start) {
          throw invalid_argument("graph query_temporal_graph: range end " + std::to_string(q.end) +
                                 " is not after start " + std::to_string(q.start));
        }
        lo_t = q.start;
        hi_t = q.end == 0 ? max64 : q.end - 1;
        break;
      default:
        throw invalid_argument("graph query_temporal_graph: unknown mode");
    }
    std::string base = tagged(gk::tindex_tag, node);
    std::vector<temporal_edge> out;
    temporal_scan_stats st;
    for (int l = 0; l < gk::temporal_levels; ++l) {
      // Blocks of level l that meet [lo_t, hi_t]; within them, entries with valid_from <= hi_t.
      std::uint64_t b0 = gk::temporal_bucket(l, lo_t), b1 = gk::temporal_bucket(l, hi_t);
      std::string lo = base;
      lo.push_back(static_cast<char>(l));
      std::string level_prefix = lo;
      gk::append_u64(lo, b0);
      std::string hi;
      if (b0 == b1) {
        hi = lo;  // one block: stop after valid_from = hi_t
        if (hi_t == max64) {
          hi = successor(hi);
        } else {
          gk::append_u64(hi, hi_t + 1);
        }
      } else if (b1 == max64) {
        hi = successor(level_prefix);
      } else {
        hi = level_prefix;
        gk::append_u64(hi, b1 + 1);
      }
      ++st.scans;
      auto sc = r.scan_range(lo, hi);
      for (; sc.valid(); sc.next()) {
        ++st.entries_read;
        std::string_view k = sc.key();
        std::string_view rest = k.substr(level_prefix.size());
        std::uint64_t bucket, vf;
        temporal_edge e;
        if (!gk::read_u64(rest, bucket) || !gk::read_u64(rest, vf) ||
            !gk::read_component(rest, e.type) || !gk::read_component(rest, e.to) || !rest.empty())
          gk::bad_key(k, "temporal index");
        std::string_view v = sc.value();
        std::uint64_t vu;
        if (!gk::read_u64(v, vu)) gk::bad_key(k, "temporal index value of");
        if (vf > hi_t) continue;
        if (vu != 0 && vu <= lo_t) continue;
        if (!q.edge_type.empty() && e.type != q.edge_type) continue;
        e.from = std::string(node);
        e.valid_from = vf;
        e.valid_until = vu;
        e.properties = parse_props(k, v);
        out.push_back(std::move(e));
      }
    }
    std::sort(out.begin(), out.end(), [](const temporal_edge& a, const temporal_edge& b) {
      return std::tie(a.valid_from, a.type, a.to) < std::tie(b.valid_from, b.type, b.to);
    });
    if (stats) *stats = st;
    return out;
  }

 private:
  // An adjacency entry while its scan is positioned on it.
  struct edge_ref {
    const std::string& from;
    const std::string& type;
    const std::string& to;
    bool outgoing;
    std::string_view key;
    std::string_view value;  // properties JSON
  };

  template <class F>
  decltype(auto) write(F&& f) {
    return db_->transaction([&](auto& t) { return f(t); });
  }
  // Multi-read operations read one snapshot when the database offers them.
  template <class F>
  decltype(auto) read(F&& f) const {
    if constexpr (requires(Db & d) { d.snapshot(); }) {
      auto s = db_->snapshot();
      return f(s);
    } else {
      return f(*db_);
    }
  }

  static bool accepts(const traverse_options& o, const graph_node& n) {
    if (!o.node_types.empty() &&
        std::find(o.node_types.begin(), o.node_types.end(), n.type) == o.node_types.end())
      return false;
    return !o.node_filter || o.node_filter(n);
  }

  template <class R>
  void require_node(R& r, const char* op, std::string_view id) const {
    std::string v;
    if (!r.get(node_key(id), v)) {
      throw not_found(std::string("graph ") + op + ": node " + printable_key(id) +
                      " does not exist");
    }
  }

  static graph_path single_node_path(std::string_view id) {
    graph_path p;
    p.nodes.emplace_back(id);
    return p;
  }

  template <class R>
  std::optional<graph_path> hop_path(R& r, std::string_view from, std::string_view to,
                                     const path_options& o) const {
    require_node(r, "find_path", from);
    require_node(r, "find_path", to);
    if (from == to) return single_node_path(from);
    struct pred {
      std::string parent;
      graph_edge edge;
    };
    std::unordered_map<std::string, pred> parent;
    parent.emplace(std::string(from), pred{});
    std::vector<std::string> frontier{std::string(from)}, next;
    for (std::size_t depth = 1; depth <= o.max_depth && !frontier.empty(); ++depth) {
      next.clear();
      bool found = false;
      for (auto& u : frontier) {
        for_each_adjacent(r, u, o.dir, o.edge_types, [&](const edge_ref& e) {
          if (found) return;
          const std::string& v = e.outgoing ? e.to : e.from;
          if (parent.contains(v)) return;
          parent.emplace(v, pred{u, graph_edge{e.from, e.type, e.to, parse_props(e.key, e.value)}});
          if (v == to) found = true;
          next.push_back(v);
        });
        if (found) break;
      }
      if (found) {
        graph_path p;
        for (std::string cur(to); cur != from;) {
          auto& pr = parent.at(cur);
          p.nodes.push_back(cur);
          p.edges.push_back(pr.edge);
          cur = pr.parent;
        }
        p.nodes.emplace_back(from);
        std::reverse(p.nodes.begin(), p.nodes.end());
        std::reverse(p.edges.begin(), p.edges.end());
        p.cost = static_cast<double>(p.edges.size());
        return p;
      }
      frontier.swap(next);
    }
    return std::nullopt;
  }

  double edge_weight(const std::string& prop, const graph_edge& e) const {
    auto it = e.properties.find(prop);
    if (it == e.properties.end()) return 1.0;
    if (!it->is_number()) {
      throw invalid_argument("graph find_path: weight '" + prop + "' of edge " +
                             printable_key(e.from) + " -" + printable_key(e.type) + "-> " +
                             printable_key(e.to) + " is not a number");
    }
    double w = it->template get<double>();
    if (!(w >= 0)) {
      throw invalid_argument("graph find_path: weight '" + prop + "' of edge " +
                             printable_key(e.from) + " -> " + printable_key(e.to) + " is negative");
    }
    return w;
  }

  // Cheapest path of at most max_depth hops: one relaxation round per hop count (a
  // hop-bounded Bellman-Ford), keeping a label only when it beats every label with fewer hops.
  template <class R>
  std::optional<graph_path> weighted_path(R& r, std::string_view from, std::string_view to,
                                          const path_options& o) const {
    require_node(r, "find_path", from);
    require_node(r, "find_path", to);
    if (from == to) return single_node_path(from);
    struct label {
      double cost;
      std::string parent;
      graph_edge edge;
    };
    std::unordered_map<std::string, std::vector<graph_edge>> adjacency;  // cache
    std::unordered_map<std::string, double> best{{std::string(from), 0.0}};
    std::vector<std::unordered_map<std::string, label>> layers(1);
    layers[0].emplace(std::string(from), label{0.0, {}, {}});
    for (std::size_t h = 1; h <= o.max_depth && !layers.back().empty(); ++h) {
      std::unordered_map<std::string, label> cur;
      for (auto& [u, lu] : layers[h - 1]) {
        auto it = adjacency.find(u);
        if (it == adjacency.end()) {
          std::vector<graph_edge> es;
          for_each_adjacent(r, u, o.dir, o.edge_types, [&](const edge_ref& e) {
            es.push_back({e.from, e.type, e.to, parse_props(e.key, e.value)});
          });
          it = adjacency.emplace(u, std::move(es)).first;
        }
        for (auto& e : it->second) {
          const std::string& v = e.from == u ? e.to : e.from;
          double c = lu.cost + edge_weight(o.weight_property, e);
          auto b = best.find(v);
          if (b != best.end() && b->second <= c) continue;
          best[v] = c;
          cur[v] = label{c, u, e};
        }
      }
      layers.push_back(std::move(cur));
    }
    // The cheapest label of `to` (ties: fewest hops).
    std::optional<std::size_t> at;
    double cost = 0;
    for (std::size_t h = 1; h < layers.size(); ++h) {
      auto it = layers[h].find(std::string(to));
      if (it != layers[h].end() && (!at || it->second.cost < cost)) {
        at = h;
        cost = it->second.cost;
      }
    }
    if (!at) return std::nullopt;
    graph_path p;
    std::string cur(to);
    for (std::size_t h = *at; h > 0; --h) {
      const label& l = layers[h].at(cur);
      p.nodes.push_back(cur);
      p.edges.push_back(l.edge);
      cur = l.parent;
    }
    p.nodes.push_back(cur);
    std::reverse(p.nodes.begin(), p.nodes.end());
    std::reverse(p.edges.begin(), p.edges.end());
    p.cost = cost;
    return p;
  }

  static void check_name(const char* op, const char* what, std::string_view s) {
    if (s.empty()) throw invalid_argument(std::string("graph ") + op + ": " + what + " is empty");
  }
  static void check_props(const char* op, const graph_properties& p) {
    if (!p.is_object() && !p.is_null()) {
      throw invalid_argument(std::string("graph ") + op + ": properties must be a JSON object");
    }
  }

  std::string tagged(std::string_view tag, std::string_view c) const {
    std::string k = prefix_;
    k += tag;
    detail::graph_keys::append_component(k, c);
    return k;
  }
  std::string node_key(std::string_view id) const {
    return tagged(detail::graph_keys::node_tag, id);
  }
  std::string type_key(std::string_view type, std::string_view id) const {
    std::string k = tagged(detail::graph_keys::type_tag, type);
    detail::graph_keys::append_component(k, id);
    return k;
  }
  std::string out_key(std::string_view from, std::string_view type, std::string_view to) const {
    std::string k = tagged(detail::graph_keys::out_tag, from);
    detail::graph_keys::append_component(k, type);
    detail::graph_keys::append_component(k, to);
    return k;
  }
  std::string in_key(std::string_view to, std::string_view type, std::string_view from) const {
    std::string k = tagged(detail::graph_keys::in_tag, to);
    detail::graph_keys::append_component(k, type);
    detail::graph_keys::append_component(k, from);
    return k;
  }
  std::string temporal_record_key(std::string_view from, std::string_view type, std::string_view to,
                                  std::uint64_t vf) const {
    std::string k = tagged(detail::graph_keys::tedge_tag, from);
    detail::graph_keys::append_component(k, type);
    detail::graph_keys::append_component(k, to);
    detail::graph_keys::append_u64(k, vf);
    return k;
  }
  std::string temporal_in_key(const temporal_edge& e) const {
    std::string k = tagged(detail::graph_keys::tin_tag, e.to);
    detail::graph_keys::append_component(k, e.type);
    detail::graph_keys::append_component(k, e.from);
    detail::graph_keys::append_u64(k, e.valid_from);
    return k;
  }
  std::string temporal_index_key(const temporal_edge& e) const {
    namespace gk = detail::graph_keys;
    std::string k = tagged(gk::tindex_tag, e.from);
    int l = gk::temporal_level(e.valid_from, e.valid_until);
    k.push_back(static_cast<char>(l));
    gk::append_u64(k, gk::temporal_bucket(l, e.valid_from));
    gk::append_u64(k, e.valid_from);
    gk::append_component(k, e.type);
    gk::append_component(k, e.to);
    return k;
  }

  // The smallest key greater than every key starting with `p` ("" if none).
  static std::string successor(std::string p) {
    while (!p.empty()) {
      if (static_cast<unsigned char>(p.back()) != 0xff) {
        p.back() = static_cast<char>(static_cast<unsigned char>(p.back()) + 1);
        return p;
      }
      p.pop_back();
    }
    return p;
  }

  static graph_properties parse_props(std::string_view key, std::string_view v) {
    auto j = graph_properties::parse(v, nullptr, false);
    if (j.is_discarded() || !(j.is_object() || j.is_null())) {
      throw corruption("graph: properties of key " + printable_key(key) + " are not a JSON object");
    }
    if (j.is_null()) j = graph_properties::object();
    return j;
  }

  template <class T>
  void store_node(T& t, std::string_view id, std::string_view type,
                  const graph_properties& props) const {
    graph_properties rec = graph_properties::object();
    rec["type"] = std::string(type);
    rec["properties"] = props.is_null() ? graph_properties::object() : props;
    t.put(node_key(id), rec.dump());
    t.put(type_key(type, id), "");
  }

  static graph_node decode_node(std::string_view key, std::string_view id, std::string_view v) {
    auto j = graph_properties::parse(v, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("type") || !j["type"].is_string()) {
      throw corruption("graph: node record " + printable_key(key) + " is malformed");
    }
    graph_node n{std::string(id), j["type"].get<std::string>(), graph_properties::object()};
    if (auto it = j.find("properties"); it != j.end() && it->is_object()) n.properties = *it;
    return n;
  }

  template <class T>
  void store_temporal(T& t, const temporal_edge& e) const {
    std::string v;
    detail::graph_keys::append_u64(v, e.valid_until);
    v += e.properties.is_null() ? std::string("{}") : e.properties.dump();
    t.put(temporal_record_key(e.from, e.type, e.to, e.valid_from), v);
    t.put(temporal_index_key(e), v);
    t.put(temporal_in_key(e), "");
  }
  template <class T>
  void erase_temporal(T& t, const temporal_edge& e) const {
    t.del(temporal_record_key(e.from, e.type, e.to, e.valid_from));
    t.del(temporal_index_key(e));
    t.del(temporal_in_key(e));
  }

  temporal_edge decode_temporal_record(std::string_view k, std::string_view v) const {
    namespace gk = detail::graph_keys;
    std::string_view rest = k.substr(prefix_.size());
    if (rest.substr(0, gk::tedge_tag.size()) != gk::tedge_tag) gk::bad_key(k, "temporal record");
    rest.remove_prefix(gk::tedge_tag.size());
    temporal_edge e;
    if (!gk::read_component(rest, e.from) || !gk::read_component(rest, e.type) ||
        !gk::read_component(rest, e.to) || !gk::read_u64(rest, e.valid_from) || !rest.empty())
      gk::bad_key(k, "temporal record");
    if (!gk::read_u64(v, e.valid_until)) gk::bad_key(k, "temporal record value of");
    e.properties = parse_props(k, v);
    return e;
  }

  // Calls fn(edge_ref) for every edge touching `id` in `dir` over `types` (empty = all).
  template <class R, class F>
  void for_each_adjacent(R& r, std::string_view id, direction dir,
                         const std::vector<std::string>& types, F&& fn) const {
    namespace gk = detail::graph_keys;
    std::string self(id), a, b;
    auto scan = [&](std::string_view tag, bool outgoing, const std::string* type) {
      std::string p = tagged(tag, id);
      std::size_t skip = p.size();  // the type is read back from each key
      if (type) gk::append_component(p, *type);
      auto sc = r.scan_prefix(p);
      for (; sc.valid(); sc.next()) {
        std::string_view rest = sc.key().substr(skip);
        if (!gk::read_component(rest, a) || !gk::read_component(rest, b) || !rest.empty())
          gk::bad_key(sc.key(), outgoing ? "outgoing edge" : "incoming edge");
        if (outgoing) {
          fn(edge_ref{self, a, b, true, sc.key(), sc.value()});
        } else {
          fn(edge_ref{b, a, self, false, sc.key(), sc.value()});
        }
      }
    };
    for (int pass = 0; pass < 2; ++pass) {
      bool outgoing = pass == 0;
      if (outgoing && dir == direction::incoming) continue;
      if (!outgoing && dir == direction::outgoing) continue;
      std::string_view tag = outgoing ? gk::out_tag : gk::in_tag;
      if (types.empty()) {
        scan(tag, outgoing, nullptr);
      } else if (types.size() == 1) {
        scan(tag, outgoing, &types[0]);
      } else {
        std::vector<std::string> sorted(types);
        std::sort(sorted.begin(), sorted.end());
        sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
        for (auto& t : sorted) scan(tag, outgoing, &t);
      }
    }
  }

  Db* db_;
  std::string prefix_;
};

SOCHDB_END_NAMESPACE
