// `sochdb mcp` driven by the official MCP TypeScript SDK client (npm @modelcontextprotocol/sdk)
// over stdio, then probed with raw JSON-RPC lines for every protocol error code.
//
//   node tests/mcp/mcp_client_test.mjs build/examples/sochdb
//
// Exits 77 (meson's "skipped") when the SDK is not installed: `npm ci --prefix tests/mcp`.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";

const here = dirname(fileURLToPath(import.meta.url));
const sochdb = process.argv[2];
if (!sochdb) {
  console.error("usage: node mcp_client_test.mjs PATH/TO/sochdb");
  process.exit(2);
}

let Client, StdioClientTransport, McpError, Ajv, Ajv2020;
try {
  ({ Client } = await import("@modelcontextprotocol/sdk/client/index.js"));
  ({ StdioClientTransport } = await import("@modelcontextprotocol/sdk/client/stdio.js"));
  ({ McpError } = await import("@modelcontextprotocol/sdk/types.js"));
  Ajv = (await import("ajv")).default;
  Ajv2020 = (await import("ajv/dist/2020.js")).default;
} catch (e) {
  console.log(`SKIP: the MCP SDK is not installed in ${here}/node_modules (npm ci --prefix tests/mcp): ${e.message}`);
  process.exit(77);
}

