#!/usr/bin/env python3
"""Tests of `sochdb graph` and `sochdb context`: results, exit codes (0 ok, 1 not found or
failure, 2 usage), errors on stderr and nothing on stdout when a command fails.

usage: graph_cli_test.py PATH_TO_SOCHDB
"""
import json
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


def test_graph(db):
    g = lambda *a: run("--db", db, "graph", *a)
    gj = lambda *a: run("--db", db, "--format", "json", "graph", *a)
    for args in (["node", "put", "alice", "person", '{"team":"ml"}'],
                 ["node", "put", "bob", "person", '{"team":"ml"}'],
                 ["node", "put", "px", "project"],
                 ["edge", "add", "alice", "works_on", "px", '{"role":"lead","cost":5}'],
                 ["edge", "add", "alice", "reports_to", "bob", '{"cost":1}'],
                 ["edge", "add", "bob", "manages", "px", '{"cost":1}']):
        rc, out, err = g(*args)
        check(rc == 0 and out == "" and err == "", f"graph {' '.join(args)} ({rc}, {err!r})")
    rc, out, _ = gj("node", "get", "alice")
    check(rc == 0 and json.loads(out) == {"id": "alice", "type": "person",
                                          "properties": {"team": "ml"}}, f"node get ({out!r})")
    rc, out, _ = g("node", "get", "alice")
    check(rc == 0 and "id: alice" in out and "team: ml" in out, f"node get as TOON ({out!r})")
    rc, out, _ = gj("neighbors", "px", "--direction", "in")
    check(rc == 0 and json.loads(out)["neighbors"] == [
        {"id": "bob", "edge_type": "manages", "direction": "in"},
        {"id": "alice", "edge_type": "works_on", "direction": "in"}], f"neighbors in ({out!r})")
    rc, out, _ = g("neighbors", "alice")
    check(rc == 0 and out.startswith("neighbors[2]{id,edge_type,direction}:"),
          f"neighbors as a TOON table ({out!r})")
    rc, out, _ = gj("neighbors", "alice", "--types", "works_on")
    check(rc == 0 and len(json.loads(out)["neighbors"]) == 1, "neighbors --types")
    rc, out, _ = gj("traverse", "alice", "--depth", "1")
    t = json.loads(out) if rc == 0 else {}
    check(rc == 0 and [n["id"] for n in t["nodes"]] == ["alice", "bob", "px"]
          and len(t["edges"]) == 2, f"traverse --depth 1 ({out!r})")
    rc, out, _ = gj("traverse", "alice", "--order", "dfs", "--node-types", "person")
    check(rc == 0 and [n["id"] for n in json.loads(out)["nodes"]] == ["alice", "bob"],
          f"traverse dfs --node-types ({out!r})")
    rc, out, _ = gj("path", "alice", "px")
    check(rc == 0 and json.loads(out)["nodes"] == ["alice", "px"], f"path by hops ({out!r})")
    rc, out, _ = gj("path", "alice", "px", "--weight", "cost")
    p = json.loads(out) if rc == 0 else {}
    check(rc == 0 and p["nodes"] == ["alice", "bob", "px"] and p["cost"] == 2,
          f"path by weight ({out!r})")
    rc, out, err = g("path", "px", "alice")
    check(rc == 1 and out == "" and "no path" in err, f"no path: exit 1 ({rc}, {err!r})")
    rc, out, _ = gj("path", "px", "alice", "--direction", "in")
    check(rc == 0 and json.loads(out)["nodes"] == ["px", "alice"], "path against the edges")
    # other namespaces are separate
    rc, out, err = run("--db", db, "graph", "--ns", "other", "node", "get", "alice")
    check(rc == 1 and "not found" in err, "--ns isolates graphs")
    # not found, failures
    for args, what in ((["node", "get", "carol"], "missing node"),
                       (["node", "del", "carol"], "deleting a missing node"),
                       (["edge", "del", "alice", "likes", "bob"], "deleting a missing edge"),
                       (["edge", "add", "alice", "knows", "ghost"], "edge to a missing node"),
                       (["neighbors", "ghost"], "neighbours of a missing node"),
                       (["traverse", "ghost"], "traversal from a missing node")):
        rc, out, err = g(*args)
        check(rc == 1 and out == "" and ("not found" in err or "not_found" in err),
              f"{what}: exit 1 ({rc}, {err!r})")
    # usage errors
    for args in (["node", "put", "a", "t", "[1]"], ["node", "put", "a", "t", "{bad"],
                 ["node", "put", "a"], ["node", "frob"], ["frob"], [],
                 ["neighbors", "alice", "--direction", "up"], ["traverse", "alice", "--order", "x"],
                 ["traverse", "alice", "--depth", "-1"], ["edge", "add", "a", "b"]):
        rc, out, err = g(*args)
        check(rc == 2 and out == "" and "usage" in err, f"graph {args}: exit 2 ({rc}, {err!r})")
    # deleting a node removes its edges
    rc, _, _ = g("node", "del", "bob")
    check(rc == 0, "node del")
    rc, out, _ = gj("neighbors", "px", "--direction", "in")
    check(rc == 0 and [n["id"] for n in json.loads(out)["neighbors"]] == ["alice"],
          f"edges of a deleted node are gone ({out!r})")
    rc, _, _ = g("edge", "del", "alice", "works_on", "px")
    check(rc == 0, "edge del")
    rc, out, _ = gj("neighbors", "alice")
    check(rc == 0 and json.loads(out)["neighbors"] == [], "edge del removes it")


