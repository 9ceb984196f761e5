// A site behind a CAPTCHA wall, for solver tests. GET /recaptcha, /hcaptcha and /turnstile show a
// wall (served 403, as bot walls often are) whose form posts the widget's response field back;
// the article comes through only when `verify` accepts the posted token. That is the site's real
// check: tests wire it to the test provider's `issued`, the way a site asks the CAPTCHA vendor.
// No vendor script is loaded (tests must not reach the internet), so the response fields exist
// only once a solver puts them there.
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import { escapeHtml, jsString } from "./fixture/html.ts";
import { listenTracked } from "./listen.ts";

export type CaptchaSiteKind = "recaptcha" | "hcaptcha" | "turnstile";

/** Public test site keys of the three vendors (they never reach the vendors here). */
export const CAPTCHA_SITE_KEYS: Record<CaptchaSiteKind, string> = {
  recaptcha: "6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI",
  hcaptcha: "10000000-ffff-ffff-ffff-000000000001",
  turnstile: "1x00000000000000000000AA",
};

/** The form field each widget posts its token in. */
export const CAPTCHA_RESPONSE_FIELDS: Record<CaptchaSiteKind, string> = {
  recaptcha: "g-recaptcha-response",
  hcaptcha: "h-captcha-response",
  turnstile: "cf-turnstile-response",
};

/** A sentence only the article behind the wall contains. */
export const CAPTCHA_ARTICLE_MARKER = "The lighthouse ledger records forty-one storms";

export interface CaptchaSiteOptions {
  host?: string;
  port?: number;
  /** Accepts or refuses a posted token (e.g. `provider.issued`). */
  verify(token: string, kind: CaptchaSiteKind): boolean | Promise<boolean>;
}

export interface CaptchaSubmission {
  kind: CaptchaSiteKind;
  /** "form" for a form post, "callback" for the in-page callback's fetch. */
  via: "form" | "callback";
  token: string;
  accepted: boolean;
}

export interface CaptchaSite {
  origin: string;
  /**
   * URL of a wall. `variant`: "form" (widget element, form post; default), "callback" (widget
   * element with `data-callback`, the page fetches the article without navigating), "iframe" (the
   * widget only as the vendor's iframe, site key in its URL, form post).
   */
  url(kind: CaptchaSiteKind, variant?: "form" | "callback" | "iframe"): string;
  submissions: CaptchaSubmission[];
  close(): Promise<void>;
}

const KINDS: CaptchaSiteKind[] = ["recaptcha", "hcaptcha", "turnstile"];
const WIDGET_CLASS: Record<CaptchaSiteKind, string> = {
  recaptcha: "g-recaptcha",
  hcaptcha: "h-captcha",
  turnstile: "cf-turnstile",
};

/** Local stand-ins for the vendors' iframe URLs (same paths and parameters as the real ones). */
function iframeSrc(kind: CaptchaSiteKind): string {
  const key = encodeURIComponent(CAPTCHA_SITE_KEYS[kind]);
  if (kind === "recaptcha") return `/recaptcha/api2/anchor?ar=1&k=${key}&co=aHR0cA..&hl=en&size=normal`;
  if (kind === "hcaptcha") return `/captcha/v1/static/hcaptcha.html#frame=checkbox&id=0abc&sitekey=${key}&theme=light`;
  return `/cdn-cgi/challenge-platform/h/b/turnstile/if/ov2/av0/rcv0/0/x1y2z/${key}/light/fbE/new/normal`;
}

