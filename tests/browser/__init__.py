"""Browser tests: the run widget in a real JupyterLab, driven by Playwright and Chromium."""
