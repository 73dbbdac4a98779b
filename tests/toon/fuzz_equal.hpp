// Equality for the fuzz targets' oracles: key order ignored (a TOON table lists every row's
// fields in the first row's order) or kept, doubles compared bit for bit (NaN, -0.0).
#pragma once

#include <sochdb/toon.hpp>

#include <cstring>

namespace toon_fuzz {

using sochdb::toon::value;

inline bool equal(const value& a, const value& b, bool ordered) {
  if (a.is_number() && b.is_number()) {
    if (a.is_number_float() != b.is_number_float()) return a == b;  // 1 == 1.0 by value
    if (a.is_number_float()) {
      double x = a.get<double>(), y = b.get<double>();
      return std::memcmp(&x, &y, sizeof x) == 0;
    }
    return a == b;
  }
  if (a.type() != b.type()) return false;
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!equal(a[i], b[i], ordered)) return false;
    return true;
  }
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    if (ordered) {
      auto ib = b.begin();
      for (auto ia = a.begin(); ia != a.end(); ++ia, ++ib)
        if (ia.key() != ib.key() || !equal(*ia, *ib, ordered)) return false;
      return true;
    }
    for (auto ia = a.begin(); ia != a.end(); ++ia) {
      auto ib = b.find(ia.key());
      if (ib == b.end() || !equal(*ia, *ib, ordered)) return false;
    }
    return true;
  }
  return a == b;
}

}  // namespace toon_fuzz
