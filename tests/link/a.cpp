// Two translation units of one program include the whole library: a missing `inline` on a
// function or variable defined in a header fails this link with a duplicate symbol.
#include <sochdb/sochdb.hpp>

int link_test_a() { return static_cast<int>(sochdb::checksum32("a") & 1) + sochdb::version_number; }
