#include <doctest/doctest.h>

#include <sochdb/text/fusion.hpp>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_text_fusion_test {

using namespace sochdb;

TEST_CASE("reciprocal rank fusion sums 1/(k + rank)") {
  std::vector<std::vector<scored_id>> lists = {
      {{1, 0.9}, {2, 0.8}, {3, 0.7}},
      {{3, 12.0}, {1, 11.0}, {4, 2.0}},
  };
  auto fused = rrf_fuse(lists, 10, 60);
  REQUIRE(fused.size() == 4);
  CHECK(fused[0].id == 1);  // 1/61 + 1/62
  CHECK(fused[0].score == doctest::Approx(1.0 / 61 + 1.0 / 62));
  CHECK(fused[1].id == 3);  // 1/63 + 1/61
  CHECK(fused[2].id == 2);  // 1/62
  CHECK(fused[3].id == 4);  // 1/63; ties with 3's... no: 4 has 1/63 only
  CHECK(rrf_fuse(lists, 2, 60).size() == 2);
  CHECK_THROWS_AS(rrf_fuse(lists, 2, -1), invalid_argument);
}

TEST_CASE("weighted fusion normalizes each list to [0, 1]") {
  std::vector<scored_id> vec = {{1, 0.9}, {2, 0.5}, {3, 0.1}};
  std::vector<scored_id> kw = {{3, 20.0}, {4, 10.0}};
  auto f = weighted_fuse(vec, kw, 0.5, 10);
  REQUIRE(f.size() == 4);
  // 1: 0.5*1 + 0 = 0.5; 2: 0.5*0.5 = 0.25; 3: 0 + 0.5*1 = 0.5; 4: 0.5*0 = 0.
  CHECK(f[0].id == 1);
  CHECK(f[0].score == doctest::Approx(0.5));
  CHECK(f[1].id == 3);
  CHECK(f[1].score == doctest::Approx(0.5));
  CHECK(f[2].id == 2);
  CHECK(f[3].id == 4);
  CHECK(weighted_fuse(vec, kw, 1.0, 10)[0].id == 1);
  CHECK(weighted_fuse(vec, kw, 0.0, 10)[0].id == 3);
  CHECK_THROWS_AS(weighted_fuse(vec, kw, 1.5, 10), invalid_argument);
}

}  // namespace test_text_fusion_test
