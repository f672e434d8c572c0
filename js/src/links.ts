// Output is untrusted text: only http(s) links become clickable, and they open without giving
// the new page a handle on this one (noopener, noreferrer), so no javascript:, file:, data:…

export function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

export function openHttpLink(text: string): void {
  if (isHttpUrl(text)) window.open(text, "_blank", "noopener,noreferrer");
}
