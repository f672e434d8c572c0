// Stateless URLs and REST calls (CONTRACT.md §2): one run's, and the runs collection's. Paths are always built on the
// server's base_url, which may be "/user/x/" or "/a%40b/": nothing here assumes "/".

import type { ServerConfig } from "./config";
import { httpStatusText, RUN_ALREADY_ENDED, SERVER_UNREACHABLE } from "./messages";
import { parseRunRecord, type RunRecord, type RunStatus } from "./protocol";

export interface HttpDeps {
  fetch: typeof fetch;
  /** `document.cookie`, for Jupyter's `_xsrf` check on POSTs authenticated by cookie. */
  cookie: () => string;
}

export function browserHttpDeps(): HttpDeps {
  return {
    fetch: (input, init) => globalThis.fetch(input, init),
    cookie: () => (typeof document === "undefined" ? "" : document.cookie),
  };
}

export function runUrl(server: ServerConfig, runId: string): string {
  return `${server.baseUrl}api/nebula/runs/${encodeURIComponent(runId)}`;
}

export function logsUrl(server: ServerConfig, runId: string): string {
  return `${runUrl(server, runId)}/logs`;
}

export interface StreamParams {
  after: number;
  tail?: number | undefined;
  window?: number | undefined;
}

/** The WebSocket URL; the token rides in the query only when the page has one (a same-origin
 * login cookie is sent by the browser by itself). */
export function streamUrl(server: ServerConfig, runId: string, params: StreamParams): string {
  const url = new URL(`${runUrl(server, runId)}/stream`);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("after", String(params.after));
  if (params.tail !== undefined) url.searchParams.set("tail", String(params.tail));
  if (params.window !== undefined) url.searchParams.set("window", String(params.window));
  if (server.token !== "") url.searchParams.set("token", server.token);
  return url.href;
}

