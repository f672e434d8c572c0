"""The remote agent (CONTRACT §7): runs one run's command on an engine's worker.

``task.run_agent`` is what an executor hands its engine (a plain function: a Dask task, a
Slurm step); it starts ``python -m nebula_jupyter.agent`` as a process of its own and watches
it. The agent (``core.py``) runs the command with the same process code as local runs and
streams its output to the server over the agent link (``link.py``).
"""
