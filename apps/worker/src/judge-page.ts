import { detectBlock } from "@orbweaver/extract";

/**
 * Honest success: an HTTP error, bot challenge, CAPTCHA wall, login wall or empty shell is never a
 * plain success. Returns the reason the URL failed, or null for a real page. (A CAPTCHA wall reaches
 * this judge unsolved when no solver is configured; see pass-captcha-wall.ts.)
 */
export function judgePage(
  input: {
    status: number | null;
    title: string;
    html: string;
    markdown: string;
    url: string;
  },
  opts: { emptyIsFine?: boolean } = {},
): string | null {
  const verdict = detectBlock({
    status: input.status,
    title: input.title,
    html: input.html,
    text: input.markdown,
    url: input.url,
  });
  if (!verdict.blocked) return null;
  // A crawl's link hubs and stubs are short pages in their own right, not failed loads.
  if (verdict.kind === "empty" && opts.emptyIsFine) return null;
  if (verdict.kind === "http_error" && input.status !== null && input.status >= 400) {
    return `The page answered HTTP ${input.status}`;
  }
  const label = {
    http_error: "an error page",
    bot_challenge: "a bot challenge",
    captcha: "a CAPTCHA",
    login_wall: "a login wall",
    empty: "an empty page",
  }[verdict.kind];
  return `Blocked by ${label}: ${verdict.reason}`;
}

/**
 * The judgement of a text document (JSON, plain text, XML...: `isTextMediaType`), returned as it is:
 * an error status or nothing but whitespace fails it; any text is content, however short (`{"ok":true}`).
 */
export function judgeTextDocument(input: { status: number | null; text: string }): string | null {
  if (input.status !== null && input.status >= 400) return `The page answered HTTP ${input.status}`;
  if (input.text.trim() === "") return "The document is empty";
  return null;
}
