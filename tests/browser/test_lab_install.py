"""The JupyterLab extension is installed by the Python package itself, prebuilt: `pip install`
puts it where Lab finds it (share/jupyter/labextensions/nebula-jupyter) and `jupyter labextension
list` shows it enabled, with no Lab build step."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from .lab_server import LABEXTENSION


def test_labextension_list_shows_the_installed_prebuilt_extension(tmp_path: Path) -> None:
    # Only what the installed package put under sys.prefix: no checkout link, no user dirs.
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("JUPYTER_PATH", "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR")
    }
    env.update(JUPYTER_DATA_DIR=str(tmp_path / "data"), JUPYTER_CONFIG_DIR=str(tmp_path / "config"))
    jupyter = Path(sys.executable).parent / "jupyter"
    listed = subprocess.run(
        [str(jupyter), "labextension", "list"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    output = re.sub(r"\x1b\[[0-9;]*m", "", listed.stdout + listed.stderr)
    line = next((row for row in output.splitlines() if LABEXTENSION in row), None)
    assert line is not None, output
    assert re.search(r"nebula-jupyter v\S+ enabled\s+OK \(python, nebula_jupyter\)", line), line

    installed = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / LABEXTENSION
    package = json.loads((installed / "package.json").read_text())
    build = package["jupyterlab"]["_build"]
    assert (installed / build["load"]).is_file(), build  # prebuilt: the bundle is there
    assert (installed / "schemas" / LABEXTENSION / "plugin.json").is_file()
    assert json.loads((installed / "install.json").read_text())["packageName"] == "nebula_jupyter"
