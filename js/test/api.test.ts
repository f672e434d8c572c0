import { describe, expect, it } from "vitest";
import { cancelRun, fetchLogs, type HttpDeps, logsUrl, lookupRun, readCookie } from "../src/api";
import type { ServerConfig } from "../src/config";
import { runRecord } from "./fakes";

const COOKIE_SERVER: ServerConfig = { kind: "server", baseUrl: "http://h:8888/base/", token: "" };
const TOKEN_SERVER: ServerConfig = { kind: "server", baseUrl: "http://h:8888/base/", token: "tok" };

interface Call {
  url: string;
  init: RequestInit | undefined;
}

function http(response: () => Response, cookie = "_xsrf=2|abc|def|123; other=1") {
  const calls: Call[] = [];
  const deps: HttpDeps = {
    fetch: async (input, init) => {
      calls.push({ url: String(input), init });
      return response();
    },
    cookie: () => cookie,
  };
  return { deps, calls };
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

describe("REST calls", () => {
  it("builds the logs URL on the base URL with an encoded id", () => {
    expect(logsUrl(COOKIE_SERVER, "a b")).toBe("http://h:8888/base/api/nebula/runs/a%20b/logs");
  });

  it("cancel POSTs with the _xsrf cookie as X-XSRFToken and no Authorization without a token", async () => {
    const { deps, calls } = http(() => json(202, runRecord({ cancel_requested: true })));
    const result = await cancelRun(COOKIE_SERVER, "r1", deps);
    expect(result).toMatchObject({ ok: true, run: { cancel_requested: true } });
    expect(calls[0]?.url).toBe("http://h:8888/base/api/nebula/runs/r1/cancel");
    expect(calls[0]?.init?.method).toBe("POST");
    expect(calls[0]?.init?.headers).toEqual({ "X-XSRFToken": "2|abc|def|123" });
  });

  it("cancel sends the page token as an Authorization header when there is one", async () => {
    const { deps, calls } = http(() => json(202, runRecord({ cancel_requested: true })), "");
    await cancelRun(TOKEN_SERVER, "r1", deps);
    expect(calls[0]?.init?.headers).toEqual({ Authorization: "token tok" });
    expect(calls[0]?.url).not.toContain("tok");
  });

  it("cancel of a finished run (409) returns its record and message", async () => {
    const { deps } = http(() =>
      json(409, { message: "already finished", run: runRecord({ status: "succeeded" }) }),
    );
    const result = await cancelRun(COOKIE_SERVER, "r1", deps);
    expect(result).toMatchObject({
      ok: false,
      status: 409,
      message: "already finished",
      run: { status: "succeeded" },
    });
  });

  it("cancel reports other failures with the server's message or the status", async () => {
    expect(
      await cancelRun(COOKIE_SERVER, "r1", http(() => json(404, { message: "no such run" })).deps),
    ).toEqual({
      ok: false,
      status: 404,
      message: "no such run",
    });
    expect(
      await cancelRun(
        COOKIE_SERVER,
        "r1",
        http(() => new Response("<html>", { status: 502 })).deps,
      ),
    ).toEqual({
      ok: false,
      status: 502,
      message: "HTTP 502",
    });
    const offline: HttpDeps = {
      fetch: () => Promise.reject(new TypeError("offline")),
      cookie: () => "",
    };
    expect(await cancelRun(COOKIE_SERVER, "r1", offline)).toMatchObject({ ok: false, status: 0 });
  });

  it("lookupRun tells unknown runs and refused credentials apart from outages", async () => {
    let calls = 0;
    const oneMissing = http(() =>
      calls++ === 0 ? json(404, { message: "x" }) : json(200, { runs: [] }),
    );
    expect(await lookupRun(COOKIE_SERVER, "r1", oneMissing.deps)).toEqual({ kind: "not_found" });
    expect(
      await lookupRun(COOKIE_SERVER, "r1", http(() => json(403, { message: "x" })).deps),
    ).toEqual({
      kind: "unauthorized",
      status: 403,
    });
    expect(await lookupRun(COOKIE_SERVER, "r1", http(() => json(503, {})).deps)).toEqual({
      kind: "unreachable",
    });
    const missing = http(() => json(404, { message: "x" }));
    expect(await lookupRun(COOKIE_SERVER, "r1", missing.deps)).toEqual({ kind: "no_extension" });
    expect(missing.calls.map((call) => call.url)).toEqual([
      "http://h:8888/base/api/nebula/runs/r1",
      "http://h:8888/base/api/nebula/runs",
    ]);
    expect(
      (await lookupRun(COOKIE_SERVER, "r1", http(() => json(200, runRecord())).deps)).kind,
    ).toBe("found");
  });

  it("fetchLogs downloads with the token header, never a URL token", async () => {
    const { deps, calls } = http(() => new Response("raw \xff bytes", { status: 200 }), "");
    const blob = await fetchLogs(TOKEN_SERVER, "r1", deps);
    expect(await blob.text()).toContain("raw");
    expect(calls[0]?.url).toBe("http://h:8888/base/api/nebula/runs/r1/logs");
    expect(calls[0]?.init?.headers).toEqual({ Authorization: "token tok" });
    await expect(
      fetchLogs(TOKEN_SERVER, "r1", http(() => json(404, { message: "gone" })).deps),
    ).rejects.toThrow("gone");
  });

  it("reads one cookie by exact name", () => {
    expect(readCookie("a=1; _xsrf=x|y; b_xsrf=no", "_xsrf")).toBe("x|y");
    expect(readCookie("b_xsrf=no", "_xsrf")).toBeUndefined();
    expect(readCookie("", "_xsrf")).toBeUndefined();
  });
});
