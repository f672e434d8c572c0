"""The program that runs inside Jupyter Server: the ``NebulaApp`` extension and its layers.

app → rest | websocket → base → auth → manager → run → fanout → storage → records → errors;
each layer imports only those below it (checked by import-linter, see pyproject.toml).
"""
