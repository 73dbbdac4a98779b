// sochdb/db.hpp — the database facade: key-value API, transactions, snapshots.
#pragma once

#include <sochdb/storage.hpp>
#include <sochdb/mvcc.hpp>
#include <sochdb/db/database.hpp>
#include <sochdb/db/options.hpp>
#include <sochdb/db/snapshot_tracker.hpp>
#include <sochdb/db/transaction.hpp>
#include <sochdb/db/filter.hpp>
#include <sochdb/db/document.hpp>
#include <sochdb/db/collection.hpp>
#include <sochdb/db/namespace.hpp>
#include <sochdb/db/atomic_writer.hpp>
