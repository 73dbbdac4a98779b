#!/usr/bin/env python3
"""Tests of the `sochdb` command-line tool: exit codes (0 ok, 1 failure/not found, 2 usage),
help for every command, errors on stderr and nothing on stdout when a command fails.

usage: cli_test.py PATH_TO_SOCHDB
"""
import json
import subprocess
import os
import sys
import tempfile

SOCHDB = sys.argv[1]
failures = []


def run(*args, stdin=None):
    p = subprocess.run([SOCHDB, *args], input=stdin, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def test_help_and_version():
    rc, out, err = run("--help")
    check(rc == 0 and "commands:" in out and "version" in out, "--help lists commands")
    rc, out, _ = run("--version")
    check(rc == 0 and out.startswith("sochdb "), "--version prints the version")
    rc, out, _ = run("version")
    check(rc == 0 and out.startswith("sochdb "), "version command")
    # every listed command has its own --help
    listed = [l.split()[0] for l in run("--help")[1].split("commands:")[1].splitlines()
              if l.startswith("  ") and l.strip()]
    check(len(listed) >= 2, "command list parsed")
    for name in listed:
        rc, out, _ = run(name, "--help")
        check(rc == 0 and "usage: sochdb" in out, f"{name} --help")
        rc, out, _ = run("help", name)
        check(rc == 0 and "usage: sochdb" in out, f"help {name}")


def test_usage_errors():
    for args in (["frobnicate"], ["--bogus"], ["--format", "xml", "version"],
                 ["version", "extra"], ["help", "nope"], ["--db"]):
        rc, out, err = run(*args)
        check(rc == 2, f"{args} exits 2 (got {rc})")
        check(out == "", f"{args} prints nothing on stdout")
        check("usage: sochdb" in err, f"{args} prints usage on stderr")


def test_kv():
    with tempfile.TemporaryDirectory() as tmp:
        db = tmp + "/db"
        rc, out, err = run("--db", db, "put", "user:1", "Alice")
        check(rc == 0 and out == "" and err == "", f"put succeeds quietly ({rc}, {err!r})")
        run("--db", db, "put", "user:2", "Bob")
        run("--db", db, "put", "item:1", "Lamp")
        rc, out, _ = run("--db", db, "get", "user:1")
        check(rc == 0 and out == "Alice\n", f"get prints the value ({out!r})")
        rc, out, err = run("--db", db, "get", "user:9")
        check(rc == 1 and out == "" and "not found" in err, f"missing key: exit 1, not found ({rc}, {err!r})")
        rc, out, _ = run("--db", db, "scan", "user:")
        check(rc == 0 and out == "user:1\tAlice\nuser:2\tBob\n", f"scan PREFIX ({out!r})")
        rc, out, _ = run("--db", db, "scan")
        check(rc == 0 and out.splitlines() == ["item:1\tLamp", "user:1\tAlice", "user:2\tBob"],
              f"scan lists every key in order ({out!r})")
        rc, out, _ = run("--db", db, "scan", "--reverse", "--limit", "1")
        check(rc == 0 and out == "user:2\tBob\n", f"scan --reverse --limit ({out!r})")
        rc, _, _ = run("--db", db, "del", "user:1")
        check(rc == 0, "del")
        rc, _, err = run("--db", db, "get", "user:1")
        check(rc == 1 and "not found" in err, "deleted key is gone")
        rc, out, _ = run("--db", db, "put", "s", "x", "--ttl", "3600")
        check(rc == 0, "put --ttl")
        rc, out, _ = run("--db", db, "stats")
        check(rc == 0 and "keys: 3" in out and "wal_bytes:" in out, f"stats ({out!r})")
        rc, out, _ = run("--db", db, "--format", "json", "stats")
        check(rc == 0 and '"keys": 3' in out, "stats --format json")
        rc, out, _ = run("--db", db, "check")
        check(rc == 0 and out.startswith("ok:"), f"check on a sound database ({out!r})")
        # usage errors
        for args in (["put", "onlykey"], ["get"], ["put", "k", "v", "--sync", "sometimes"],
                     ["scan", "a", "b"], ["put", "k", "v", "--ttl", "-1"]):
            rc, out, err = run("--db", db, *args)
            check(rc == 2 and out == "", f"{args} is a usage error ({rc})")
        rc, _, err = run("put", "k", "v")
        check(rc == 2 and "--db" in err, "put without --db is a usage error")
        rc, _, err = run("--db", db, "put", "", "v")
        check(rc == 1 and "empty" in err, f"empty key is refused ({err!r})")
        # damage one byte in the middle of the log: check names the file and offset
        seg = db + "/000001.log"
        with open(seg, "r+b") as f:
            f.seek(30)
            b = f.read(1)
            f.seek(30)
            f.write(bytes([b[0] ^ 0x10]))
        rc, out, err = run("--db", db, "check")
        check(rc == 1 and "wal segment 000001.log" in err and "at offset 20" in err,
              f"check reports the first bad record ({rc}, {err!r})")
        rc, out, err = run("--db", db, "get", "user:2")
        check(rc == 1 and "corruption" in err and "000001.log" in err,
              f"opening a damaged database fails with corruption ({err!r})")
        rc, out, err = run("--db", tmp + "/nope", "check")
        check(rc == 1 and "does not exist" in err, "check of a missing directory")
        rc, out, err = run("--db", tmp + "/nope", "get", "k")
        check(rc == 1 and "does not exist" in err, f"get on a missing database ({err!r})")


def test_lsm():
    with tempfile.TemporaryDirectory() as tmp:
        db = tmp + "/db"
        for i in range(12):
            rc, _, err = run("--db", db, "put", f"doc:{i:03d}", "x" * 200, "--sync", "off")
            check(rc == 0, f"put doc:{i} ({err!r})")
        rc, out, err = run("--db", db, "checkpoint")
        check(rc == 0 and out.startswith("checkpoint:") and "level 0: 1 files" in out,
              f"checkpoint flushes the memtable to level 0 ({out!r}, {err!r})")
        check(sorted(f for f in os.listdir(db) if f.endswith(".sst")) != [], "an sstable exists")
        run("--db", db, "put", "doc:000", "new", "--sync", "off")
        run("--db", db, "del", "doc:001", "--sync", "off")
        run("--db", db, "checkpoint")
        rc, out, _ = run("--db", db, "stats")
        check(rc == 0 and "level0_files: 2" in out and "write_amplification:" in out
              and "cache_hit_rate:" in out, f"stats shows levels ({out!r})")
        rc, out, err = run("--db", db, "compact")
        check(rc == 0 and out.startswith("compacted: 2 files") and "level 1: 1 files" in out,
              f"compact merges level 0 into level 1 ({out!r}, {err!r})")
        rc, out, _ = run("--db", db, "get", "doc:000")
        check(rc == 0 and out == "new\n", "compacted data reads back")
        rc, out, _ = run("--db", db, "scan", "doc:")
        check(rc == 0 and len(out.splitlines()) == 11, f"deleted key gone after compaction ({out!r})")
        rc, out, _ = run("--db", db, "compact", "doc:")
        check(rc == 0 and out.startswith("compacted:"), "compact PREFIX")
        rc, out, err = run("--db", db, "compact", "doc:", "--begin", "a")
        check(rc == 2 and out == "" and "not both" in err, "compact PREFIX --begin is a usage error")
        rc, out, err = run("--db", tmp + "/nope", "compact")
        check(rc == 1 and "does not exist" in err, "compact on a missing database")
        rc, out, _ = run("--db", db, "check")
        check(rc == 0 and out.startswith("ok: 1 sstables"), f"check verifies sstables ({out!r})")
        # damage a byte of the table's first data block: check and reads name file and offset
        sst = [f for f in os.listdir(db) if f.endswith(".sst")][0]
        with open(db + "/" + sst, "r+b") as f:
            f.seek(10)
            b = f.read(1)
            f.seek(10)
            f.write(bytes([b[0] ^ 0x04]))
        rc, out, err = run("--db", db, "check")
        check(rc == 1 and f"sstable {sst}" in err and "at offset 0" in err,
              f"check reports the damaged block ({rc}, {err!r})")
        rc, out, err = run("--db", db, "get", "doc:002")
        check(rc == 1 and "corruption" in err and sst in err and "at offset 0" in err,
              f"a read of the damaged block fails naming file and offset ({err!r})")


def test_simd():
    rc, out, err = run("simd")
    check(rc == 0 and out.startswith("isa: ") and "self_check: ok" in out, "simd reports its ISA")
    check("runtime_dispatch: true" in out, "the CLI links the dispatch library")
    rc, out, _ = run("--format", "json", "simd", "--isa", "scalar")
    check(rc == 0 and '"isa":"scalar"' in out, "simd --isa scalar (json)")
    rc, out, err = run("simd", "--isa", "vax")
    check(rc == 2 and out == "" and "unknown ISA" in err, "simd --isa unknown is a usage error")
    rc, out, err = run("simd", "--isa", "neon" if "avx" in run("simd")[1] else "avx512-vnni")
    check(rc in (0, 1), "simd --isa of another architecture runs or fails cleanly")
    if rc == 1:
        check(out == "" and "not available" in err, "an unavailable ISA fails on stderr only")


def test_txn():
    with tempfile.TemporaryDirectory() as tmp:
        db = tmp + "/db"
        rc, out, err = run("--db", db, "txn", stdin="put acct/a 100\nput acct/b 50\n# note\n\n"
                           "put note hello world\n")
        check(rc == 0 and out == "" and "committed 3 writes at ts" in err, f"txn commits ({err!r})")
        rc, out, err = run("--db", db, "txn", stdin="get acct/a\nput acct/a 90\nput acct/b 60\n"
                           "del note\nget note\nscan acct/\n")
        check(rc == 0 and out == "acct/a\t100\nacct/a\t90\nacct/b\t60\n",
              f"txn reads its own writes ({out!r})")
        check("not found: note" in err, "a missing key in txn goes to stderr")
        rc, out, _ = run("--db", db, "get", "acct/b")
        check(rc == 0 and out == "60\n", "txn's writes are committed")
        rc, out, err = run("--db", db, "txn", "--dry-run", "--isolation", "snapshot",
                           stdin="put acct/a 0\n")
        check(rc == 0 and "dry run" in err, "txn --dry-run")
        rc, out, _ = run("--db", db, "get", "acct/a")
        check(out == "90\n", "a dry run writes nothing")
        for script, what in (("put acct/a 1\nfrobnicate x\n", "unknown operation"),
                             ("put\n", "put needs KEY VALUE"), ("get a b\n", "one argument")):
            rc, out, err = run("--db", db, "txn", stdin=script)
            check(rc == 2 and what in err and "line" in err, f"txn usage error: {what} ({err!r})")
        rc, out, _ = run("--db", db, "get", "acct/a")
        check(out == "90\n", "a malformed script writes nothing")
        rc, out, err = run("--db", db, "txn", "--isolation", "chaos", stdin="")
        check(rc == 2 and "--isolation" in err, "txn --isolation checks its value")
        rc, out, err = run("--db", db, "txn", stdin="put " + "k" * 70000 + " v\n")
        check(rc == 1 and "max_key_size" in err, f"txn reports a bad key ({err[:80]!r})")


def test_shell():
    with tempfile.TemporaryDirectory() as tmp:
        db = tmp + "/db"
        rc, out, err = run("--db", db, stdin="")
        check(rc == 0 and out == "" and err == "", f"shell on empty input ({rc}, {err!r})")
        rc, out, err = run("--db", db, stdin="put user:1 'Alice Smith'\n# comment\n\nget user:1\n"
                           "--format json get user:1\nquit\nput never x\n")
        check(rc == 0 and out.startswith("Alice Smith\n") and '"value": "Alice Smith"' in out,
              f"shell runs commands, quoting and per-line --format ({rc}, {out!r}, {err!r})")
        rc, out, _ = run("--db", db, "get", "never")
        check(rc == 1, "shell stops at quit")
        rc, out, err = run("--db", db, stdin="get missing\nput a 1\n")
        check(rc == 1 and "not found" in err and "line 1" in err, f"shell: a failure sets status 1 ({rc}, {err!r})")
        check(run("--db", db, "get", "a")[1] == "1\n", "shell goes on after a failure")
        rc, out, err = run("--db", db, stdin="frobnicate\n")
        check(rc == 2 and "unknown command" in err, f"shell: usage error status 2 ({rc})")
        rc, out, err = run("--db", db, stdin="put 'unterminated\n")
        check(rc == 2 and "unterminated" in err, "shell: unterminated quote")
        for cmd in ("batch", "txn", "mcp", "import - --as json"):
            rc, out, err = run("--db", db, stdin=cmd + "\n")
            check(rc == 2 and "not available in the shell" in err, f"shell refuses {cmd}")
        rc, out, _ = run("--db", db, stdin="help\n")
        check(rc == 0 and "quit" in out and "commands:" in out, "shell help")


def test_formats():
    with tempfile.TemporaryDirectory() as tmp:
        db = tmp + "/db"
        run("--db", db, "put", "u:1", '{"name":"Ann","age":30}')
        run("--db", db, "put", "u:2", '{"name":"Ben","age":41}')
        rc, out, _ = run("--db", db, "--format", "toon", "scan", "u:")
        check(rc == 0 and out == 'rows[2]{key,name,age}:\n  "u:1",Ann,30\n  "u:2",Ben,41\n',
              f"scan --format toon is one TOON table ({out!r})")
        rc, out, _ = run("--db", db, "--format", "json", "scan", "u:")
        check(rc == 0 and json.loads(out)[1] == {"key": "u:2", "name": "Ben", "age": 41},
              f"scan --format json ({out!r})")
        rc, out, _ = run("--db", db, "--format", "table", "scan", "u:")
        check(rc == 0 and out.splitlines()[0].split() == ["key", "name", "age"] and
              out.splitlines()[3].split() == ["u:2", "Ben", "41"], f"scan --format table ({out!r})")
        rc, out, _ = run("--db", db, "--format", "json", "get", "u:1")
        check(rc == 0 and json.loads(out) == [{"key": "u:1", "name": "Ann", "age": 30}], "get --format json")


def test_batch_import_export():
    with tempfile.TemporaryDirectory() as tmp:
        db, copy = tmp + "/db", tmp + "/copy"
        rc, out, err = run("--db", db, "batch", stdin="a:1\tone\na:2\ttwo words\nb:1\t\n")
        check(rc == 0 and out == "" and "stored 3 keys in 1 commit" in err, f"batch ({rc}, {err!r})")
        rc, out, _ = run("--db", db, "scan")
        check(out == "a:1\tone\na:2\ttwo words\nb:1\t\n", f"batch stored the lines ({out!r})")
        rc, out, err = run("--db", db, "batch", "--chunk", "1", stdin="c:1\tx\nc:2\ty\n")
        check(rc == 0 and "in 2 commits" in err, "batch --chunk")
        rc, out, err = run("--db", db, "batch", stdin="d:1\tok\nno tab here\n")
        check(rc == 1 and "stdin:2" in err and "KEY<TAB>VALUE" in err, f"batch: malformed line ({err!r})")
        check(run("--db", db, "get", "d:1")[0] == 1, "a malformed batch writes nothing")
        rc, out, err = run("--db", db, "batch", "--delete", stdin="c:1\nc:2\n")
        check(rc == 0 and run("--db", db, "get", "c:1")[0] == 1, "batch --delete")
        # scan | batch round trip
        rc, out, _ = run("--db", db, "scan", "a:")
        rc, _, _ = run("--db", copy, "batch", stdin=out)
        check(run("--db", copy, "get", "a:2")[1] == "two words\n", "scan | batch copies")
        # export / import in every format, binary bytes included
        run("--db", db, "put", "j:1", '{"x":[1,2]}')
        for fmt in ("json", "jsonl", "toon"):
            f = f"{tmp}/dump.{fmt}"
            rc, out, err = run("--db", db, "export", "--to", f)
            check(rc == 0 and "exported 4 records" in err, f"export {fmt} ({rc}, {err!r})")
            target = f"{tmp}/imp-{fmt}"
            rc, out, err = run("--db", target, "import", f)
            check(rc == 0 and "imported 4 records" in err, f"import {fmt} ({rc}, {err!r})")
            check(run("--db", target, "scan")[1] == run("--db", db, "scan")[1], f"{fmt} round trip")
        rc, out, _ = run("--db", db, "export", "a:", "--as", "toon")
        check(rc == 0 and out.startswith("rows[2]{key,value}:"), f"export to stdout as TOON ({out!r})")
        rc, out, err = run("--db", tmp + "/stdin", "import", "-", "--as", "jsonl", "--prefix", "p/",
                           stdin='{"key":"k","value":{"nested":true}}\n{"key_base64":"/w==","value_base64":"AAE="}\n')
        check(rc == 0, f"import from stdin ({err!r})")
        check(run("--db", tmp + "/stdin", "get", "p/k")[1] == '{"nested":true}\n', "non-string values stored as JSON")
        rc, out, _ = run("--db", tmp + "/stdin", "export")
        check('"key_base64":"cC//"' in out and '"value":"\\u0000\\u0001"' in out, f"bytes round trip as base64 ({out!r})")
        # malformed files: exit 1 naming file and line, nothing written
        bad_files = {
            "bad1.jsonl": ('{"key":"a","value":"1"}\n{"key":"b"\n', "bad1.jsonl:2"),
            "bad2.jsonl": ('{"key":"a","value":"1"}\n{"key":"b"}\n', "missing 'value'"),
            "bad3.jsonl": ('{"key":"a","value":"1","extra":1}\n', "unknown member 'extra'"),
            "bad4.json": ('{"key":"a","value":"1"}', "expected a JSON array"),
            "bad5.json": ('[{"key":"a","value":"1"},', "not JSON"),
            "bad6.toon": ('rows[2]{key,value}:\n  a,1\n', "line"),
            "bad7.jsonl": ('{"key_base64":"!!","value":"x"}\n', "not valid base64"),
            "bad8.json": ('[{"key":"","value":"x"}]', "empty key"),
        }
        for name, (content, what) in bad_files.items():
            with open(f"{tmp}/{name}", "w") as fh:
                fh.write(content)
            rc, out, err = run("--db", tmp + "/bad", "import", f"{tmp}/{name}")
            check(rc == 1 and what in err and out == "", f"import {name}: exit 1 with '{what}' ({rc}, {err!r})")
        rc, out, _ = run("--db", tmp + "/bad", "scan")
        check(out == "", "malformed imports wrote nothing")
        rc, out, err = run("--db", db, "import", tmp + "/missing.json")
        check(rc == 1 and "cannot open" in err, "import of a missing file")
        for args in (["import"], ["import", "x.csv"], ["import", "-"], ["import", "a.json", "--as", "xml"],
                     ["export", "--to", "x.bin"], ["batch", "extra"], ["batch", "--chunk", "-1"]):
            rc, out, err = run("--db", db, *args)
            check(rc == 2 and out == "", f"{args} is a usage error ({rc}, {err!r})")


def test_import_fvecs():
    import struct
    with tempfile.TemporaryDirectory() as tmp:
        db = tmp + "/db"
        vecs = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]
        with open(tmp + "/base.fvecs", "wb") as f:
            for v in vecs:
                f.write(struct.pack("<i", 4) + struct.pack("<4f", *v))
        rc, out, err = run("--db", db, "collection", "create", "vecs", "--dim", "4")
        check(rc == 0, f"collection create for fvecs ({err!r})")
        rc, out, err = run("--db", db, "import", tmp + "/base.fvecs", "--collection", "vecs", "--chunk", "2")
        check(rc == 0 and "imported 3 vectors of dimension 4" in err and "in 2 commits" in err,
              f"import .fvecs into a collection ({rc}, {err!r})")
        rc, out, err = run("--db", db, "--format", "json", "collection", "search", "vecs", "--vector", "[0,1,0,0]", "-k", "1")
        check(rc == 0 and '"v1"' in out, f"imported vectors are searchable ({rc}, {out!r}, {err!r})")
        with open(tmp + "/trunc.fvecs", "wb") as f:
            f.write(struct.pack("<i", 4) + struct.pack("<2f", 1, 2))
        rc, out, err = run("--db", db, "import", tmp + "/trunc.fvecs", "--collection", "vecs")
        check(rc == 1 and "trunc.fvecs" in err, f"truncated .fvecs: exit 1 naming the file ({rc}, {err!r})")
        with open(tmp + "/d3.fvecs", "wb") as f:
            f.write(struct.pack("<i", 3) + struct.pack("<3f", 1, 2, 3))
        rc, out, err = run("--db", db, "import", tmp + "/d3.fvecs", "--collection", "vecs")
        check(rc == 1 and "dimension" in err, f"dimension mismatch: exit 1 ({rc}, {err!r})")
        rc, out, err = run("--db", db, "import", tmp + "/base.fvecs", "--collection", "nope")
        check(rc == 1 and "nope" in err, f"missing collection: exit 1 ({rc}, {err!r})")
        rc, out, err = run("--db", db, "import", tmp + "/base.fvecs")
        check(rc == 2 and "--collection" in err, "fvecs without --collection is a usage error")
        with open(tmp + "/r.jsonl", "w") as f:
            f.write('{"key":"a","value":"b"}\n')
        rc, out, err = run("--db", db, "import", tmp + "/r.jsonl", "--collection", "vecs")
        check(rc == 2, "--collection with a JSONL file is a usage error")


