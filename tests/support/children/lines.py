"""Print N numbered lines to stdout (and every 10th to stderr), optionally paced."""

import sys
import time

count = int(sys.argv[1])
delay = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
for i in range(1, count + 1):
    print(f"line {i}", flush=True)
    if i % 10 == 0:
        print(f"err {i}", file=sys.stderr, flush=True)
    if delay:
        time.sleep(delay)
