"""The program that runs inside Jupyter Server: the ``NebulaApp`` extension and its layers.

Each layer imports only those below it (import-linter contracts in pyproject.toml, described
in docs/architecture.md): app → rest | websocket → base → auth → manager → run | feeds |
pages | owners | retention → processes | terminal → fanout → storage → database | logs →
records → errors.
"""
