// xterm paints with concrete colours, not CSS, so the JupyterLab theme is read from its CSS
// variables and re-read when the user switches between light and dark themes.

import type { ITheme } from "@xterm/xterm";

type Palette = Required<
  Pick<
    ITheme,
    | "black"
    | "red"
    | "green"
    | "yellow"
    | "blue"
    | "magenta"
    | "cyan"
    | "white"
    | "brightBlack"
    | "brightRed"
    | "brightGreen"
    | "brightYellow"
    | "brightBlue"
    | "brightMagenta"
    | "brightCyan"
    | "brightWhite"
  >
>;

// Chosen for contrast on a near-white background ("white" has to stay visible there).
const LIGHT: Palette = {
  black: "#1e1e1e",
  red: "#c4262e",
  green: "#1d7a32",
  yellow: "#8a6a00",
  blue: "#1f5fbf",
  magenta: "#a2309a",
  cyan: "#0f7a86",
  white: "#6e6e6e",
  brightBlack: "#5c5c5c",
  brightRed: "#d9363e",
  brightGreen: "#2e8f45",
  brightYellow: "#9c7a00",
  brightBlue: "#3672d1",
  brightMagenta: "#b53fac",
  brightCyan: "#178d99",
  brightWhite: "#8a8a8a",
};

// Chosen for contrast on a near-black background.
const DARK: Palette = {
  black: "#3a3a3a",
  red: "#f0636b",
  green: "#7ccf7f",
  yellow: "#e5c463",
  blue: "#6fa8ee",
  magenta: "#d38ae0",
  cyan: "#62c9d6",
  white: "#d4d4d4",
  brightBlack: "#7a7a7a",
  brightRed: "#ff8a90",
  brightGreen: "#a2e8a4",
  brightYellow: "#f5dc8c",
  brightBlue: "#9cc5f7",
  brightMagenta: "#e6aef0",
  brightCyan: "#92e0ea",
  brightWhite: "#f4f4f4",
};

function cssVar(style: CSSStyleDeclaration, name: string, fallback: string): string {
  const value = style.getPropertyValue(name).trim();
  return value === "" ? fallback : value;
}

/** JupyterLab marks the theme on <body data-jp-theme-light="true|false">; elsewhere: light. */
export function isDarkPage(): boolean {
  return document.body?.dataset.jpThemeLight === "false";
}

export function jupyterTheme(element: Element): ITheme {
  const dark = isDarkPage();
  const style = getComputedStyle(element);
  const background = cssVar(style, "--jp-layout-color0", dark ? "#111111" : "#ffffff");
  const foreground = cssVar(style, "--jp-content-font-color0", dark ? "#e6e6e6" : "#1e1e1e");
  return {
    ...(dark ? DARK : LIGHT),
    background,
    foreground,
    cursor: foreground,
    cursorAccent: background,
    selectionBackground: dark ? "rgba(120, 160, 230, 0.35)" : "rgba(40, 100, 200, 0.25)",
  };
}

export function fontFamily(element: Element): string {
  return cssVar(getComputedStyle(element), "--jp-code-font-family", "monospace");
}