def test_context(tmp, db):
    for i in range(30):
        run("--db", db, "put", f"messages/{i:03d}",
            json.dumps({"session": f"s{i % 2}", "role": "user", "text": f"message number {i}"}))
    run("--db", db, "put", "users/alice", json.dumps({"name": "Alice", "plan": "pro", "x": 1}))
    spec = {"session": "s1", "budget": 4000, "format": "json",
            "vars": {"user": "alice"},
            "sections": [
                {"name": "SYSTEM", "priority": 0, "kind": "literal", "text": "Be brief."},
                {"name": "USER", "priority": 1, "kind": "get", "path": "users/$user.{name, plan}"},
                {"name": "HISTORY", "priority": 2, "kind": "last", "table": "messages", "n": 5,
                 "where": {"session": "$session"}}]}
    path = tmp + "/spec.json"
    with open(path, "w") as f:
        json.dump(spec, f)
    rc, out, err = run("--db", db, "context", path)
    ctx = json.loads(out) if rc == 0 else {}
    check(rc == 0 and ctx.get("SYSTEM") == "Be brief." and
          ctx.get("USER") == {"name": "Alice", "plan": "pro"} and
          [m["text"] for m in ctx.get("HISTORY", [])] ==
          [f"message number {i}" for i in (21, 23, 25, 27, 29)], f"context ({rc}, {out!r}, {err!r})")
    rc, out, _ = run("--db", db, "context", path, "--budget", "12", "--report")
    r = json.loads(out) if rc == 0 else {}
    check(rc == 0 and r["total_tokens"] <= 12 and r["budget"] == 12 and r["dropped"] and
          r["sections"][0]["name"] == "SYSTEM", f"context --budget --report ({out!r})")
    rc, out, _ = run("--db", db, "context", "-", stdin=json.dumps(dict(spec, format="toon")))
    check(rc == 0 and out.startswith("SYSTEM: Be brief.\nUSER:\n  name: Alice"),
          f"context from stdin as TOON ({out!r})")
    strict = dict(spec, truncation="strict", budget=5)
    rc, out, err = run("--db", db, "context", "-", stdin=json.dumps(strict))
    check(rc == 1 and out == "" and "budget" in err, f"strict over budget: exit 1 ({rc}, {err!r})")
    for bad in ("{not json", json.dumps({"sections": [{"name": "a", "kind": "sql"}]}),
                json.dumps({"sections": [{"name": "a", "kind": "get", "path": "$nope"}]})):
        rc, out, err = run("--db", db, "context", "-", stdin=bad)
        check(rc == 2 and out == "", f"bad spec {bad!r}: exit 2 ({rc}, {err!r})")
    rc, out, err = run("--db", db, "context", tmp + "/missing.json")
    check(rc == 1 and "cannot read" in err, "missing spec file: exit 1")


with tempfile.TemporaryDirectory() as tmp:
    test_graph(tmp + "/db")
    test_context(tmp, tmp + "/db2")

if failures:
    print(f"{len(failures)} failure(s)")
    sys.exit(1)
print("graph CLI: all checks passed")
