// sochdb/sochdb.hpp — the whole library.
//
// Each folder also has its own umbrella (sochdb/core.hpp, sochdb/toon.hpp, sochdb/vector.hpp,
// ...) for users who want only part of it.
#pragma once

#include <sochdb/version.hpp>
#include <sochdb/core.hpp>
#include <sochdb/toon.hpp>