function wallPage(kind: CaptchaSiteKind, variant: "form" | "callback" | "iframe", notice = ""): string {
  const key = escapeHtml(CAPTCHA_SITE_KEYS[kind]);
  const widget =
    variant === "iframe"
      ? `<div class="captcha-box"><iframe title="widget" width="304" height="78" src="${escapeHtml(iframeSrc(kind))}"></iframe></div>`
      : `<div class="${WIDGET_CLASS[kind]}" data-sitekey="${key}"${variant === "callback" ? ' data-callback="onCaptchaPassed"' : ""}></div>`;
  const form =
    variant === "callback"
      ? widget
      : `<form id="captcha-form" action="/${kind}" method="post">\n    ${widget}\n    <button type="submit">Continue</button>\n  </form>`;
  // The callback posts the token with fetch and swaps the page in place, like single-page sites do.
  const script =
    variant === "callback"
      ? `<script>
function onCaptchaPassed(token) {
  fetch(${jsString(`/verify/${kind}`)}, { method: "POST", headers: { "content-type": "text/plain" }, body: token })
    .then(function (r) { return r.text(); })
    .then(function (html) { document.title = "Lighthouse ledger"; document.body.innerHTML = html; });
}
</script>`
      : "";
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Security check</title>
<meta name="robots" content="noindex">${script}</head>
<body>
<div class="captcha-container">
  <h1>Verify you are human</h1>
  <p>Please complete the security check to access this site.</p>${notice ? `\n  <p class="notice">${escapeHtml(notice)}</p>` : ""}
  ${form}
</div>
</body></html>
`;
}

function articleBody(kind: CaptchaSiteKind): string {
  return `<main><article>
<h1>Lighthouse ledger</h1>
<p>${CAPTCHA_ARTICLE_MARKER} between 1890 and 1912, each with the wind, the sea state and the keeper's note.</p>
<p>The keepers wrote in pencil during the night watch and copied the entries in ink at dawn, which is why
the ledger has two hands on almost every page. This copy was unlocked through a ${kind} check.</p>
<p>Readers who want the full tables can ask the harbour archive for the scanned volumes.</p>
</article></main>`;
}

function articlePage(kind: CaptchaSiteKind): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Lighthouse ledger</title></head>
<body>${articleBody(kind)}</body></html>
`;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

export async function startCaptchaSite(opts: CaptchaSiteOptions): Promise<CaptchaSite> {
  const submissions: CaptchaSubmission[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://captcha.invalid");
    const path = url.pathname;
    const kind = KINDS.find((k) => path === `/${k}` || path === `/verify/${k}`);
    const variant = url.searchParams.get("variant");
    const shown = variant === "callback" || variant === "iframe" ? variant : "form";
    if (req.method === "GET" && kind && path === `/${kind}`) return send(res, 403, wallPage(kind, shown));
    if (req.method === "POST" && kind) {
      const raw = await readBody(req);
      const viaForm = path === `/${kind}`;
      const token = viaForm ? (new URLSearchParams(raw).get(CAPTCHA_RESPONSE_FIELDS[kind]) ?? "") : raw.trim();
      const accepted = token !== "" && (await opts.verify(token, kind));
      submissions.push({ kind, via: viaForm ? "form" : "callback", token, accepted });
      if (!viaForm) return send(res, accepted ? 200 : 403, accepted ? articleBody(kind) : "<p>Token refused</p>");
      if (accepted) return send(res, 200, articlePage(kind));
      return send(res, 403, wallPage(kind, "form", "The security check failed, please try again."));
    }
    // The vendors' iframes, served locally: a checkbox and nothing else.
    if (
      req.method === "GET" &&
      (path.startsWith("/recaptcha/") || path.startsWith("/captcha/") || path.includes("/turnstile/"))
    ) {
      return send(
        res,
        200,
        `<!DOCTYPE html><html><body><label><input type="checkbox"> I'm not a robot</label></body></html>`,
      );
    }
    return send(res, 404, "<!DOCTYPE html><title>Not found</title><p>Not found</p>");
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, `<p>${escapeHtml((err as Error).message)}</p>`);
    });
  });
  const listening = await listenTracked(server, opts.host, opts.port);
  return {
    origin: listening.origin,
    url: (kind, variant = "form") => `${listening.origin}/${kind}${variant === "form" ? "" : `?variant=${variant}`}`,
    submissions,
    close: listening.close,
  };
}
