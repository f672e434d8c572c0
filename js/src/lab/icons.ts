// The extension's icon: a terminal prompt over a run's progress line. `jp-icon3` lets
// JupyterLab recolour it with the theme (light and dark), like its own icons.

import { LabIcon } from "@jupyterlab/ui-components";

const RUNS_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M3 4h18a1 1 0 0 1 1 1v14a1 1 0 0 1-1 1H3a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1zm1 2v12h16V6H4z"/>
    <path d="M6.3 8.3l3.7 3.7-3.7 3.7-1.4-1.4 2.3-2.3-2.3-2.3z"/>
    <path d="M11 14h7v2h-7z"/>
  </g>
</svg>`;

export const runsIcon = new LabIcon({ name: "nebula-jupyter:runs", svgstr: RUNS_SVG });
