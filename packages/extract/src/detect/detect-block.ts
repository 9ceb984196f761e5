import {
  CAPTCHA_TEXT,
  CAPTCHA_WIDGETS,
  CHALLENGE_HTML,
  CHALLENGE_TEXT,
  CHALLENGE_TITLES,
  ERROR_TITLE,
  firstMatch,
  isPlaceholderText,
  INVISIBLE_WIDGET,
  LOGIN_PATH,
  LOGIN_TEXT,
  PASSWORD_INPUT,
  RECAPTCHA_V3,
  SHORT_ERROR_TEXT,
  WIDGET_ELEMENT,
} from "./block-markers.ts";
import type { MarkerHit } from "./block-markers.ts";

/*
 * Honest outcome reporting: a challenge, CAPTCHA or login wall must never be
 * returned as a successful scrape. Most signals also appear on legitimate
 * pages (a reCAPTCHA on a comment form, Cloudflare's bot script, a login link
 * in the header), so each one only counts when the page has little content
 * of its own: that is what makes it a wall rather than a page with a widget.
 */

export type BlockKind = "http_error" | "bot_challenge" | "captcha" | "login_wall" | "empty";

export type BlockVerdict = { blocked: false } | { blocked: true; kind: BlockKind; reason: string };

export interface DetectBlockInput {
  /** Final HTTP status; null when unknown (e.g. the browser reported none). */
  status: number | null;
  /** Page title; when "" the HTML <title> is used. */
  title: string;
  html: string;
  /** Visible text or Markdown of the page (Markdown syntax and link URLs are ignored). */
  text: string;
  /** Final URL (after redirects). */
  url: string;
}

/** Below this many characters of text a page is "thin": mostly whatever wall it shows. */
export const THIN_PAGE_CHARS = 1500;
/**
 * A lone CAPTCHA widget (no wall wording) counts only on pages this small:
 * small product pages (~500 chars) with an invisible newsletter reCAPTCHA must pass.
 */
export const BARE_WIDGET_MAX_CHARS = 300;
/** A password form on a page with less text than this is a login wall. */
export const PASSWORD_WALL_MAX_CHARS = 1000;
/** Below this many characters of text a page is judged by what the text says: an error (`SHORT_ERROR_TEXT`), a placeholder (`isPlaceholderText`, empty), or a page. */
export const EMPTY_PAGE_CHARS = 50;
/**
 * Only this much of `text` is measured and searched: every rule needs either a
 * thin page (a few thousand chars) or nothing from the text, and plain-text
 * conversion of a megabyte of Markdown would cost tens of milliseconds.
 */
export const TEXT_SCAN_CHARS = 64_000;

// Statuses bot protection answers with; with one of these a vendor marker suffices.
const REFUSING_STATUSES = new Set([401, 403, 429, 503]);

/** Plain text from visible text or Markdown: no images, link targets, markup or Markdown punctuation. */
export function plainContent(text: string): string {
  return text
    .replace(/!\[[^\]]*\]\([^)]*\)/g, " ")
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/<[^>]+>/g, " ")
    .replace(/https?:\/\/\S+/g, " ")
    .replace(/[#>*_`|~=]+|^\s*[-+]\s|-{3,}/gm, " ")
    .replace(/\s+/g, " ")
    .trim();
}

function htmlTitle(html: string): string {
  const m = /<title\b[^>]*>([\s\S]*?)<\/title\s*>/i.exec(html.slice(0, 200_000));
  return (m?.[1] ?? "")
    .replace(/&amp;/g, "&")
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/\s+/g, " ")
    .trim();
}

/** Text-like inputs a visitor fills in; a CAPTCHA wall has at most one (the answer box). */
function fillableInputs(html: string): number {
  const inputs = html.match(/<input\b[^>]*>/gi) ?? [];
  const fillable = inputs.filter((i) => {
    const type = /\btype\s*=\s*["']?([a-z-]+)/i.exec(i)?.[1]?.toLowerCase() ?? "text";
    return ["text", "email", "password", "search", "tel", "url", "number"].includes(type);
  }).length;
  return fillable + (html.match(/<textarea\b/gi)?.length ?? 0);
}

function blocked(kind: BlockKind, reason: string): BlockVerdict {
  return { blocked: true, kind, reason };
}

function urlPath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return "";
  }
}

