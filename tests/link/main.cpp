#include <sochdb/sochdb.hpp>

#include <cstdio>

int link_test_a();
int link_test_b();

int main() {
  int v = link_test_a() + link_test_b();
  std::printf("two-TU link test: %d\n", v);
  return v > 0 ? 0 : 1;
}
