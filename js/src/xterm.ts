// One xterm for the whole page. anywidget evaluates this bundle once per widget model, so each
// model would otherwise get its own copy of xterm; xterm numbers the terminals it renders per
// copy and scopes each one's stylesheet (font size, colours) by that number, so every copy's
// first terminal would be `xterm-dom-renderer-owner-1` and the last stylesheet would win for
// all of them. The first copy loaded registers its Terminal on the page and every later copy
// of the same xterm version uses it: numbers are then unique, as xterm assumes.

import { Terminal } from "@xterm/xterm";
import { version } from "@xterm/xterm/package.json";

const KEY = Symbol.for(`nebula_jupyter:@xterm/xterm@${version}`);

type Registry = { [KEY]?: typeof Terminal };

function pageTerminal(): typeof Terminal {
  const registry = globalThis as Registry;
  registry[KEY] ??= Terminal;
  return registry[KEY];
}

/** The Terminal class every widget on this page shares. */
export const PageTerminal: typeof Terminal = pageTerminal();
