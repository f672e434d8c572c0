"""Running one command the way a run needs it: a session of its own, separate pipes (or a
pty), whole UTF-8 characters, a TERM → grace → KILL ladder on its whole process tree.

Shared by the server's local runs (``server/run.py``) and the remote agent (``agent/``), so a
run behaves the same wherever it executes. Imports only the protocol and the standard library.
"""
