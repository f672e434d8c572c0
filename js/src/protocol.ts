// The wire messages of api/nebula/runs/{id}/stream (CONTRACT.md §3), mirrored from protocol.py.
// Everything the server sends is validated here once, so the rest of the front end works with
// typed values and never has to guess at the shape of a frame.

export const RUN_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

const TERMINAL: ReadonlySet<RunStatus> = new Set<RunStatus>(["succeeded", "failed", "cancelled"]);

/** A terminal status is always the last message of a stream: nothing follows it. */
export function isTerminalStatus(status: RunStatus): boolean {
  return TERMINAL.has(status);
}

export function isRunStatus(value: unknown): value is RunStatus {
  return typeof value === "string" && (RUN_STATUSES as readonly string[]).includes(value);
}

export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  tooBig: 1009,
  unauthorized: 4401,
  notFound: 4404,
} as const;

export interface RunRecord {
  id: string;
  name: string | null;
  command: string[] | string | null;
  cwd: string;
  status: RunStatus;
  cancel_requested: boolean;
  exit_code: number | null;
  signal: string | null;
  reason: string | null;
  error: string | null;
  created_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  stdout_bytes: number;
  stderr_bytes: number;
  last_seq: number;
  /** Terminal mode (CONTRACT §1.1): the run reads keystrokes and has a size. */
  tty: boolean;
  /** "local" or the executor's name (CONTRACT §7). */
  executor: string;
  /** The machine the process runs on; null while queued. */
  host: string | null;
  /** Bytes the run wrote that could not be stored (0 normally). */
  unstored_bytes: number;
}

export type OutputStream = "stdout" | "stderr";

export interface StatusMessage {
  type: "status";
  status: RunStatus;
  run: RunRecord;
}
export interface OutputMessage {
  type: OutputStream;
  /** Number of the last output chunk included; chunks count 1, 2, 3… over both streams. */
  seq: number;
  data: string;
}
export interface TruncatedMessage {
  type: "truncated";
  skipped_bytes: number;
  first_seq: number;
}
export interface ErrorMessage {
  type: "error";
  code: string;
  message: string;
}
export type ServerMessage = StatusMessage | OutputMessage | TruncatedMessage | ErrorMessage;

export type ParseResult = { ok: true; message: ServerMessage } | { ok: false; error: string };

