"""``python bench/run.py [--quick] ...``: the same as ``python -m bench`` from the repo root."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cli import main

main()
