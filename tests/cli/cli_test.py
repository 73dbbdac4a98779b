#!/usr/bin/env python3
"""Tests of the `sochdb` command-line tool: exit codes (0 ok, 1 failure/not found, 2 usage),
help for every command, errors on stderr and nothing on stdout when a command fails.

usage: cli_test.py PATH_TO_SOCHDB
"""
import subprocess
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
    for args in (["frobnicate"], [], ["--bogus"], ["--format", "xml", "version"],
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
test_kv()
test_simd()
test_txn()
test_collection()
if failures:
    print(f"{len(failures)} failure(s)")
    sys.exit(1)
print("cli tests passed")
