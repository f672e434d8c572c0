// Saving a run's full log as a file: the bytes come from the logs endpoint with the page's
// credentials in a header (never a token in a URL a browser could record), then a temporary
// object URL hands them to the browser's download.

import { fetchLogs, type HttpDeps } from "./api";
import type { ServerConfig } from "./config";

export async function downloadLog(
  server: ServerConfig,
  runId: string,
  http: HttpDeps,
): Promise<void> {
  const blob = await fetchLogs(server, runId, http);
  const href = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = href;
  link.download = `${runId}.log`;
  link.click();
  // The click starts the download synchronously enough; revoke once the event loop moves on.
  setTimeout(() => URL.revokeObjectURL(href), 1_000);
}
