"""Write hex-encoded byte strings to stdout or stderr, one os.write per argument.

Arguments look like ``out:68656c6c6f`` or ``err:ff00`` or ``sleep:0.2``.
"""

import os
import sys
import time

for arg in sys.argv[1:]:
    kind, _, value = arg.partition(":")
    if kind == "sleep":
        time.sleep(float(value))
    else:
        os.write(1 if kind == "out" else 2, bytes.fromhex(value))
