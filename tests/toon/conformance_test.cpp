// The official TOON 3.3 conformance fixtures (../shared/toon-spec/tests/fixtures): every encode
// case byte-exact, every decode case compared as an ordered JSON value, options and shouldError
// honoured. Then the round trips the fixtures imply: decoding then re-encoding is stable, and
// decoding an encoder fixture's expected text gives its input back.
#include <doctest/doctest.h>

#include <sochdb/toon.hpp>

#include <iostream>
#include <string>

#include "toon_test_util.hpp"

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_toon_conformance_test {

using namespace sochdb;
using namespace toon_test;

TEST_CASE("conformance: all official TOON 3.3 fixtures") {
  if (!fixtures_present()) return;
  int encode_pass = 0, encode_total = 0, decode_pass = 0, decode_total = 0;

  for (const auto& c : load_fixtures("encode")) {
    ++encode_total;
    const value& t = c.test;
    bool should_error = t.value("shouldError", false);
    auto opts = encode_opts(t.value("options", value::object()));
    std::string got;
    bool ok;
    try {
      got = toon::encode(t["input"], opts);
      ok = !should_error && got == t["expected"].get<std::string>();
    } catch (const std::exception& e) {
      got = std::string("threw: ") + e.what();
      ok = should_error;
    }
    if (ok) {
      ++encode_pass;
    } else {
      FAIL_CHECK("encode " << c.file << " / " << c.name << "\n  got:      " << got
                           << "\n  expected: " << t["expected"].dump());
    }
  }

  for (const auto& c : load_fixtures("decode")) {
    ++decode_total;
    const value& t = c.test;
    bool should_error = t.value("shouldError", false);
    auto opts = decode_opts(t.value("options", value::object()));
    std::string got;
    bool ok;
    try {
      value v = toon::decode(t["input"].get<std::string>(), opts);
      got = v.dump();
      ok = !should_error && v == t["expected"];
    } catch (const parse_error& e) {
      got = std::string("threw: ") + e.what();
      ok = should_error && e.line() > 0 && e.column() > 0;  // errors carry a position
    }
    if (ok) {
      ++decode_pass;
    } else {
      FAIL_CHECK("decode " << c.file << " / " << c.name << "\n  got:      " << got
                           << "\n  expected: "
                           << (should_error ? std::string("an error") : t["expected"].dump()));
    }
  }

  std::cout << "TOON conformance: " << encode_pass + decode_pass << "/"
            << encode_total + decode_total << " fixtures pass (encode " << encode_pass << "/"
            << encode_total << ", decode " << decode_pass << "/" << decode_total << ")\n";
  CHECK(encode_total + decode_total == 400);
  CHECK(encode_pass == encode_total);
  CHECK(decode_pass == decode_total);
}

TEST_CASE("conformance: decoding then re-encoding the fixtures is stable") {
  if (!fixtures_present()) return;
  int checked = 0;
  for (const auto& c : load_fixtures("decode")) {
    const value& t = c.test;
    if (t.value("shouldError", false)) continue;
    auto dopts = decode_opts(t.value("options", value::object()));
    value v = toon::decode(t["input"].get<std::string>(), dopts);
    std::string once = toon::encode(v);
    value again = toon::decode(once);
    CHECK_MESSAGE(again == v, c.file << " / " << c.name);
    CHECK_MESSAGE(toon::encode(again) == once, c.file << " / " << c.name);
    ++checked;
  }
  for (const auto& c : load_fixtures("encode")) {
    const value& t = c.test;
    if (t.value("shouldError", false)) continue;
    auto o = t.value("options", value::object());
    auto eopts = encode_opts(o);
    toon::decode_options dopts{.indent = eopts.indent};
    if (eopts.key_folding == toon::key_folding::safe) {
      // Folded output expands back except where folding was skipped for a literal dotted
      // sibling (the spec's collision case): then re-encoding must still be stable.
      dopts.expand_paths = toon::expand_paths::safe;
      dopts.strict = false;
    }
    std::string text = t["expected"].get<std::string>();
    value back = toon::decode(text, dopts);
    if (eopts.key_folding == toon::key_folding::off) {
      // Tabular rows take the first row's field order, so compare without key order.
      CHECK_MESSAGE(nlohmann::json::parse(back.dump()) == nlohmann::json::parse(t["input"].dump()),
                    c.file << " / " << c.name);
    }
    CHECK_MESSAGE(toon::decode(toon::encode(back, eopts), dopts) == back,
                  c.file << " / " << c.name);
    ++checked;
  }
  MESSAGE(checked << " fixtures round-tripped");
  CHECK(checked > 300);
}

}  // namespace test_toon_conformance_test
