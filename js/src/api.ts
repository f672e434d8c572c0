// Stateless URLs and REST calls for one run (CONTRACT.md §2). Paths are always built on the
// server's base_url, which may be "/user/x/" or "/a%40b/": nothing here assumes "/".

import type { ServerConfig } from "./config";
import { httpStatusText, RUN_ALREADY_ENDED, SERVER_UNREACHABLE } from "./messages";
import { parseRunRecord, type RunRecord } from "./protocol";

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
