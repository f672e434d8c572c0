"""The wheel and the sdist carry the built widget, the Lab extension and the auto-enable config."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_and_sdist_contain_the_built_widget(tmp_path: Path) -> None:
    assert (ROOT / "nebula_jupyter/static/widget.js").exists(), "build js/ first (npm run build)"
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-d", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "nebula_jupyter/static/widget.js" in names
    assert "nebula_jupyter/static/widget.css" in names
    config = (
        "nebula_jupyter-0.1.0.data/data/etc/jupyter/jupyter_server_config.d/nebula_jupyter.json"
    )
    assert config in names
    lab = "nebula_jupyter-0.1.0.data/data/share/jupyter/labextensions/nebula-jupyter/"
    assert {lab + "package.json", lab + "install.json"} <= names
    assert any(name.startswith(lab + "static/remoteEntry.") for name in names)
    sdist = next(tmp_path.glob("*.tar.gz"))
    with tarfile.open(sdist) as archive:
        members = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"nebula_jupyter/static/widget.js", "js/package-lock.json", "pyproject.toml"} <= members
    assert not any(name.startswith(("js/node_modules", ".venv")) for name in members)
