// Exact o200k_base token counts (gpt-tokenizer) for bench/toon_tokens: reads JSON lines with a
// "text" field on stdin, writes one JSON line {"tokens": N} per input line.
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { createInterface } from 'node:readline';

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
const out = [];
for await (const line of rl) {
  if (!line) continue;
  out.push(JSON.stringify({ tokens: countTokens(JSON.parse(line).text) }));
}
process.stdout.write(out.join('\n') + '\n');
