// sochdb — version macros and the inline ABI namespace.
//
// Every public declaration lives in `sochdb::SOCHDB_ABI` (an inline namespace), so two
// incompatible versions of the library linked into one program fail at link time instead of
// silently mixing layouts. Users never spell the inline namespace.
#pragma once

#define SOCHDB_VERSION_MAJOR 0
#define SOCHDB_VERSION_MINOR 1
#define SOCHDB_VERSION_PATCH 0
#define SOCHDB_VERSION_STRING "0.1.0"

// Bump with any change to the layout of a public type.
#define SOCHDB_ABI v0_1

#define SOCHDB_BEGIN_NAMESPACE \
  namespace sochdb {           \
  inline namespace SOCHDB_ABI {
#define SOCHDB_END_NAMESPACE \
  }                          \
  }

SOCHDB_BEGIN_NAMESPACE

/// The library version as a number: major * 10000 + minor * 100 + patch.
inline constexpr int version_number =
    SOCHDB_VERSION_MAJOR * 10000 + SOCHDB_VERSION_MINOR * 100 + SOCHDB_VERSION_PATCH;

/// The library version as "major.minor.patch".
inline constexpr const char* version_string = SOCHDB_VERSION_STRING;

SOCHDB_END_NAMESPACE