function detectChallenge(title: string, html: string, plain: string, status: number | null): BlockVerdict | undefined {
  const n = plain.length;
  const byTitle = firstMatch(CHALLENGE_TITLES, title);
  // The titles are specific; allow a little more text for pages that add help copy.
  if (byTitle && n < 2 * THIN_PAGE_CHARS) {
    return blocked("bot_challenge", `${byTitle.name}: title "${title.slice(0, 80)}", ${n} chars of text`);
  }
  const refusing = status !== null && REFUSING_STATUSES.has(status);
  // Condition first: scanning a megabyte of HTML for markers that could not count is wasted time.
  const byHtml = n < THIN_PAGE_CHARS || refusing ? firstMatch(CHALLENGE_HTML, html) : undefined;
  if (byHtml) {
    return blocked("bot_challenge", `${byHtml.name} markup on a page with ${n} chars of text (HTTP ${status ?? "?"})`);
  }
  const byText = firstMatch(CHALLENGE_TEXT, plain);
  if (byText && n < THIN_PAGE_CHARS) {
    return blocked("bot_challenge", `${byText.name}: "${byText.text}", ${n} chars of text`);
  }
  return undefined;
}

/** A widget a visitor has to interact with; invisible reCAPTCHA/hCaptcha and v3 scores do not count. */
function visibleWidget(html: string, widget: MarkerHit | undefined): MarkerHit | undefined {
  if (widget === undefined) return undefined;
  const elements = html.match(WIDGET_ELEMENT) ?? [];
  if (elements.length > 0) return elements.every((e) => INVISIBLE_WIDGET.test(e)) ? undefined : widget;
  return RECAPTCHA_V3.test(html) ? undefined : widget;
}

function detectCaptcha(html: string, plain: string): BlockVerdict | undefined {
  const n = plain.length;
  if (n >= THIN_PAGE_CHARS) return undefined;
  const widget = firstMatch(CAPTCHA_WIDGETS, html);
  const wording = firstMatch(CAPTCHA_TEXT, plain);
  if (wording) {
    const withWidget = widget ? ` with a ${widget.name} widget` : "";
    return blocked("captcha", `CAPTCHA wall: "${wording.text}"${withWidget}, ${n} chars of text`);
  }
  // A widget alone: a wall only if nothing else is on the page (a contact form with reCAPTCHA is not one).
  const visible = visibleWidget(html, widget);
  if (visible && n < BARE_WIDGET_MAX_CHARS && fillableInputs(html) <= 1) {
    return blocked("captcha", `CAPTCHA wall: a ${visible.name} widget is almost all of the page (${n} chars of text)`);
  }
  return undefined;
}

function detectLoginWall(title: string, html: string, plain: string, url: string): BlockVerdict | undefined {
  const n = plain.length;
  // Long pages are never walls, whatever login box or "log in to comment" they carry.
  if (n >= 2 * THIN_PAGE_CHARS) return undefined;
  const password = PASSWORD_INPUT.test(html);
  const wording = firstMatch(LOGIN_TEXT, `${title}\n${plain}`);
  if (wording && (password || n < THIN_PAGE_CHARS)) {
    const form = password ? " with a password form" : "";
    return blocked("login_wall", `login wall: "${wording.text}"${form}, ${n} chars of text`);
  }
  if (password && n < PASSWORD_WALL_MAX_CHARS) {
    return blocked("login_wall", `login wall: a password form is most of the page (${n} chars of text)`);
  }
  if (password && LOGIN_PATH.test(urlPath(url))) {
    return blocked("login_wall", `login wall: landed on a login page (${urlPath(url)})`);
  }
  return undefined;
}

/**
 * Classifies a fetched page as a real page or a block. Checks run from the
 * most specific to the least: bot challenge, CAPTCHA wall, HTTP error status
 * (401/403 are checked for a login wall first), login wall, error page
 * served with 200, empty page.
 */
export function detectBlock(input: DetectBlockInput): BlockVerdict {
  const plain = plainContent(input.text.slice(0, TEXT_SCAN_CHARS));
  const title = input.title.trim() || htmlTitle(input.html);
  const { status, html } = input;

  const verdict = detectChallenge(title, html, plain, status) ?? detectCaptcha(html, plain);
  if (verdict) return verdict;

  const httpError = status !== null && status >= 400;
  if (httpError && status !== 401 && status !== 403) return blocked("http_error", `HTTP ${status}`);
  const login = detectLoginWall(title, html, plain, input.url);
  if (login) return login;
  if (httpError) return blocked("http_error", `HTTP ${status}`);

  if (ERROR_TITLE.test(title) && plain.length < THIN_PAGE_CHARS) {
    return blocked("http_error", `error page served as HTTP ${status ?? "?"}: title "${title.slice(0, 80)}"`);
  }
  if (plain.length === 0) return blocked("empty", "no visible text");
  // A short page is a page ("Hello, world", a status line), unless its text is an error or a refusal,
  // or a placeholder left by a script that never rendered the rest ("Loading…": an empty shell).
  if (plain.length < EMPTY_PAGE_CHARS) {
    if (SHORT_ERROR_TEXT.test(plain)) {
      return blocked("http_error", `error page served as HTTP ${status ?? "?"}: "${plain}"`);
    }
    if (isPlaceholderText(plain)) {
      return blocked("empty", `almost no visible text (${plain.length} chars: "${plain}")`);
    }
  }
  return { blocked: false };
}
