// The New Run dialog: command, folder (the file browser's by default), name and terminal mode.
// Lab's own Dialog around a plain form; the values come back through `getValue`.

import { Dialog, showDialog } from "@jupyterlab/apputils";
import { Widget } from "@lumino/widgets";
import {
  COMMAND_REQUIRED,
  DIALOG_TITLE,
  FIELD_COMMAND,
  FIELD_COMMAND_HINT,
  FIELD_CWD,
  FIELD_CWD_HINT,
  FIELD_NAME,
  FIELD_NAME_HINT,
  FIELD_TTY,
  START_BUTTON,
} from "./messages";

export interface NewRunValues {
  command: string;
  cwd: string;
  name: string;
  tty: boolean;
}

function field(
  form: HTMLElement,
  label: string,
  name: string,
  value: string,
  hint: string,
): HTMLInputElement {
  const row = document.createElement("label");
  row.className = "nebula-form-row";
  const text = document.createElement("span");
  text.className = "nebula-form-label";
  text.textContent = label;
  const input = document.createElement("input");
  input.className = "jp-mod-styled";
  input.name = name;
  input.value = value;
  input.placeholder = hint;
  input.spellcheck = false;
  input.autocomplete = "off";
  row.append(text, input);
  form.append(row);
  return input;
}

export class NewRunForm extends Widget implements Dialog.IBodyWidget<NewRunValues> {
  private readonly command: HTMLInputElement;
  private readonly cwd: HTMLInputElement;
  private readonly name: HTMLInputElement;
  private readonly tty: HTMLInputElement;

  constructor(initial: NewRunValues, error = "") {
    super();
    this.addClass("nebula-new-run");
    const form = this.node;
    if (error !== "") {
      const line = document.createElement("div");
      line.className = "nebula-form-error";
      line.setAttribute("role", "alert");
      line.textContent = error;
      form.append(line);
    }
    this.command = field(form, FIELD_COMMAND, "command", initial.command, FIELD_COMMAND_HINT);
    this.cwd = field(form, FIELD_CWD, "cwd", initial.cwd, FIELD_CWD_HINT);
    this.name = field(form, FIELD_NAME, "name", initial.name, FIELD_NAME_HINT);
    const row = document.createElement("label");
    row.className = "nebula-form-check";
    this.tty = document.createElement("input");
    this.tty.type = "checkbox";
    this.tty.name = "tty";
    this.tty.checked = initial.tty;
    const text = document.createElement("span");
    text.textContent = FIELD_TTY;
    row.append(this.tty, text);
    form.append(row);
  }

  getValue(): NewRunValues {
    return {
      command: this.command.value.trim(),
      cwd: this.cwd.value.trim().replace(/^\/+|\/+$/g, ""),
      name: this.name.value.trim(),
      tty: this.tty.checked,
    };
  }
}

/** Asks until the user gives a command or gives up (null). */
export async function askNewRun(initial: NewRunValues): Promise<NewRunValues | null> {
  let values = initial;
  let error = "";
  for (;;) {
    const result = await showDialog<NewRunValues>({
      title: DIALOG_TITLE,
      body: new NewRunForm(values, error),
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: START_BUTTON })],
      focusNodeSelector: "input[name='command']",
    });
    if (!result.button.accept || result.value === null) return null;
    values = result.value;
    if (values.command !== "") return values;
    error = COMMAND_REQUIRED;
  }
}
