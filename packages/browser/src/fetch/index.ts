// Public surface of the browserless fast path (scrapeMode "fast").
export {
  DEFAULT_FETCH_MAX_BYTES,
  DEFAULT_FETCH_MAX_REDIRECTS,
  DEFAULT_FETCH_USER_AGENT,
  fetchPage,
} from "./fetch-page.ts";
export type { FetchedPage, FetchFailureKind, FetchPageOptions } from "./fetch-page.ts";
export type { CallerCookie } from "./carry-cookies.ts";
export {
  decodeText,
  isOctetStreamMediaType,
  isPdfMediaType,
  isTextMediaType,
  isXhtmlDocument,
  mediaType,
} from "./decode-html.ts";
export { hasDeclarativeShadowDom, needsBrowser, NEEDS_BROWSER_SCAN_CHARS } from "./needs-browser.ts";
export type { NeedsBrowserResult } from "./needs-browser.ts";
export { sendViaProxy } from "./send-via-proxy.ts";
export type { HopResult, SendHopOptions } from "./send-via-proxy.ts";
