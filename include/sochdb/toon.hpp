// sochdb/toon.hpp — TOON: the text format of spec 3.3, binary TOON, and token counting.
//
// Usable on its own: it needs only sochdb/core and nlohmann_json.
//
//   auto text = sochdb::toon::encode(doc);          // nlohmann::ordered_json -> TOON
//   auto back = sochdb::toon::decode(text);         // TOON -> nlohmann::ordered_json
//   auto bytes = sochdb::toon::binary::encode(doc); // compact, checksummed binary TOON
//   auto n = sochdb::approx_token_counter{}.count(text);  // ~ o200k_base tokens
//
// See docs/toon.md.
#pragma once

#include <sochdb/version.hpp>
#include <sochdb/toon/binary.hpp>
#include <sochdb/toon/concepts.hpp>
#include <sochdb/toon/decode.hpp>
#include <sochdb/toon/encode.hpp>
#include <sochdb/toon/options.hpp>
#include <sochdb/toon/token_counter.hpp>