def test_mcp():
    """The MCP server from a plain pipe (the SDK client test in tests/mcp covers the protocol)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = tmp + "/db"
        lines = [
            {"jsonrpc": "2.0", "id": 1, "method": "initialize",
             "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                        "clientInfo": {"name": "py", "version": "1"}}},
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
             "params": {"name": "sochdb_put", "arguments": {"path": "k:1", "value": "v"}}},
            {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
             "params": {"name": "sochdb_get", "arguments": {"path": "k:1", "format": "json"}}},
        ]
        stdin = "\n".join(json.dumps(l) for l in lines) + "\n{broken\n"
        rc, out, err = run("--db", db, "mcp", stdin=stdin)
        replies = [json.loads(l) for l in out.splitlines()]
        check(rc == 0 and len(replies) == 4, f"mcp answers every request ({rc}, {out!r})")
        if len(replies) == 4:
            check(replies[0]["result"]["protocolVersion"] == "2025-06-18", "mcp initialize")
            check(replies[2]["result"]["structuredContent"]["value"] == "v", "mcp put then get")
            check(replies[3]["error"]["code"] == -32700, "mcp parse error")
        check("initialize" in err, "mcp logs to stderr")
        rc, out, err = run("--db", db, "mcp", "--quiet", stdin="")
        check(rc == 0 and out == "" and err == "", "mcp --quiet on empty input")
        rc, out, err = run("mcp", stdin="")
        check(rc == 2 and "--db" in err, "mcp needs --db")
        rc, out, err = run("--db", db, "mcp", "extra", stdin="")
        check(rc == 2, "mcp takes no arguments")
def test_collection():
    import json
    with tempfile.TemporaryDirectory() as tmp:
        db = tmp + "/db"
        rc, out, err = run("--db", db, "collection", "create", "docs", "--dim", "3", "--hybrid")
        check(rc == 0 and out == "" and "created collection docs" in err, f"collection create ({rc}, {err!r})")
        rc, out, err = run("--db", db, "collection", "create", "docs", "--dim", "3")
        check(rc == 1 and out == "" and "exists" in err, f"create twice fails ({rc}, {err!r})")
        lines = "\n".join([
            json.dumps({"id": "a", "vector": [1, 0, 0], "metadata": {"year": 2020, "cat": "tech"}, "text": "machine learning basics"}),
            json.dumps({"id": "b", "vector": [0.9, 0.1, 0], "metadata": {"year": 2024, "cat": "science"}, "text": "cooking recipes"}),
            "",
            json.dumps({"id": "c", "vectors": [[0, 1, 0], [0, 0, 1]], "metadata": {"year": 2024, "cat": "tech"}, "text": "deep learning"}),
        ]) + "\n"
        rc, out, err = run("--db", db, "collection", "insert", "docs", stdin=lines)
        check(rc == 0 and "inserted 3 documents" in err, f"collection insert ({rc}, {err!r})")
        rc, out, _ = run("--db", db, "collection", "list")
        check(rc == 0 and "docs" in out, f"collection list ({out!r})")
        rc, out, _ = run("--db", db, "--format", "json", "collection", "info", "docs")
        info = json.loads(out) if rc == 0 else {}
        check(info.get("count") == 3 and info.get("dimension") == 3 and info.get("metric") == "cosine",
              f"collection info ({out!r})")
        rc, out, _ = run("--db", db, "collection", "search", "docs", "--vector", "[1,0,0]", "-k", "2",
                         "--format", "json")
        res = json.loads(out)["results"] if rc == 0 else []
        check([r["id"] for r in res] == ["a", "b"] and res[0]["metric"] == "cosine"
              and abs(res[0]["score"] - 1.0) < 1e-5, f"vector search ({out!r})")
        rc, out, _ = run("--db", db, "collection", "search", "docs", "--vector", "[1,0,0]",
                         "--filter", '{"year": {"$gte": 2021}}', "--format", "json")
        res = json.loads(out)["results"] if rc == 0 else []
        check([r["id"] for r in res] == ["b", "c"], f"filtered search ({out!r})")
        rc, out, _ = run("--db", db, "collection", "search", "docs", "--text", "learning", "--format", "json")
        res = json.loads(out)["results"] if rc == 0 else []
        check(sorted(r["id"] for r in res) == ["a", "c"] and "bm25" in res[0], f"keyword search ({out!r})")
        rc, out, _ = run("--db", db, "collection", "search", "docs", "--text", "learning", "--vector", "[0,0,1]")
        check(rc == 0 and out.startswith("results[") and "c" in out, f"hybrid search prints TOON ({out!r})")
        # errors
        rc, out, err = run("--db", db, "collection", "insert", "docs", stdin='{"id": "x", "vector": [1, 2]}\n{"id": "y", "vector": [1,2,3]}\n')
        check(rc == 1 and out == "" and "dimension" in err, f"insert with a wrong dimension fails ({err!r})")
        rc, out, err = run("--db", db, "collection", "insert", "docs", stdin='{"id": "y", "vector": [1,2,3]}\nnot json\n')
        check(rc == 1 and "line 2" in err, f"insert names the bad line ({err!r})")
        rc, out, _ = run("--db", db, "--format", "json", "collection", "info", "docs")
        check(rc == 0 and json.loads(out)["count"] == 3, "a failed insert writes nothing")
        for args, what in ((["collection"], "subcommand"), (["collection", "frob"], "unknown subcommand"),
                           (["collection", "create", "x"], "--dim"),
                           (["collection", "search", "docs"], "--vector"),
                           (["collection", "search", "docs", "--vector", "[1,"], "not valid JSON"),
                           (["collection", "search", "docs", "--text", "a", "--filter", '{"a": {"$regex": 1}}'], "unknown operator"),
                           (["collection", "create", "x", "--dim", "3", "--metric", "manhattan"], "unknown metric")):
            rc, out, err = run("--db", db, *args)
            check(rc == 2 and out == "" and what in err, f"{args}: usage error mentioning {what!r} ({rc}, {err!r})")
        rc, out, err = run("--db", db, "collection", "info", "nope")
        check(rc == 1 and "does not exist" in err, f"info of a missing collection ({err!r})")
        rc, out, err = run("--db", db, "collection", "create", "../evil", "--dim", "2")
        check(rc == 1 and "collection name" in err, f"bad collection name refused ({rc}, {err!r})")
        rc, out, err = run("--db", db, "collection", "list", "--ns", "../x")
        check(rc == 1 and "namespace name" in err, f"bad namespace name refused ({rc}, {err!r})")
        rc, out, err = run("--db", db, "collection", "search", "docs", "--ns", "other", "--vector", "[1,0,0]")
        check(rc == 1 and "does not exist" in err, f"another namespace sees nothing ({err!r})")
        rc, out, err = run("--db", db, "collection", "delete", "docs")
        check(rc == 0 and "deleted" in err, "collection delete")
        rc, out, _ = run("--db", db, "collection", "list")
        check(rc == 0 and "docs" not in out, f"deleted collection is not listed ({out!r})")


test_help_and_version()
test_usage_errors()
test_shell()
test_formats()
test_batch_import_export()
test_mcp()
test_import_fvecs()
test_kv()
test_lsm()
test_simd()
test_txn()
test_collection()
if failures:
    print(f"{len(failures)} failure(s)")
    sys.exit(1)
print("cli tests passed")
