#include <doctest/doctest.h>

#include <sochdb/core/error.hpp>
#include <sochdb/version.hpp>

#include <string>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_core_error_test {

using namespace sochdb;

TEST_CASE("version macros agree with the meson project version") {
  CHECK(std::string(SOCHDB_VERSION_STRING) == SOCHDB_MESON_VERSION);
  CHECK(version_number ==
        SOCHDB_VERSION_MAJOR * 10000 + SOCHDB_VERSION_MINOR * 100 + SOCHDB_VERSION_PATCH);
}

TEST_CASE("every error derives from sochdb::error with its code") {
  auto code_of = [](auto&& thrower) -> errc {
    try {
      thrower();
    } catch (const error& e) {
      return e.code();
    }
    return errc::ok;
  };
  CHECK(code_of([] { throw invalid_argument("x"); }) == errc::invalid_argument);
  CHECK(code_of([] { throw not_found("x"); }) == errc::not_found);
  CHECK(code_of([] { throw already_exists("x"); }) == errc::already_exists);
  CHECK(code_of([] { throw io_error("x", 5); }) == errc::io_error);
  CHECK(code_of([] { throw corruption("x"); }) == errc::corruption);
  CHECK(code_of([] { throw transaction_conflict("x"); }) == errc::transaction_conflict);
  CHECK(code_of([] { throw dimension_mismatch("v", 3, 4); }) == errc::dimension_mismatch);
  CHECK(code_of([] { throw parse_error("toon", 1, 2, "x"); }) == errc::parse_error);
  CHECK(code_of([] { throw budget_exceeded("x"); }) == errc::budget_exceeded);
  CHECK(code_of([] { throw locked("x"); }) == errc::locked);
  CHECK(code_of([] { throw unsupported("x"); }) == errc::unsupported);
  CHECK(code_of([] { throw closed("x"); }) == errc::closed);
  // And from std::runtime_error, for callers that catch the standard base.
  CHECK_THROWS_AS(throw corruption("x"), std::runtime_error);
}

TEST_CASE("retryable is true only for conflicts and locks") {
  CHECK(transaction_conflict("x").retryable());
  CHECK(locked("x").retryable());
  CHECK_FALSE(corruption("x").retryable());
  CHECK_FALSE(io_error("x").retryable());
  CHECK_FALSE(invalid_argument("x").retryable());
}

TEST_CASE("messages name the thing") {
  dimension_mismatch d("collection 'docs'", 384, 383);
  CHECK(std::string(d.what()) == "collection 'docs' expects dimension 384, got 383");
  CHECK(d.expected() == 384);
  CHECK(d.got() == 383);

  parse_error p("toon", 12, 5, "expected 3 rows, found 2");
  CHECK(std::string(p.what()) == "toon: line 12, column 5: expected 3 rows, found 2");
  CHECK(p.line() == 12);
  CHECK(p.column() == 5);
  CHECK(p.detail() == "expected 3 rows, found 2");
  CHECK(std::string(parse_error("", 0, 0, "empty").what()) == "empty");

  io_error io("open '/x': Permission denied", 13);
  CHECK(io.sys_errno() == 13);
  CHECK(to_string(errc::corruption) == "corruption");
}

TEST_CASE("printable_key escapes binary bytes and truncates") {
  CHECK(printable_key("user:1") == "'user:1'");
  CHECK(printable_key(std::string("a\0b\xff", 4)) == "'a\\x00b\\xff'");
  CHECK(printable_key("it's") == "'it\\x27s'");
  CHECK(printable_key(std::string(100, 'k'), 10) == "'kkkkkkkkkk'...");
}

}  // namespace test_core_error_test
