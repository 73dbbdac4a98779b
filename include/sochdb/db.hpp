// sochdb/db.hpp — the database facade (key-value API today).
#pragma once

#include <sochdb/storage.hpp>
#include <sochdb/db/database.hpp>
#include <sochdb/db/options.hpp>
#include <sochdb/db/snapshot_tracker.hpp>
