// Bundles the widget for anywidget: one self-contained ES module plus one stylesheet.
// No type checking here (that is `npm run typecheck`): the Python build hook must stay fast.

import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const outdir = fileURLToPath(new URL("../nebula_jupyter/static/", import.meta.url));
const src = (name) => fileURLToPath(new URL(`./src/${name}`, import.meta.url));

const common = { bundle: true, minify: true, target: "es2020", outdir, logLevel: "info" };

await Promise.all([
  // anywidget imports `_esm` as a module and calls its default export, hence format esm.
  build({ ...common, entryPoints: [src("widget.ts")], format: "esm" }),
  // widget.css @imports xterm's own stylesheet so the page gets a single file.
  build({ ...common, entryPoints: [src("widget.css")] }),
]);
