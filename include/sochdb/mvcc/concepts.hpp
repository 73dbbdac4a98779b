// sochdb/mvcc/concepts.hpp — isolation levels and the versioning_policy concept.
//
// A database's versioning policy (the second template parameter of basic_database) says which
// isolation levels its transactions may use, which one `begin()` picks by default, and whether
// readers may hold snapshots that pin old versions. The models are in mvcc/policies.hpp, where
// every requirement is written out on the reference model `serializable`;
// tests/mvcc/policy_contract_test.cpp holds every model to them.
//
//   V::level       isolation_level: the default of begin() and the strongest level the
//                  database accepts (weaker levels may be asked for per transaction).
//   V::snapshots   bool: db.snapshot() exists and transactions at snapshot or serializable
//                  level hold their snapshot until they end. false only with level
//                  read_committed (a database that keeps no history: `single_version`).
//   V::name        std::string_view, for messages and stats.
//
// Thread safety: policies are stateless tag types.
#pragma once

#include <sochdb/version.hpp>

#include <concepts>
#include <cstdint>
#include <string_view>

SOCHDB_BEGIN_NAMESPACE

/// How much a transaction is isolated from concurrent ones (docs/transactions.md). Ordered from
/// weakest to strongest.
enum class isolation_level : std::uint8_t {
  read_committed = 0,  ///< every read sees the newest committed data at that moment
  snapshot = 1,        ///< snapshot isolation: one snapshot; first committer wins on writes
  serializable = 2,    ///< serializable snapshot isolation (SSI): the outcome of some serial order
};

constexpr std::string_view to_string(isolation_level l) noexcept {
  switch (l) {
    case isolation_level::read_committed:
      return "read_committed";
    case isolation_level::snapshot:
      return "snapshot";
    case isolation_level::serializable:
      return "serializable";
  }
  return "unknown";
}

template <class V>
concept versioning_policy = requires {
  { V::level } -> std::convertible_to<isolation_level>;
  { V::snapshots } -> std::convertible_to<bool>;
  { V::name } -> std::convertible_to<std::string_view>;
}
&&(V::snapshots || V::level == isolation_level::read_committed);

SOCHDB_END_NAMESPACE
