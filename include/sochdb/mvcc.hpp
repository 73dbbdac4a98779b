// sochdb/mvcc.hpp — isolation levels, versioning policies and conflict detection. The
// transactions themselves live in the database facade (sochdb/db.hpp, db/transaction.hpp).
#pragma once

#include <sochdb/mvcc/concepts.hpp>
#include <sochdb/mvcc/conflict_manager.hpp>
#include <sochdb/mvcc/policies.hpp>
