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


test_help_and_version()
test_usage_errors()
test_simd()
if failures:
    print(f"{len(failures)} failure(s)")
    sys.exit(1)
print("cli tests passed")
