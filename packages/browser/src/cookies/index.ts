export { CookieParseError, MAX_COOKIES, MAX_COOKIE_BYTES } from "./check-cookie.ts";
export type { ParsedCookie } from "./check-cookie.ts";
export { parseCookieInput, parseCookieHeader } from "./parse-cookies.ts";
export type { CookieInput, CookieObject } from "./parse-cookies.ts";
export { parseCookieTable } from "./parse-cookie-table.ts";
export { scopeCookies, toPlaywrightCookies, registrableDomain } from "./scope-cookies.ts";
export type { ScopedCookies, DroppedCookie } from "./scope-cookies.ts";