class ProtocolError extends Error {}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isNonNegativeInt(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function field<T>(obj: Json, key: string, check: (v: unknown) => v is T, what: string): T {
  const value = obj[key];
  if (!check(value)) throw new ProtocolError(`"${key}" must be ${what}`);
  return value;
}

/** Fields the contract lists but an older/newer server might omit get a neutral default;
 * a field that is present with the wrong type is a protocol violation. */
function optional<T>(
  obj: Json,
  key: string,
  check: (v: unknown) => v is T,
  what: string,
  dflt: T,
): T {
  return obj[key] === undefined ? dflt : field(obj, key, check, what);
}

const isString = (v: unknown): v is string => typeof v === "string";
const isBool = (v: unknown): v is boolean => typeof v === "boolean";
const isStringOrNull = (v: unknown): v is string | null => v === null || typeof v === "string";
const isIntOrNull = (v: unknown): v is number | null => v === null || Number.isSafeInteger(v);
const isCommand = (v: unknown): v is string[] | string | null =>
  v === null || typeof v === "string" || (Array.isArray(v) && v.every(isString));

export function parseRunRecord(value: unknown): RunRecord {
  if (!isObject(value)) throw new ProtocolError('"run" must be an object');
  const str = (key: string) => optional(value, key, isStringOrNull, "a string or null", null);
  return {
    id: field(value, "id", isString, "a string"),
    name: str("name"),
    command: optional(value, "command", isCommand, "a list of strings or a string", null),
    cwd: optional(value, "cwd", isString, "a string", ""),
    status: field(value, "status", isRunStatus, "a run status"),
    cancel_requested: optional(value, "cancel_requested", isBool, "a boolean", false),
    exit_code: optional(value, "exit_code", isIntOrNull, "an integer or null", null),
    signal: str("signal"),
    reason: str("reason"),
    error: str("error"),
    created_at: str("created_at"),
    started_at: str("started_at"),
    finished_at: str("finished_at"),
    stdout_bytes: optional(value, "stdout_bytes", isNonNegativeInt, "a non-negative integer", 0),
    stderr_bytes: optional(value, "stderr_bytes", isNonNegativeInt, "a non-negative integer", 0),
    last_seq: optional(value, "last_seq", isNonNegativeInt, "a non-negative integer", 0),
    tty: optional(value, "tty", isBool, "a boolean", false),
    executor: optional(value, "executor", isString, "a string", "local"),
    host: str("host"),
    unstored_bytes: optional(
      value,
      "unstored_bytes",
      isNonNegativeInt,
      "a non-negative integer",
      0,
    ),
  };
}

const isPositiveInt = (v: unknown): v is number => isNonNegativeInt(v) && v > 0;

function parseObject(obj: Json): ServerMessage {
  const type = obj.type;
  switch (type) {
    case "status":
      return {
        type,
        status: field(obj, "status", isRunStatus, "a run status"),
        run: parseRunRecord(obj.run),
      };
    case "stdout":
    case "stderr":
      return {
        type,
        seq: field(obj, "seq", isPositiveInt, "a positive integer"),
        data: field(obj, "data", isString, "a string"),
      };
    case "truncated":
      return {
        type,
        skipped_bytes: field(obj, "skipped_bytes", isNonNegativeInt, "a non-negative integer"),
        first_seq: field(obj, "first_seq", isPositiveInt, "a positive integer"),
      };
    case "error":
      return {
        type,
        code: field(obj, "code", isString, "a string"),
        message: optional(obj, "message", isString, "a string", ""),
      };
    default:
      throw new ProtocolError(`unknown message type ${JSON.stringify(type)}`);
  }
}

/** Parses one WebSocket frame. Never throws: a bad frame is reported, not fatal. */
export function parseServerMessage(frame: unknown): ParseResult {
  if (typeof frame !== "string") return { ok: false, error: "expected a text frame" };
  let value: unknown;
  try {
    value = JSON.parse(frame);
  } catch {
    return { ok: false, error: "frame is not valid JSON" };
  }
  if (!isObject(value)) return { ok: false, error: "frame is not a JSON object" };
  try {
    return { ok: true, message: parseObject(value) };
  } catch (err) {
    if (err instanceof ProtocolError) return { ok: false, error: err.message };
    throw err;
  }
}

export function cancelFrame(): string {
  return JSON.stringify({ type: "cancel" });
}

export function ackFrame(seq: number): string {
  return JSON.stringify({ type: "ack", seq });
}

/** The most text one `stdin` message may carry (protocol.py MAX_STDIN_CHARS); bigger pastes
 * are split by `stdinFrames`. */
export const MAX_STDIN_CHARS = 16 * 1024;
/** The largest `cols` or `rows` of a `resize` (protocol.py MAX_TERMINAL_SIZE). */
export const MAX_TERMINAL_SIZE = 1000;
/** Frames over 64 KiB close the socket (1009). JSON escapes can make a 16 Ki-character piece
 * six times longer (a control character becomes `\u001b`), so pieces are also cut by their
 * encoded size, with room to spare for the envelope. */
const MAX_STDIN_FRAME_BYTES = 48 * 1024;

/** UTF-8 bytes a code point takes inside a JSON string (escapes included). */
function encodedBytes(codePoint: number): number {
  if (codePoint === 0x22 || codePoint === 0x5c) return 2; // \" and \\
  if (codePoint < 0x20) return [0x08, 0x09, 0x0a, 0x0c, 0x0d].includes(codePoint) ? 2 : 6;
  if (codePoint < 0x80) return 1;
  if (codePoint < 0x800) return 2;
  return codePoint < 0x10000 ? 3 : 4;
}

/**
 * Keystrokes or a paste as `stdin` frames, in order: each piece at most MAX_STDIN_CHARS long
 * (counted in UTF-16 units, which never undercounts the server's code points) and never
 * splitting a character. Empty input gives no frame.
 */
export function stdinFrames(data: string): string[] {
  const frames: string[] = [];
  let start = 0;
  let units = 0;
  let bytes = 0;
  let index = 0;
  while (index < data.length) {
    const codePoint = data.codePointAt(index) ?? 0;
    const width = codePoint > 0xffff ? 2 : 1;
    const size = encodedBytes(codePoint);
    if (units + width > MAX_STDIN_CHARS || bytes + size > MAX_STDIN_FRAME_BYTES) {
      frames.push(JSON.stringify({ type: "stdin", data: data.slice(start, index) }));
      start = index;
      units = 0;
      bytes = 0;
    }
    units += width;
    bytes += size;
    index += width;
  }
  if (index > start) frames.push(JSON.stringify({ type: "stdin", data: data.slice(start) }));
  return frames;
}

/** The viewer's terminal size for a tty run; each clamped to 1..MAX_TERMINAL_SIZE. */
export function resizeFrame(cols: number, rows: number): string {
  const clamp = (n: number) =>
    Math.min(MAX_TERMINAL_SIZE, Math.max(1, Math.floor(Number.isFinite(n) ? n : 1)));
  return JSON.stringify({ type: "resize", cols: clamp(cols), rows: clamp(rows) });
}
