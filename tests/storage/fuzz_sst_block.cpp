// libFuzzer target: the SSTable block decoder on arbitrary bytes.
//
// The input is taken as a raw key/value block (entries, restart array, restart count) and,
// separately, as a stored block (payload, type byte, checksum) to decode. Decoding must never
// read out of bounds, loop forever or allocate without bound: every malformed block ends in
// sochdb::corruption (or unsupported for an unknown compression type).
#include <sochdb/storage.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  sochdb::sst_error_context ctx{"fuzz block"};
  // 1. As a raw block: iterate both ways, seek to keys taken from the input.
  try {
    sochdb::block_contents b;
    b.data = in;
    b.parse_restarts(ctx);
    sochdb::block_iter it;
    it.init(&b, &ctx);
    int n = 0;
    for (it.seek_to_first(); it.valid() && n < 100000; it.next()) ++n;
    for (it.seek_to_last(); it.valid() && n < 200000; it.prev()) ++n;
    std::string target = sochdb::make_internal_key(in.substr(0, std::min<std::size_t>(size, 12)),
                                                   size, sochdb::value_kind::value);
    it.seek(target);
    if (it.valid()) it.prev();
    it.seek_before(target);
    if (it.valid()) it.next();
  } catch (const sochdb::corruption&) {
  }
  // 2. As a stored block (trailer checked, then decompressed by its type byte).
  try {
    auto b = sochdb::decode_stored_block<sochdb::lz4>(in, 0, false, ctx, nullptr, nullptr);
    b.parse_restarts(ctx);
  } catch (const sochdb::corruption&) {
  } catch (const sochdb::unsupported&) {
  }
  // 3. The compressors' decoders directly (they run after the checksum in real reads).
  if (size > 1) {
    std::string out(std::min<std::size_t>(size * 4, 1 << 16), '\0');
    (void)sochdb::decompress_builtin(data[0] % 3, in.substr(1), out.data(), out.size(), nullptr);
  }
  return 0;
}
