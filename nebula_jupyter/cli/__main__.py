"""``python -m nebula_jupyter.cli``: the same as the ``nebula`` command."""

from __future__ import annotations

from .commands import main

raise SystemExit(main())
