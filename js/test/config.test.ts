import { describe, expect, it } from "vitest";
import { discoverServer, foreignOrigin, type PageLike, type ServerConfig } from "../src/config";
import { foreignOriginText, NO_SERVER } from "../src/messages";

interface PageSpec {
  href?: string;
  configData?: string | null;
  bodyData?: Record<string, string>;
  noBody?: boolean;
}

function page({
  href = "http://localhost:8888/lab/tree/a.ipynb",
  configData = null,
  bodyData = {},
  noBody,
}: PageSpec): PageLike {
  return {
    location: { href },
    document: {
      getElementById: (id) =>
        id === "jupyter-config-data" && configData !== null ? { textContent: configData } : null,
      body: noBody ? null : { dataset: bodyData },
    },
  };
}

const lab = (data: Record<string, unknown>) => JSON.stringify({ appName: "JupyterLab", ...data });

describe("discoverServer", () => {
  it("reads baseUrl and token from JupyterLab / Notebook 7 jupyter-config-data", () => {
    const found = discoverServer(
      page({ configData: lab({ baseUrl: "/user/ann/", token: "abc" }) }),
    );
    expect(found).toEqual({
      kind: "server",
      baseUrl: "http://localhost:8888/user/ann/",
      token: "abc",
    });
  });

  it("keeps a percent-encoded base URL as is and adds a missing trailing slash", () => {
    const found = discoverServer(page({ configData: lab({ baseUrl: "/a%40b" }) }));
    expect(found).toEqual({ kind: "server", baseUrl: "http://localhost:8888/a%40b/", token: "" });
  });

  it("falls back to the classic Notebook's <body data-base-url> (cookie auth, no token)", () => {
    const found = discoverServer(
      page({ href: "https://nb.example/notebooks/x.ipynb", bodyData: { baseUrl: "/" } }),
    );
    expect(found).toEqual({ kind: "server", baseUrl: "https://nb.example/", token: "" });
  });

  it("prefers jupyter-config-data over body attributes", () => {
    const found = discoverServer(
      page({ configData: lab({ baseUrl: "/lab-base/" }), bodyData: { baseUrl: "/classic-base/" } }),
    );
    expect(found.kind === "server" && found.baseUrl).toBe("http://localhost:8888/lab-base/");
  });

  it("ignores unusable config data and uses the next source", () => {
    for (const configData of ["{broken", "[]", lab({ baseUrl: "" }), lab({ token: "t" })]) {
      const found = discoverServer(page({ configData, bodyData: { baseUrl: "/nb/" } }));
      expect(found).toEqual({ kind: "server", baseUrl: "http://localhost:8888/nb/", token: "" });
    }
  });

  it("with nothing on the page (VS Code, Colab) reports a clear no-server state", () => {
    const cases = [
      page({}),
      page({ noBody: true }),
      page({ href: "vscode-webview://abc/index.html" }),
      page({ href: "https://colab.research.google.com/drive/1", bodyData: { other: "x" } }),
    ];
    for (const p of cases) {
      const found = discoverServer(p);
      expect(found).toEqual({ kind: "unavailable", message: NO_SERVER });
    }
    expect(NO_SERVER).toMatch(/No Jupyter server with nebula_jupyter is reachable from this page/);
  });

  it("a relative base URL on a page that is not http(s) is unusable", () => {
    const found = discoverServer(
      page({ href: "vscode-webview://abc/index.html", bodyData: { baseUrl: "/" } }),
    );
    expect(found.kind).toBe("unavailable");
  });

  it("an explicit base_url wins; the page token goes only to the page's own origin", () => {
    const configData = lab({ baseUrl: "/", token: "page-token" });
    expect(discoverServer(page({ configData }), "/other/")).toEqual({
      kind: "server",
      baseUrl: "http://localhost:8888/other/",
      token: "page-token",
    });
    expect(discoverServer(page({ configData }), "http://elsewhere:9999/x/")).toEqual({
      kind: "server",
      baseUrl: "http://elsewhere:9999/x/",
      token: "",
    });
  });

  it("an explicit absolute base_url works where the page has no server", () => {
    const found = discoverServer(
      page({ href: "vscode-webview://abc/index.html" }),
      "http://127.0.0.1:8888/",
    );
    expect(found).toEqual({ kind: "server", baseUrl: "http://127.0.0.1:8888/", token: "" });
  });

  it("rejects an explicit base_url that is not http(s)", () => {
    expect(discoverServer(page({}), "javascript:alert(1)").kind).toBe("unavailable");
    expect(discoverServer(page({}), "file:///etc/").kind).toBe("unavailable");
  });

  it("drops a query or fragment from the base URL", () => {
    const found = discoverServer(page({}), "http://h/base/?x=1#y");
    expect(found.kind === "server" && found.baseUrl).toBe("http://h/base/");
  });
});

describe("foreignOrigin", () => {
  const server = (baseUrl: string): ServerConfig => ({ kind: "server", baseUrl, token: "" });

  it("is null for the page's own server, whatever the path", () => {
    expect(foreignOrigin(page({}), server("http://localhost:8888/"))).toBeNull();
    expect(foreignOrigin(page({}), server("http://localhost:8888/user/a%40b/"))).toBeNull();
  });

  it("names both origins when host, port or scheme differ", () => {
    for (const other of [
      "http://elsewhere:8888/",
      "http://localhost:9999/",
      "https://localhost:8888/",
    ]) {
      expect(foreignOrigin(page({}), server(other))).toEqual({
        server: new URL(other).origin,
        page: "http://localhost:8888",
      });
    }
  });

  it("a page that is not http(s) has no origin of its own: every server is foreign", () => {
    const found = foreignOrigin(
      page({ href: "vscode-webview://abc/index.html" }),
      server("http://127.0.0.1:8888/"),
    );
    expect(found).toEqual({ server: "http://127.0.0.1:8888", page: null });
  });

  it("the give-up message says where, how often, why and what to do", () => {
    const text = foreignOriginText("http://other:9999", "http://localhost:8888", 4);
    expect(text).toMatch(/^Could not connect to http:\/\/other:9999 \(4 attempts\)\./);
    expect(text).toContain("not this page's server (http://localhost:8888)");
    expect(text).toContain("leave base_url empty");
    expect(foreignOriginText("http://other:9999", null, 4)).toContain("not this page's server: ");
  });
});
