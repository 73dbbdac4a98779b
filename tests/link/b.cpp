#include <sochdb/sochdb.hpp>

int link_test_b() { return static_cast<int>(sochdb::checksum32("b") & 1) + sochdb::version_number; }
