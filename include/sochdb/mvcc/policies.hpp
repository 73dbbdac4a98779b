// sochdb/mvcc/policies.hpp — the versioning policies: serializable (the default),
// snapshot_isolation, read_committed and single_version.
//
//     basic_database<memory_storage, snapshot_isolation> db = ...;   // SI by default
//     auto txn = db.begin(isolation_level::read_committed);          // weaker on request
//
// What each costs: a `read_committed` or `single_version` database installs no commit-time
// validation at all. `snapshot_isolation` validates each write set against the storage's
// newest version of every key it writes (first committer wins) and remembers the write sets of
// the commit group in flight. `serializable` adds the SSI bookkeeping of mvcc/conflict_manager.hpp
// for its serializable transactions (read sets, recent write sets, rw-antidependencies).
//
// Thread safety: tag types without state.
#pragma once

#include <sochdb/mvcc/concepts.hpp>

SOCHDB_BEGIN_NAMESPACE

/// The reference model. Serializable snapshot isolation (Cahill, Röhm & Fekete, SIGMOD 2008;
/// Ports & Grittner, VLDB 2012): transactions behave as if run one at a time; weaker levels may
/// be asked for per transaction.
struct serializable {
  /// Requirement: the default level of begin() and the strongest one it accepts.
  static constexpr isolation_level level = isolation_level::serializable;
  /// Requirement: snapshots exist (db.snapshot(), and a transaction's snapshot pins the
  /// versions it can read until it ends, so version GC keeps them).
  static constexpr bool snapshots = true;
  /// Requirement: the policy's name.
  static constexpr std::string_view name = "serializable";
};

/// Snapshot isolation (PostgreSQL's REPEATABLE READ): a transaction reads one snapshot and
/// aborts when another transaction committed a write to a key it writes after its snapshot
/// (first committer wins). Allows write skew (G2-item, G2). Also accepts read_committed.
struct snapshot_isolation {
  static constexpr isolation_level level = isolation_level::snapshot;
  static constexpr bool snapshots = true;
  static constexpr std::string_view name = "snapshot_isolation";
};

/// Read committed: every read sees the newest committed data when it runs; writes are buffered
/// and committed atomically, last writer wins (lost updates are possible). db.snapshot() is
/// available.
struct read_committed {
  static constexpr isolation_level level = isolation_level::read_committed;
  static constexpr bool snapshots = true;
  static constexpr std::string_view name = "read_committed";
};

/// For caches that need no history: transactions are read committed, and nothing may hold a
/// snapshot beyond one read or one scan (no db.snapshot()), so after each version GC every key
/// has one version. Guarantees: commits are atomic and durable, a reader never sees part of a
/// commit, each get and each scan reads one consistent state. Does not guarantee: repeatable
/// reads, a consistent view across two reads, protection from lost updates or write skew.
struct single_version {
  static constexpr isolation_level level = isolation_level::read_committed;
  static constexpr bool snapshots = false;
  static constexpr std::string_view name = "single_version";
};

static_assert(versioning_policy<serializable>);
static_assert(versioning_policy<snapshot_isolation>);
static_assert(versioning_policy<read_committed>);
static_assert(versioning_policy<single_version>);

SOCHDB_END_NAMESPACE
