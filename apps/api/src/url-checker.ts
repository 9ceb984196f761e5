/** Checks a target URL against the network policy before queueing (the SSRF guard's first pass). */
export type UrlChecker = (url: string) => Promise<{ ok: true; url: string } | { ok: false; reason: string }>;
