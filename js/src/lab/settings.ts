// The extension's settings (schema/plugin.json), read with their defaults: the schema is the
// reference, these defaults apply when the settings registry is unavailable (Notebook 7 without
// it, a failed load).

import { SCROLLBACK_LINES } from "../terminal";

export interface LabSettings {
  /** A notification when a run started or opened in this session ends. */
  notifyOnFinish: boolean;
  /** The New Run dialog's terminal-mode box, ticked or not. */
  defaultTty: boolean;
  terminalFontSize: number;
  scrollback: number;
}

export const DEFAULT_SETTINGS: LabSettings = {
  notifyOnFinish: true,
  defaultTty: false,
  terminalFontSize: 13,
  scrollback: SCROLLBACK_LINES,
};

function intIn(value: unknown, min: number, max: number, fallback: number): number {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max
    ? value
    : fallback;
}

/** The composite settings as the registry gives them, checked field by field. */
export function readSettings(composite: Readonly<Record<string, unknown>>): LabSettings {
  const bool = (key: keyof LabSettings) => {
    const value = composite[key];
    return typeof value === "boolean" ? value : (DEFAULT_SETTINGS[key] as boolean);
  };
  return {
    notifyOnFinish: bool("notifyOnFinish"),
    defaultTty: bool("defaultTty"),
    terminalFontSize: intIn(composite.terminalFontSize, 6, 48, DEFAULT_SETTINGS.terminalFontSize),
    scrollback: intIn(composite.scrollback, 0, 1_000_000, DEFAULT_SETTINGS.scrollback),
  };
}
