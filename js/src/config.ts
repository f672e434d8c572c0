// Where is the Jupyter server, and how do we authenticate to it? The widget model never carries
// a token (it would be saved into the notebook), so both come from the page that hosts us.

import { NO_SERVER } from "./messages";

export interface ServerConfig {
  kind: "server";
  /** Absolute http(s) URL of the server's base_url, always ending with "/". */
  baseUrl: string;
  /** Page token ("" when the page relies on the login cookie). */
  token: string;
}

export interface NoServer {
  kind: "unavailable";
  message: string;
}

export type ServerDiscovery = ServerConfig | NoServer;

/** The slice of `window` we read; tests pass a plain object. */
export interface PageLike {
  document: {
    getElementById(id: string): { textContent: string | null } | null;
    body: { dataset: Record<string, string | undefined> } | null;
  };
  location: { href: string };
}

interface PageSettings {
  baseUrl: string;
  token: string;
}

/** JupyterLab 4 / Notebook 7 embed their PageConfig as JSON in this script element. */
function readJupyterConfigData(page: PageLike): PageSettings | null {
  const text = page.document.getElementById("jupyter-config-data")?.textContent;
  if (!text) return null;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof data !== "object" || data === null) return null;
  const { baseUrl, token } = data as Record<string, unknown>;
  if (typeof baseUrl !== "string" || baseUrl === "") return null;
  return { baseUrl, token: typeof token === "string" ? token : "" };
}

/** The classic Notebook (and nbclassic) put the base URL on <body data-base-url>. */
function readBodyDataset(page: PageLike): PageSettings | null {
  const baseUrl = page.document.body?.dataset.baseUrl;
  if (!baseUrl) return null;
  return { baseUrl, token: "" };
}

function withTrailingSlash(url: URL): string {
  const text = url.href.split(/[?#]/)[0] ?? url.href;
  return text.endsWith("/") ? text : `${text}/`;
}

function resolveHttpUrl(baseUrl: string, pageHref: string): URL | null {
  let url: URL;
  try {
    url = new URL(baseUrl, pageHref);
  } catch {
    return null;
  }
  return url.protocol === "http:" || url.protocol === "https:" ? url : null;
}

/**
 * `explicitBaseUrl` is the widget's `base_url` trait ("" = discover from the page). An explicit
 * URL on another origin never receives the page's token: that token belongs to this page's server.
 */
export function discoverServer(page: PageLike, explicitBaseUrl = ""): ServerDiscovery {
  const fromPage = readJupyterConfigData(page) ?? readBodyDataset(page);
  const wanted = explicitBaseUrl !== "" ? explicitBaseUrl : fromPage?.baseUrl;
  const url = wanted === undefined ? null : resolveHttpUrl(wanted, page.location.href);
  if (url === null) return { kind: "unavailable", message: NO_SERVER };

  const pageUrl = resolveHttpUrl(page.location.href, page.location.href);
  const sameOrigin = pageUrl !== null && pageUrl.origin === url.origin;
  const token = fromPage !== null && sameOrigin ? fromPage.token : "";
  return { kind: "server", baseUrl: withTrailingSlash(url), token };
}

export interface ForeignOrigin {
  /** The server's origin, e.g. "http://other:8888". */
  server: string;
  /** The page's origin; null when the page is not http(s) (a VS Code webview, say). */
  page: string | null;
}

/** The origins involved when the server is not the page's own (an explicit cross-origin
 * `base_url`), else null. Such a server gets neither the page's token nor, by Jupyter's
 * default, its login cookie; and the browser hides why a handshake or a diagnosis request to it
 * failed. */
export function foreignOrigin(page: PageLike, server: ServerConfig): ForeignOrigin | null {
  const serverOrigin = new URL(server.baseUrl).origin;
  const pageUrl = resolveHttpUrl(page.location.href, page.location.href);
  if (pageUrl !== null && pageUrl.origin === serverOrigin) return null;
  return { server: serverOrigin, page: pageUrl?.origin ?? null };
}
