// sochdb/storage.hpp — WAL, memtable, SSTables, storage backends, the commit pipeline.
#pragma once

#include <sochdb/core.hpp>
#include <sochdb/storage/commit_pipeline.hpp>
#include <sochdb/storage/concepts.hpp>
#include <sochdb/storage/internal_key.hpp>
#include <sochdb/storage/lsm_storage.hpp>
#include <sochdb/storage/memory_storage.hpp>
#include <sochdb/storage/memtable.hpp>
#include <sochdb/storage/snapshot_cursor.hpp>
#include <sochdb/storage/wal.hpp>
#include <sochdb/storage/wal_format.hpp>
#include <sochdb/storage/wal_storage.hpp>
#include <sochdb/storage/write_batch.hpp>
