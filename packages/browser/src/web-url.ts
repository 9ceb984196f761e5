/**
 * True for an absolute http(s) address. Every `goto` of ours checks it: a navigation started from
 * the driver may load what a page itself may not (file://, chrome://, view-source:), and the
 * addresses a forEach follows are read by scripts the page can subvert.
 */
export function isWebUrl(url: string): boolean {
  if (typeof url !== "string") return false;
  try {
    return isWebProtocol(new URL(url).protocol);
  } catch {
    return false;
  }
}

/** http: or https:, as `URL.protocol` spells them. */
export function isWebProtocol(protocol: string): boolean {
  return protocol === "http:" || protocol === "https:";
}
