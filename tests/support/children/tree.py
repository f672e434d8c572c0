"""Start children and grandchildren that sleep, print their pids, then sleep.

``tree.py PIDFILE [ignore-term]``: every process writes its pid to PIDFILE.
"""

import os
import signal
import subprocess
import sys
import time

pidfile = sys.argv[1]
ignore = len(sys.argv) > 2 and sys.argv[2] == "ignore-term"
depth = int(os.environ.get("TREE_DEPTH", "2"))
if ignore:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
with open(pidfile, "a") as handle:
    handle.write(f"{os.getpid()}\n")
if depth > 0:
    env = dict(os.environ, TREE_DEPTH=str(depth - 1))
    subprocess.Popen([sys.executable, __file__, *sys.argv[1:]], env=env)
print("ready", flush=True)
time.sleep(300)
