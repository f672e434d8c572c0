"""README screenshots of the JupyterLab extension, made from a real JupyterLab.

    .venv/bin/python -m tests.browser.screenshots [--out docs/images]

Starts JupyterLab (as the browser tests do: a throwaway root, this checkout's build), creates a
few runs that read like real work, and saves:
  - jupyterlab-runs-panel.png: the Runs panel, live statuses;
  - jupyterlab-run-tab.png: JupyterLab with the panel and a run's tab streaming.
Needs Debian's chromium (/usr/bin/chromium, or NEBULA_CHROMIUM) and Playwright for Python.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from .lab_app import LabApp
from .lab_server import ROOT, LabServer
from .notebook_page import wait_lines
from .polling import poll

TRAIN = r"""
import math, time
print("\x1b[1mtraining resnet18 on cifar10\x1b[0m  (batch 128, lr 0.1)")
for epoch in range(1, 200):
    for step in range(0, 101, 10):
        bar = "#" * (step // 5) + "." * (20 - step // 5)
        print(f"\repoch {epoch:3d} [{bar}] {step:3d}%", end="", flush=True)
        time.sleep(0.05)
    loss = 2.3 * math.exp(-epoch / 6) + 0.05
    acc = 100 * (1 - math.exp(-epoch / 5)) * 0.93
    print(f"  loss \x1b[33m{loss:.3f}\x1b[0m  acc \x1b[32m{acc:5.1f}%\x1b[0m")
    if epoch % 4 == 0:
        print(f"\x1b[2mcheckpoint saved: checkpoints/epoch{epoch:03d}.pt\x1b[0m")
"""

EVALUATE = "import time\nprint('evaluating 10000 images')\ntime.sleep(1.5)\nprint('top-1: 93.1%')\n"
PREPARE = (
    "import sys\nprint('loading data/raw.csv')\n"
    "print('FileNotFoundError: data/raw.csv', file=sys.stderr)\nsys.exit(2)\n"
)
SCRIPTS = {"train.py": TRAIN, "evaluate.py": EVALUATE, "prepare.py": PREPARE}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    chromium = os.environ.get("NEBULA_CHROMIUM", "/usr/bin/chromium")

    with tempfile.TemporaryDirectory(prefix="nebula-screens-") as tmp:
        lab = LabServer(Path(tmp))
        lab.start()
        try:
            for name, code in SCRIPTS.items():
                (lab.root_dir / name).write_text(code)
            # `python` is this environment's (LabServer puts it first on the server's PATH).
            lab.create_run(["python", "prepare.py"], name="prepare-data")
            evaluate = lab.create_run(["python", "evaluate.py"], name="evaluate")["id"]
            poll(lambda: lab.run_record(evaluate)["status"] == "succeeded", 30, "evaluate done")
            lab.create_run("python -m http.server 0 --bind 127.0.0.1", name="file-server")
            train = lab.create_run(["python", "train.py"], name="train-resnet", tty=True)["id"]

            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=chromium, headless=True, args=["--no-sandbox"]
                )
                page = browser.new_page(viewport={"width": 1280, "height": 720})
                app = LabApp(page, lab, "screenshots").open()
                app.execute("nebula:open-runs")
                app.row(train).wait_for()
                app.execute("nebula:open-run", {"id": train})
                view = app.view(train)
                wait_lines(view, lambda lines: sum("loss" in line for line in lines) >= 9, 60)
                app.settle()
                app.panel.screenshot(path=str(out / "jupyterlab-runs-panel.png"))
                page.screenshot(path=str(out / "jupyterlab-run-tab.png"))
                browser.close()
        finally:
            for run in lab.json("GET", "api/nebula/runs?status=running")["runs"]:
                lab.request("POST", f"api/nebula/runs/{run['id']}/cancel")
            lab.stop()
    for name in ("jupyterlab-runs-panel.png", "jupyterlab-run-tab.png"):
        print(out / name)


if __name__ == "__main__":
    main()
