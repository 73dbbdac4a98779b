// libFuzzer target: decode_document and metadata_filter::compile on arbitrary bytes must
// either succeed or throw sochdb::error (corruption / invalid_argument) — never crash, hang or
// allocate without bound. A decoded document must re-encode to the same bytes.
#include <sochdb/db/document.hpp>
#include <sochdb/db/filter.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    auto d = sochdb::decode_document(bytes, "id", "fuzz");
    std::size_t dim = d.vectors.empty() ? 0 : d.vectors[0].size();
    if (!d.vectors.empty()) {
      auto again = sochdb::encode_document(d, dim);
      auto back = sochdb::decode_document(again, "id", "fuzz");
      if (back.vectors.size() != d.vectors.size() || back.text != d.text) __builtin_trap();
    }
  } catch (const sochdb::error&) {
  }
  try {
    auto f = sochdb::metadata_filter::compile(bytes);
    (void)f.matches(nlohmann::json{{"a", 1}, {"b", {{"c", "x"}}}, {"t", {1, 2}}});
  } catch (const sochdb::error&) {
  }
  return 0;
}