export function readCookie(cookies: string, name: string): string | undefined {
  for (const part of cookies.split(";")) {
    const eq = part.indexOf("=");
    if (eq >= 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function authHeaders(server: ServerConfig, deps: HttpDeps): Record<string, string> {
  const headers: Record<string, string> = {};
  if (server.token !== "") headers.Authorization = `token ${server.token}`;
  const xsrf = readCookie(deps.cookie(), "_xsrf");
  if (xsrf !== undefined) headers["X-XSRFToken"] = xsrf;
  return headers;
}

async function errorMessage(response: Response): Promise<string> {
  try {
    const body: unknown = await response.json();
    const message = (body as { message?: unknown } | null)?.message;
    if (typeof message === "string" && message !== "") return message;
  } catch {
    // Not JSON (a proxy's error page, say): fall through to the status line.
  }
  return httpStatusText(response.status);
}

export type CancelResult =
  | { ok: true; run: RunRecord }
  | { ok: false; status: number; message: string; run?: RunRecord };

/** POST …/cancel: 202 with the record; 409 when already terminal (body carries the record). */
export async function cancelRun(
  server: ServerConfig,
  runId: string,
  deps: HttpDeps,
): Promise<CancelResult> {
  let response: Response;
  try {
    response = await deps.fetch(`${runUrl(server, runId)}/cancel`, {
      method: "POST",
      headers: authHeaders(server, deps),
      credentials: "same-origin",
    });
  } catch {
    return { ok: false, status: 0, message: SERVER_UNREACHABLE };
  }
  if (response.ok) return { ok: true, run: parseRunRecord(await response.json()) };
  if (response.status === 409) {
    const body = (await response.json().catch(() => null)) as {
      message?: unknown;
      run?: unknown;
    } | null;
    const message = typeof body?.message === "string" ? body.message : RUN_ALREADY_ENDED;
    try {
      return { ok: false, status: 409, message, run: parseRunRecord(body?.run) };
    } catch {
      return { ok: false, status: 409, message };
    }
  }
  return { ok: false, status: response.status, message: await errorMessage(response) };
}

export type RunLookup =
  | { kind: "found"; run: RunRecord }
  | { kind: "not_found" }
  | { kind: "no_extension" }
  | { kind: "unauthorized"; status: number }
  | { kind: "unreachable" };

/** GET the record. The stream uses it to learn why a WebSocket handshake failed: browsers hide
 * the HTTP status of a refused upgrade (403/404 both look like close code 1006). */
export async function lookupRun(
  server: ServerConfig,
  runId: string,
  deps: HttpDeps,
): Promise<RunLookup> {
  try {
    const response = await deps.fetch(runUrl(server, runId), {
      headers: authHeaders(server, deps),
      credentials: "same-origin",
    });
    if (response.status === 404) {
      // A missing run and a server without the extension both answer 404 here; the runs
      // collection exists only when the extension is enabled.
      const list = await deps.fetch(`${server.baseUrl}api/nebula/runs`, {
        headers: authHeaders(server, deps),
        credentials: "same-origin",
      });
      return list.status === 404 ? { kind: "no_extension" } : { kind: "not_found" };
    }
    if (response.status === 401 || response.status === 403) {
      return { kind: "unauthorized", status: response.status };
    }
    if (!response.ok) return { kind: "unreachable" };
    return { kind: "found", run: parseRunRecord(await response.json()) };
  } catch {
    return { kind: "unreachable" };
  }
}

/** Fetch the full log as a Blob; an Authorization header (never a URL token) when the page has one. */
export async function fetchLogs(
  server: ServerConfig,
  runId: string,
  deps: HttpDeps,
): Promise<Blob> {
  const response = await deps.fetch(logsUrl(server, runId), {
    headers: authHeaders(server, deps),
    credentials: "same-origin",
  });
  if (!response.ok) throw new Error(await errorMessage(response));
  return response.blob();
}

// -- the runs collection (the JupyterLab panel and commands) ------------------------------------

export interface RunPage {
  runs: RunRecord[];
  /** Cursor for the next (older) page; null when this page is the last. */
  next: string | null;
}

export interface ListQuery {
  status?: RunStatus | undefined;
  limit?: number | undefined;
  before?: string | null | undefined;
}

export function runsUrl(server: ServerConfig, query: ListQuery = {}): string {
  const url = new URL(`${server.baseUrl}api/nebula/runs`);
  if (query.status !== undefined) url.searchParams.set("status", query.status);
  if (query.limit !== undefined) url.searchParams.set("limit", String(query.limit));
  if (query.before !== undefined && query.before !== null) {
    url.searchParams.set("before", query.before);
  }
  return url.href;
}

/** A REST call that did not answer with what was asked for; `status` 0 means no answer. */
export class RestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function send(
  server: ServerConfig,
  url: string,
  deps: HttpDeps,
  init: RequestInit = {},
): Promise<Response> {
  let response: Response;
  try {
    response = await deps.fetch(url, {
      ...init,
      headers: { ...authHeaders(server, deps), ...(init.headers as Record<string, string>) },
      credentials: "same-origin",
    });
  } catch {
    throw new RestError(0, SERVER_UNREACHABLE);
  }
  if (!response.ok) throw new RestError(response.status, await errorMessage(response));
  return response;
}

export function parseRunPage(body: unknown): RunPage {
  const page = body as { runs?: unknown; next?: unknown } | null;
  if (page === null || typeof page !== "object" || !Array.isArray(page.runs)) {
    throw new RestError(200, 'The runs list has no "runs" array.');
  }
  return {
    runs: page.runs.map(parseRunRecord),
    next: typeof page.next === "string" ? page.next : null,
  };
}

/** GET api/nebula/runs: one page, newest first. */
export async function listRuns(
  server: ServerConfig,
  query: ListQuery,
  deps: HttpDeps,
): Promise<RunPage> {
  const response = await send(server, runsUrl(server, query), deps);
  return parseRunPage(await response.json());
}

/** GET api/nebula/runs/{id}; null when the run no longer exists. */
export async function getRun(
  server: ServerConfig,
  runId: string,
  deps: HttpDeps,
): Promise<RunRecord | null> {
  try {
    const response = await send(server, runUrl(server, runId), deps);
    return parseRunRecord(await response.json());
  } catch (err) {
    if (err instanceof RestError && err.status === 404) return null;
    throw err;
  }
}

/** The body of POST api/nebula/runs (CONTRACT §2); absent fields take the server's defaults. */
export interface CreateRunBody {
  command: string[] | string;
  cwd?: string;
  name?: string;
  tty?: boolean;
}

/** POST api/nebula/runs: the new run's record (201). */
export async function createRun(
  server: ServerConfig,
  body: CreateRunBody,
  deps: HttpDeps,
): Promise<RunRecord> {
  const response = await send(server, runsUrl(server), deps, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return parseRunRecord(await response.json());
}

/** DELETE api/nebula/runs/{id}: record and logs gone (204); a run already gone counts as done. */
export async function deleteRun(
  server: ServerConfig,
  runId: string,
  deps: HttpDeps,
): Promise<void> {
  try {
    await send(server, runUrl(server, runId), deps, { method: "DELETE" });
  } catch (err) {
    if (err instanceof RestError && err.status === 404) return;
    throw err;
  }
}
