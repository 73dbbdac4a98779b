#!/usr/bin/env python3
"""Tests of `sochdb toon encode|decode`: exact output, every option, round trips, and the
failure contract (invalid input: exit 1, `line:col: message` on stderr, nothing on stdout;
bad options: exit 2).

usage: toon_cli_test.py PATH_TO_SOCHDB
"""
import json
import re
import subprocess
import sys

SOCHDB = sys.argv[1]
failures = []


def run(*args, stdin=b""):
    if isinstance(stdin, str):
        stdin = stdin.encode()
    p = subprocess.run([SOCHDB, *args], input=stdin, capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


DOC = {"users": [{"id": 1, "name": "Ada", "role": "admin"}, {"id": 2, "name": "Bob", "role": "user"}],
       "meta": {"count": 2, "tags": ["a", "b"]}}


def test_encode():
    rc, out, err = run("toon", "encode", stdin=json.dumps(DOC))
    check(rc == 0 and err == "", f"encode succeeds ({rc}, {err!r})")
    check(out == "users[2]{id,name,role}:\n  1,Ada,admin\n  2,Bob,user\nmeta:\n  count: 2\n"
                 "  tags[2]: a,b", f"encode output exact, no trailing newline: {out!r}")
    rc, out, _ = run("toon", "encode", "--delimiter", "tab", stdin='{"t":["a","b"]}')
    check(rc == 0 and out == "t[2\t]: a\tb", f"--delimiter tab: {out!r}")
    rc, out, _ = run("toon", "encode", "--delimiter=pipe", stdin='{"t":["a","b"]}')
    check(rc == 0 and out == "t[2|]: a|b", f"--delimiter=pipe: {out!r}")
    rc, out, _ = run("toon", "encode", "--indent", "4", stdin='{"a":{"b":1}}')
    check(rc == 0 and out == "a:\n    b: 1", f"--indent 4: {out!r}")
    rc, out, _ = run("toon", "encode", "--key-folding", "safe", stdin='{"a":{"b":{"c":{"d":1}}}}')
    check(rc == 0 and out == "a.b.c.d: 1", f"--key-folding safe: {out!r}")
    rc, out, _ = run("toon", "encode", "--key-folding", "safe", "--flatten-depth", "2",
                     stdin='{"a":{"b":{"c":{"d":1}}}}')
    check(rc == 0 and out == "a.b:\n  c:\n    d: 1", f"--flatten-depth 2: {out!r}")
    rc, out, _ = run("toon", "encode", stdin="42")
    check(rc == 0 and out == "42", "a primitive document")
    rc, out, _ = run("toon", "encode", stdin="{}")
    check(rc == 0 and out == "", "an empty object is an empty document")
    # Key order is the input's, not sorted.
    rc, out, _ = run("toon", "encode", stdin='{"z":1,"a":2}')
    check(rc == 0 and out == "z: 1\na: 2", f"key order kept: {out!r}")


def test_decode():
    toon = "users[2]{id,name}:\n  1,Ada\n  2,Bob\ncount: 2\n"
    rc, out, err = run("toon", "decode", stdin=toon)
    check(rc == 0 and err == "", f"decode succeeds ({err!r})")
    check(out == '{"users":[{"id":1,"name":"Ada"},{"id":2,"name":"Bob"}],"count":2}\n',
          f"decode output compact with a newline: {out!r}")
    rc, out, _ = run("toon", "decode", "--pretty", stdin="a:\n  b: 1")
    check(rc == 0 and out == '{\n  "a": {\n    "b": 1\n  }\n}\n', f"--pretty: {out!r}")
    rc, out, _ = run("toon", "decode", "--indent", "4", stdin="a:\n    b: 1")
    check(rc == 0 and json.loads(out) == {"a": {"b": 1}}, "--indent 4")
    rc, out, _ = run("toon", "decode", "--no-strict", stdin="t[3]: a,b")
    check(rc == 0 and json.loads(out) == {"t": ["a", "b"]}, "--no-strict accepts a short array")
    rc, out, _ = run("toon", "decode", "--no-strict", stdin="a: 1\na: 2")
    check(rc == 0 and json.loads(out) == {"a": 2}, "--no-strict: last duplicate wins")
    rc, out, _ = run("toon", "decode", "--expand-paths", "safe", stdin="a.b.c: 1\na.d: 2")
    check(rc == 0 and json.loads(out) == {"a": {"b": {"c": 1}, "d": 2}}, "--expand-paths safe")
    rc, out, _ = run("toon", "decode", "--expand-paths=off", stdin="a.b: 1")
    check(rc == 0 and json.loads(out) == {"a.b": 1}, "--expand-paths=off")
    # A long run of \u escapes decodes.
    rc, out, _ = run("toon", "decode", stdin='s: "' + "\\u0041" * 100000 + '"')
    check(rc == 0 and json.loads(out) == {"s": "A" * 100000}, "100k \\u escapes")


def test_round_trip():
    docs = [DOC, {"a": [1, [2, 3], {"b": None}], "s": "x: y, z", "n": -0.5, "big": 12345678901234567},
            [{"k": "v"}, "x", [], {}], {"unicode": "caf\u00e9 \u4e16\u754c \U0001f680", "e": ""}]
    for d in docs:
        rc, toon, _ = run("toon", "encode", stdin=json.dumps(d))
        rc2, out, _ = run("toon", "decode", stdin=toon)
        check(rc == 0 and rc2 == 0 and json.loads(out) == d, f"round trip of {d}")
    for opts in (["--delimiter", "tab"], ["--delimiter", "pipe"], ["--indent", "3"]):
        rc, toon, _ = run("toon", "encode", *opts, stdin=json.dumps(DOC))
        dopts = ["--indent", "3"] if "--indent" in opts else []
        rc2, out, _ = run("toon", "decode", *dopts, stdin=toon)
        check(rc == 0 and rc2 == 0 and json.loads(out) == DOC, f"round trip with {opts}")


POSITION = re.compile(r"^(\d+):(\d+): \S.*\n$", re.S)


def expect_bad_input(args, stdin, line, what):
    rc, out, err = run(*args, stdin=stdin)
    check(rc == 1, f"{what}: exit 1 (got {rc})")
    check(out == "", f"{what}: nothing on stdout (got {out[:80]!r})")
    m = POSITION.match(err)
    check(m is not None, f"{what}: stderr is 'line:col: message' (got {err[:200]!r})")
    if m and line is not None:
        check(int(m.group(1)) == line, f"{what}: reported line {m.group(1)}, expected {line}")


def test_invalid_input():
    expect_bad_input(["toon", "decode"], "tags[3]: a,b", 1, "inline count mismatch")
    expect_bad_input(["toon", "decode"], "items[2]{id}:\n  1", 1, "row count mismatch")
    expect_bad_input(["toon", "decode"], "a:\n   b: 1", 2, "indentation not a multiple")
    expect_bad_input(["toon", "decode"], "a:\n\tb: 1", 2, "tab indentation")
    expect_bad_input(["toon", "decode"], 'a: "x\\q"', 1, "invalid escape")
    expect_bad_input(["toon", "decode"], "a: 1\na: 2", 2, "duplicate key")
    expect_bad_input(["toon", "decode"], b"a: 1\nb: \xff\xfe", 2, "invalid UTF-8")
    expect_bad_input(["toon", "decode"], "a[4294967295]:", 1, "huge declared length")
    expect_bad_input(["toon", "decode"], "a[99999999999999999999999]: 1", 1, "length past 64 bits")
    deep = "".join("  " * i + "k:\n" for i in range(300))
    expect_bad_input(["toon", "decode"], deep, 256, "nesting past max_depth")
    expect_bad_input(["toon", "decode"], "hello\nworld", 1, "two primitives at the root")
    expect_bad_input(["toon", "encode"], '{"a": [1, 2,]}', 1, "invalid JSON")
    expect_bad_input(["toon", "encode"], '{\n  "a": tru\n}', 2, "invalid JSON literal")
    expect_bad_input(["toon", "encode"], "[" * 100000 + "]" * 100000, 1, "100k-deep JSON")
    expect_bad_input(["toon", "encode"], "", 1, "empty input")


def test_usage_errors():
    for args in (["toon"], ["toon", "frobnicate"], ["toon", "encode", "--delimiter", "semicolon"],
                 ["toon", "encode", "--indent", "0"], ["toon", "encode", "--indent", "x"],
                 ["toon", "encode", "--key-folding", "aggressive"], ["toon", "encode", "extra"],
                 ["toon", "decode", "--expand-paths", "maybe"], ["toon", "decode", "--strict"],
                 ["toon", "decode", "--pretty=yes"]):
        rc, out, err = run(*args)
        check(rc == 2, f"{args} exits 2 (got {rc})")
        check(out == "", f"{args} prints nothing on stdout")
        check("usage: sochdb" in err, f"{args} prints usage on stderr")
    rc, out, _ = run("toon", "--help")
    check(rc == 0 and "sochdb toon encode" in out and "--expand-paths" in out, "toon --help")


test_encode()
test_decode()
test_round_trip()
test_invalid_input()
test_usage_errors()
if failures:
    print(f"{len(failures)} failure(s)")
    sys.exit(1)
print("toon cli tests passed")
