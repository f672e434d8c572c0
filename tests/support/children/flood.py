"""Write SIZE bytes to stdout in blocks (a long line if NEWLINES is 0)."""

import os
import sys

size = int(sys.argv[1])
newlines = sys.argv[2] != "0" if len(sys.argv) > 2 else True
line = (b"x" * 99 + b"\n") if newlines else b"x" * 100
block = line * 655
written = 0
while written < size:
    piece = block[: size - written]
    view = memoryview(piece)
    while view:
        view = view[os.write(1, view) :]
    written += len(piece)