const dir = mkdtempSync(join(tmpdir(), "sochdb-mcp-"));
let failures = 0;
let checks = 0;
async function check(name, fn) {
  try {
    await fn();
    checks++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: ${e.stack || e}`);
  }
}

const text = (r) => r.content.map((c) => c.text).join("\n");

// When this build has collections (`sochdb collection`), seed one so sochdb_search has data.
const hasCollections = spawnSync(sochdb, ["--help"], { encoding: "utf8" }).stdout.includes("collection ");
if (hasCollections) {
  const db = ["--db", join(dir, "db")];
  let r = spawnSync(sochdb, [...db, "collection", "create", "notes", "--dim", "3", "--hybrid"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const docs = [
    { id: "n1", vector: [1, 0, 0], metadata: { year: 2019 }, text: "the write-ahead log makes commits durable" },
    { id: "n2", vector: [0, 1, 0], metadata: { year: 2022 }, text: "HNSW graphs find nearest neighbors" },
    { id: "n3", vector: [0.9, 0.1, 0], metadata: { year: 2024 }, text: "group commit batches log writes" },
  ];
  r = spawnSync(sochdb, [...db, "collection", "insert", "notes"], { input: docs.map((d) => JSON.stringify(d)).join("\n") + "\n", encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
}

// ---- 1. the SDK client ----
const transport = new StdioClientTransport({
  command: sochdb,
  args: ["--db", join(dir, "db"), "mcp", "--quiet"],
  stderr: "inherit",
});
// The client reports the negotiated revision to transports that ask for it.
let negotiated;
transport.setProtocolVersion = (v) => { negotiated = v; };
const client = new Client({ name: "sochdb-sdk-test", version: "1.0.0" });
await client.connect(transport);

await check("initialize: server info, tools capability, negotiated revision", async () => {
  const info = client.getServerVersion();
  assert.equal(info.name, "sochdb");
  assert.ok(client.getServerCapabilities().tools, "tools capability");
  // The SDK asks for its newest revision (2025-11-25 in 1.32); sochdb answers the newest it
  // speaks, which the SDK accepts.
  assert.equal(negotiated, "2025-06-18");
  console.log(`     negotiated protocol ${negotiated}, server ${info.name} ${info.version}`);
});

let tools = [];
await check("tools/list: every inputSchema is a valid JSON Schema of type object", async () => {
  ({ tools } = await client.listTools());
  const names = tools.map((t) => t.name);
  for (const want of ["sochdb_get", "sochdb_put", "sochdb_delete", "sochdb_list_tables",
                      "sochdb_describe", "sochdb_query", "logs_tail", "logs_timeline"]) {
    assert.ok(names.includes(want), `tool ${want} listed`);
  }
  const draft7 = new Ajv({ strict: true, allErrors: true });
  const d2020 = new Ajv2020({ strict: true, allErrors: true });
  for (const t of tools) {
    assert.equal(t.inputSchema.type, "object", `${t.name} schema type`);
    assert.ok(typeof t.description === "string" && t.description.length > 10, `${t.name} description`);
    draft7.compile(t.inputSchema);   // throws on an invalid schema (strict: unknown keywords too)
    d2020.compile(t.inputSchema);
  }
  console.log(`     ${tools.length} tools: ${names.join(", ")}`);
});

const has = (name) => tools.some((t) => t.name === name);
const call = (name, args) => client.callTool({ name, arguments: args });

await check("sochdb_put / sochdb_get", async () => {
  for (const [id, name, age] of [[1, "Alice", 31], [2, "Bob", 27], [3, "Carol", 45]]) {
    const r = await call("sochdb_put", { path: `users:${id}`, value: { name, age } });
    assert.equal(r.isError, false, text(r));
    assert.ok(r.structuredContent.commit_ts > 0);
  }
  const r = await call("sochdb_get", { path: "users:2" });
  assert.equal(r.isError, false);
  assert.deepEqual(r.structuredContent.value, { name: "Bob", age: 27 });
  assert.match(text(r), /name: Bob/);  // TOON text by default
  const j = await call("sochdb_get", { path: "users:2", format: "json" });
  assert.deepEqual(JSON.parse(text(j)), j.structuredContent);
});

await check("sochdb_get of a missing key is an isError result", async () => {
  const r = await call("sochdb_get", { path: "users:404" });
  assert.equal(r.isError, true);
  assert.match(text(r), /not found: 'users:404'/);
});

await check("sochdb_query: SELECT as one TOON table; prefix; range", async () => {
  const r = await call("sochdb_query", { query: "SELECT * FROM users" });
  assert.equal(r.isError, false);
  assert.equal(r.structuredContent.count, 3);
  assert.match(text(r), /rows\[3\]\{key,name,age\}:\n  "users:1",Alice,31\n  "users:2",Bob,27\n  "users:3",Carol,45/);
  const p = await call("sochdb_query", { query: "users:", limit: 1, reverse: true });
  assert.equal(p.structuredContent.rows[0].key, "users:3");
  assert.equal(p.structuredContent.truncated, true);
  const g = await call("sochdb_query", { start: "users:2", end: "users:3" });
  assert.equal(g.structuredContent.count, 1);
});

await check("sochdb_list_tables / sochdb_describe / sochdb_delete", async () => {
  const t = await call("sochdb_list_tables", {});
  assert.deepEqual(t.structuredContent.tables.map((x) => x.table), ["users"]);
  const d = await call("sochdb_describe", { table: "users" });
  assert.equal(d.structuredContent.rows, 3);
  assert.deepEqual(d.structuredContent.fields.map((f) => f.field).sort(), ["age", "name"]);
  const del = await call("sochdb_delete", { path: "users:3" });
  assert.equal(del.structuredContent.existed, true);
  assert.equal((await call("sochdb_get", { path: "users:3" })).isError, true);
});

await check("logs_append / logs_tail / logs_timeline", async () => {
  for (let i = 0; i < 4; i++) {
    const r = await call("logs_append", { table: "agent_log", entry: { step: i, msg: `did ${i}` },
                                          ts: `2026-11-21T10:0${i}:00Z` });
    assert.equal(r.isError, false, text(r));
  }
  const tail = await call("logs_tail", { table: "agent_log", n: 2 });
  assert.deepEqual(tail.structuredContent.entries.map((e) => e.step), [2, 3]);
  const tl = await call("logs_timeline", { table: "agent_log", start: "2026-11-21T10:01:00Z",
                                           end: "2026-11-21T10:03:00Z" });
  assert.deepEqual(tl.structuredContent.entries.map((e) => e.step), [1, 2]);
});

await check("resources: tables listed and readable", async () => {
  const { resources } = await client.listResources();
  const uris = resources.map((r) => r.uri);
  assert.ok(uris.includes("sochdb://tables/users"), uris.join(","));
  const { contents } = await client.readResource({ uri: "sochdb://tables/users" });
  assert.match(contents[0].text, /rows\[2\]\{key,name,age\}/);
});

await check("sochdb_search: vector, keyword (BM25), filter; sochdb_list_collections", async () => {
  const l = await call("sochdb_list_collections", {});
  assert.ok(l.structuredContent.collections.some((c) => c.collection === "notes"), text(l));
  let r = await call("sochdb_search", { collection: "notes", vector: [1, 0, 0], k: 2 });
  assert.equal(r.isError, false, text(r));
  assert.deepEqual(r.structuredContent.hits.map((h) => h.id), ["n1", "n3"]);
  r = await call("sochdb_search", { collection: "notes", query: "nearest neighbors graphs" });
  assert.equal(r.structuredContent.mode, "keyword");
  assert.equal(r.structuredContent.hits[0].id, "n2");
  r = await call("sochdb_search", { collection: "notes", vector: [1, 0, 0], filter: { year: { $gte: 2020 } } });
  assert.equal(r.structuredContent.hits[0].id, "n3");
  assert.match(text(r), /hits\[\d+\]\{id,score,distance,year\}/);
});

await check("sochdb_context_query (context builder)", async () => {
  const r = await call("sochdb_context_query", {
    sections: [{ name: "intro", kind: "literal", text: "hello" },
               { name: "user", kind: "get", path: "users:1" }],
    token_budget: 256,
  });
  assert.equal(r.isError, false, text(r));
  assert.match(text(r), /hello/);
});

await check("memory_*: remember an entity, a fact and an episode; recall by meaning", async () => {
  let r = await call("memory_upsert_entity", { id: "maya", kind: "person", name: "Maya",
                                               description: "on-call engineer for payments" });
  assert.equal(r.isError, false, text(r));
  r = await call("memory_add_fact", { subject: "maya", predicate: "owns", object: "payments-api",
                                      valid_from: "2026-06-01T00:00:00Z" });
  assert.equal(r.isError, false, text(r));
  r = await call("memory_record_episode", {
    id: "inc-1", type: "debug", session_id: "s1",
    summary: "refund requests timed out because the connection pool was exhausted",
    entity_ids: ["maya"],
    events: [{ role: "user", content: "refunds time out", ts: "2026-10-14T09:05:00Z" }],
  });
  assert.equal(r.isError, false, text(r));
  await call("memory_record_episode", { id: "chat-1", type: "conversation",
                                        summary: "chose the fonts of the dashboard" });
  r = await call("memory_append_event", { episode_id: "inc-1", role: "assistant",
                                          content: "raise the pool size", ts: "2026-10-14T09:30:00Z" });
  assert.equal(r.isError, false, text(r));
  r = await call("memory_search_episodes", { query: "customers get timeouts on refunds", k: 2 });
  assert.equal(r.structuredContent.episodes[0].id, "inc-1");
  r = await call("memory_get_episode_timeline", { episode_id: "inc-1" });
  assert.deepEqual(r.structuredContent.events.map((e) => e.role), ["user", "assistant"]);
  r = await call("memory_search_entities", { query: "who is on call", kind: "person" });
  assert.equal(r.structuredContent.entities[0].id, "maya");
  r = await call("memory_get_entity_facts", { entity_id: "maya" });
  assert.equal(r.structuredContent.facts[0].object, "payments-api");
  r = await call("memory_build_context", { goal: "refunds time out again", token_budget: 300 });
  assert.ok(r.structuredContent.total_tokens <= 300);
  assert.match(text(r), /inc-1/);
  r = await call("memory_get_episode_timeline", { episode_id: "missing" });
  assert.equal(r.isError, true);
  await assert.rejects(call("memory_search_episodes", { query: "x", episode_type: "chat" }),
                       (e) => e instanceof McpError && e.code === -32602);
});

await check("SDK: unknown tool and bad arguments are JSON-RPC -32602", async () => {
  await assert.rejects(call("no_such_tool", {}), (e) => e instanceof McpError && e.code === -32602);
  await assert.rejects(call("sochdb_get", { path: 5 }), (e) => e instanceof McpError && e.code === -32602 && /arguments.path: expected string/.test(e.message));
  await assert.rejects(call("sochdb_query", { limit: 0 }), (e) => e.code === -32602);
});

await check("SDK: ping", async () => {
  await client.ping();
});

await client.close();

// ---- 2. raw JSON-RPC probes ----
async function rawSession(lines) {
  // Its own database: the SDK session's server may still be exiting and hold its lock.
  const child = spawn(sochdb, ["--db", join(dir, "raw"), "mcp", "--quiet"], { stdio: ["pipe", "pipe", "inherit"] });
  const rl = createInterface({ input: child.stdout });
  const replies = [];
  rl.on("line", (l) => replies.push(l));
  for (const l of lines) child.stdin.write(l + "\n");
  child.stdin.end();
  const code = await new Promise((res) => child.on("close", res));
  assert.equal(code, 0, "server exits 0 when stdin closes");
  return replies.map((l) => JSON.parse(l));
}
const init = (v) => JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize",
  params: { protocolVersion: v, capabilities: {}, clientInfo: { name: "raw", version: "1" } } });
const initialized = JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" });

await check("raw probes: -32700 / -32600 / -32601 / -32602 and batches under 2025-06-18", async () => {
  const r = await rawSession([
    JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),      // before initialize
    init("2025-06-18"), initialized,
    '{"jsonrpc":"2.0","id":2,"method":"tools/list"',                      // truncated JSON
    JSON.stringify({ jsonrpc: "1.0", id: 3, method: "ping" }),
    JSON.stringify({ jsonrpc: "2.0", id: 4, method: "resources/subscribe", params: {} }),
    JSON.stringify({ jsonrpc: "2.0", id: 5, method: "tools/call", params: { name: "sochdb_get" } }),
    JSON.stringify([{ jsonrpc: "2.0", id: 6, method: "ping" }]),
    JSON.stringify({ jsonrpc: "2.0", id: 7, method: "ping" }),
  ]);
  assert.equal(r.length, 8);
  assert.equal(r[0].error.code, -32600); assert.equal(r[0].id, 1);
  assert.equal(r[1].result.protocolVersion, "2025-06-18");
  assert.equal(r[2].error.code, -32700); assert.equal(r[2].id, null);
  assert.equal(r[3].error.code, -32600); assert.equal(r[3].id, 3);
  assert.equal(r[4].error.code, -32601); assert.equal(r[4].id, 4);
  assert.equal(r[5].error.code, -32602); assert.equal(r[5].id, 5);
  assert.equal(r[6].error.code, -32600);                 // batches are gone in 2025-06-18
  assert.deepEqual(r[7].result, {});
  console.log("     " + r.slice(2, 7).map((x) => `${x.error.code} ${x.error.message.slice(0, 48)}`).join("\n     "));
});

await check("raw probes: 2025-03-26 session accepts a batch; 2024-11-05 is spoken; unknown gets newest", async () => {
  let r = await rawSession([init("2025-03-26"), initialized,
    JSON.stringify([{ jsonrpc: "2.0", id: 1, method: "ping" },
                    { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "sochdb_put", arguments: { path: "k:1", value: "v" } } },
                    { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 9 } }])]);
  assert.equal(r[0].result.protocolVersion, "2025-03-26");
  assert.ok(Array.isArray(r[1]) && r[1].length === 2, JSON.stringify(r[1]));
  assert.equal(r[1][1].result.isError, false);
  assert.equal(r[1][1].result.structuredContent, undefined);  // structured output is 2025-06-18
  r = await rawSession([init("2024-11-05")]);
  assert.equal(r[0].result.protocolVersion, "2024-11-05");
  r = await rawSession([init("2030-01-01")]);
  assert.equal(r[0].result.protocolVersion, "2025-06-18");
});

rmSync(dir, { recursive: true, force: true });
console.log(`\n${checks} checks passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
