// Builds both front ends from src/, which share every module below the entry points:
//   - the widget for anywidget: one self-contained ES module plus one stylesheet (esbuild), in
//     ../nebula_jupyter/static/;
//   - the prebuilt JupyterLab extension, in ../nebula_jupyter/labextension/ (shipped as
//     share/jupyter/labextensions/nebula-jupyter): esbuild turns src/lab/index.ts into
//     lib/index.js with every npm package left as an import, then JupyterLab's own builder
//     (@jupyter/builder, what `jupyter labextension build` and `jupyter-builder build` run)
//     bundles it with module federation, sharing @jupyterlab/* and @lumino/* with the running
//     Lab instead of bundling copies.
// No type checking here (that is `npm run typecheck`): the Python build hook must stay fast.
// `node build.mjs widget` or `node build.mjs lab` builds one of the two.

import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const src = (name) => here(`./src/${name}`);
const which = process.argv[2] ?? "all";

async function buildWidget() {
  const common = {
    bundle: true,
    minify: true,
    target: "es2020",
    outdir: here("../nebula_jupyter/static/"),
    logLevel: "info",
  };
  await Promise.all([
    // anywidget imports `_esm` as a module and calls its default export, hence format esm.
    build({ ...common, entryPoints: [src("widget.ts")], format: "esm" }),
    // widget.css @imports xterm's own stylesheet so the page gets a single file.
    build({ ...common, entryPoints: [src("widget.css")] }),
  ]);
}

async function buildLab() {
  await build({
    entryPoints: [src("lab/index.ts")],
    bundle: true,
    packages: "external", // resolved by the builder: shared with Lab, or bundled once
    format: "esm",
    target: "es2020",
    outfile: here("./lib/index.js"),
    logLevel: "info",
  });
  // The builder takes JupyterLab's core package list (which packages Lab shares, at which
  // versions) from @jupyterlab/core-meta, pinned in package-lock.json: no download, no Python.
  const require = createRequire(import.meta.url);
  const builder = require.resolve("@jupyter/builder/lib/build-labextension.js");
  const core = require.resolve("@jupyterlab/core-meta/core.package.json");
  const result = spawnSync(process.execPath, [builder, "--core-package-file", core, here(".")], {
    stdio: "inherit",
  });
  if (result.status !== 0) {
    throw new Error(`the JupyterLab builder failed (exit ${result.status ?? result.signal})`);
  }
}

if (which === "all" || which === "widget") await buildWidget();
if (which === "all" || which === "lab") await buildLab();
