// The reference side of bench/toon_bench: times @toon-format/toon 2.3.1 (and, for scale,
// JSON.parse / JSON.stringify) on one document.
//
//   node bench.mjs DOC.json JSON_BYTES REPS OUT.toon
//
// Throughput is JSON_BYTES (the document's compact-JSON size, measured by the caller so both
// sides divide by the same number) over the median time of REPS runs after one warm-up. Prints
// one JSON line; writes the TOON text it produced to OUT.toon so the caller can check that both
// implementations wrote the same bytes.
import { encode, decode } from '@toon-format/toon';
import { readFileSync, writeFileSync } from 'node:fs';

const [file, bytesArg, repsArg, outFile] = process.argv.slice(2);
const bytes = Number(bytesArg);
const reps = Number(repsArg ?? 5);
const json = readFileSync(file, 'utf8');
const doc = JSON.parse(json);

function time(fn) {
  fn();  // warm-up (JIT)
  const t = [];
  let out;
  for (let i = 0; i < reps; i++) {
    const s = process.hrtime.bigint();
    out = fn();
    t.push(Number(process.hrtime.bigint() - s) / 1e9);
  }
  t.sort((a, b) => a - b);
  return { mbs: bytes / 1e6 / t[Math.floor(t.length / 2)], out };
}

const enc = time(() => encode(doc));
const dec = time(() => decode(enc.out));
const parse = time(() => JSON.parse(json));
const stringify = time(() => JSON.stringify(doc));
writeFileSync(outFile, enc.out);
console.log(JSON.stringify({ encode: enc.mbs, decode: dec.mbs, json_parse: parse.mbs, json_stringify: stringify.mbs,
  decode_matches: JSON.stringify(dec.out) === JSON.stringify(doc), node: process.version }));
