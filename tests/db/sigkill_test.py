#!/usr/bin/env python3
"""SIGKILL test: a writer process commits and acknowledges (prints) each commit; we kill it with
SIGKILL at a random moment, 50 times on one database, and after each kill reopen the database
and check that every acknowledged commit of every run so far is there, whole.

usage: sigkill_test.py PATH_TO_KV_WRITER [ROUNDS]
"""
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

writer = sys.argv[1]
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 50
rng = random.Random(4242)
tmp = tempfile.mkdtemp(prefix="sochdb-sigkill-")
db = os.path.join(tmp, "db")
acked = {}  # run -> number of acknowledged commits
try:
    for run in range(rounds):
        p = subprocess.Popen([writer, "write", db, str(run)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        lines = []

        def reader():
            for line in p.stdout:
                lines.append(line)

        t = threading.Thread(target=reader)
        t.start()
        time.sleep(rng.uniform(0.005, 0.15))
        if run == 0:
            # While the writer lives, a second process cannot open the database.
            while not lines and p.poll() is None:
                time.sleep(0.005)
            v = subprocess.run([writer, "verify", db, "0:0"], capture_output=True, text=True,
                               timeout=60)
            if v.returncode != 1 or "already open" not in v.stderr:
                print(f"second open while the writer runs was not refused: {v.returncode} "
                      f"{v.stderr!r}")
                p.kill()
                sys.exit(1)
        p.send_signal(signal.SIGKILL)
        p.wait()
        t.join()
        err = p.stderr.read()
        if p.returncode != -signal.SIGKILL:
            print(f"run {run}: writer exited with {p.returncode} before the kill: {err}")
            sys.exit(1)
        # A partial last line is not an acknowledgment.
        done = [l for l in lines if l.endswith("\n")]
        acked[run] = len(done)
        v = subprocess.run([writer, "verify", db] + [f"{r}:{n}" for r, n in acked.items()],
                           capture_output=True, text=True, timeout=120)
        if v.returncode != 0:
            print(f"run {run}: verification failed after the kill:\n{v.stderr}")
            sys.exit(1)
        print(f"run {run}: killed after {acked[run]} acknowledged commits; {v.stdout.strip()}")
    print(f"sigkill test passed: {rounds} kills, {sum(acked.values())} acknowledged commits "
          f"all recovered")
finally:
    shutil.rmtree(tmp, ignore_errors=True)
