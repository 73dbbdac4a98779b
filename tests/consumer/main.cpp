// Uses the installed or vendored library through <sochdb/sochdb.hpp> only.
#include <sochdb/sochdb.hpp>

#include <cstdio>

int main() {
  sochdb::memory_fs fs;
  sochdb::write_file(fs, "hello", "consumer");
  bool ok = sochdb::read_file(fs, "hello") == "consumer" && sochdb::version_number > 0;
  std::printf("sochdb %s consumer: %s\n", sochdb::version_string, ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
