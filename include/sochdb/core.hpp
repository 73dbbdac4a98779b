// sochdb/core.hpp — errors, byte coding, checksums, clock, arena, thread pool, file systems.
#pragma once

#include <sochdb/version.hpp>
#include <sochdb/core/arena.hpp>
#include <sochdb/core/checksum.hpp>
#include <sochdb/core/clock.hpp>
#include <sochdb/core/coding.hpp>
#include <sochdb/core/error.hpp>
#include <sochdb/core/fault_injection_fs.hpp>
#include <sochdb/core/fs.hpp>
#include <sochdb/core/memory_fs.hpp>
#include <sochdb/core/thread_pool.hpp>
