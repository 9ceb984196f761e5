import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFixtureSite } from "../../../testkit/src/index.ts";
import type { FixtureSite } from "../../../testkit/src/index.ts";
import { detectBlock, plainContent } from "../../src/detect/detect-block.ts";
import type { BlockKind } from "../../src/detect/detect-block.ts";
import { convertHtmlToMarkdown } from "../../src/markdown/html-to-markdown.ts";
import * as S from "./block-samples.ts";

/** What the pipeline would pass: Markdown of the page and its <title> ("" → detectBlock reads it). */
function verdictFor(html: string, status: number | null = 200, url = "https://shop.example/page") {
  const { markdown } = convertHtmlToMarkdown(html, { baseUrl: url });
  return detectBlock({ status, title: "", html, text: markdown, url });
}

const BLOCKED: Array<[string, string, number | null, BlockKind, string?]> = [
  // [name, html, status, kind, url]
  [
    "HTTP 404 page",
    S.doc("404 Not Found", "<h1>Not Found</h1><p>The requested URL was not found.</p>"),
    404,
    "http_error",
  ],
  ["HTTP 500 with a full layout", S.doc("Oops", `${S.SITE_HEADER}${S.prose(4)}${S.SITE_FOOTER}`), 500, "http_error"],
  ["HTTP 429", S.doc("Too Many Requests", "<h1>Too Many Requests</h1>"), 429, "http_error"],
  [
    "nginx 403",
    S.doc("403 Forbidden", "<center><h1>403 Forbidden</h1></center><hr><center>nginx</center>"),
    403,
    "http_error",
  ],
  [
    "soft 404 served with 200",
    S.doc("404 Not Found", "<h1>Page not found</h1><p>Try the search box.</p>"),
    200,
    "http_error",
  ],
  [
    "soft Access Denied served with 200",
    S.doc("Access Denied", "<h1>Access Denied</h1><p>You do not have access.</p>"),
    200,
    "http_error",
  ],
  ["Cloudflare managed challenge (new)", S.CF_MANAGED_NEW, 403, "bot_challenge"],
  ["Cloudflare managed challenge served 200", S.CF_MANAGED_NEW, 200, "bot_challenge"],
  ["Cloudflare firewall block", S.CF_BLOCKED, 403, "bot_challenge"],
  ["Akamai Access Denied", S.AKAMAI_DENIED, 403, "bot_challenge"],
  ["PerimeterX press & hold", S.PERIMETERX, 403, "bot_challenge"],
  ["DataDome", S.DATADOME, 403, "bot_challenge"],
  ["Imperva Pardon Our Interruption", S.IMPERVA_PARDON, 200, "bot_challenge"],
  ["Cloudflare 1020 access rule", S.CF_1020, 403, "bot_challenge"],
  ["Cloudflare 522 origin error (an error, not a challenge)", S.CF_522, 522, "http_error"],
  ["Incapsula iframe", S.INCAPSULA, 200, "bot_challenge"],
  ["Are you a robot?", S.ROBOT_CHECK, 200, "bot_challenge"],
  ["hCaptcha wall", S.HCAPTCHA_WALL, 200, "captcha"],
  ["Turnstile widget and nothing else", S.TURNSTILE_ONLY, 200, "captcha"],
  ["LinkedIn-style auth wall", S.LINKEDIN_AUTHWALL, 200, "login_wall"],
  ["Instagram-style log in to see", S.INSTAGRAM_WALL, 200, "login_wall"],
  ["password form is the page", S.BARE_PASSWORD_FORM, 200, "login_wall"],
  ["members-only notice", S.MEMBERS_ONLY, 200, "login_wall"],
  ["401 with a password form", S.BARE_PASSWORD_FORM, 401, "login_wall"],
  [
    "redirected to a login URL",
    S.doc(
      "Account",
      `${S.SITE_HEADER}<form><input name="e"><input type="password" name="p"></form>${S.prose(2)}${S.SITE_FOOTER}`,
    ),
    200,
    "login_wall",
    "https://shop.example/accounts/login?next=/orders",
  ],
  ["empty SPA shell", S.doc("App", '<div id="root"></div><script src="/main.js"></script>'), 200, "empty"],
  ["blank body", S.doc("", ""), null, "empty"],
  [
    "script shell showing only its spinner line",
    S.doc("App", '<div id="app">Loading…</div><script src="/a.js"></script>'),
    200,
    "empty",
  ],
  ["script shell showing only dots", S.doc("App", '<div id="app"><span>• • •</span></div>'), 200, "empty"],
  ["a short 'Forbidden' served as 200", S.doc("Shop", "<h1>Forbidden</h1>"), 200, "http_error"],
  ["a short 'Access Denied' served as 200", S.doc("Shop", "<p>Access Denied</p>"), 200, "http_error"],
  ["a bare status number", S.doc("Shop", "<p>404</p>"), 200, "http_error"],
  ["a rate-limit line", S.doc("API", "<p>Rate limit exceeded. Try again later.</p>"), 200, "http_error"],
  ["a short 'Something went wrong'", S.doc("App", "<p>Something went wrong</p>"), 200, "http_error"],
  ["a Spanish loading line", S.doc("App", "<div>Cargando...</div>"), 200, "empty"],
  ["a Japanese loading line", S.doc("App", "<div>読み込み中...</div>"), 200, "empty"],
  ["a JavaScript-required notice", S.doc("App", "<p>You need to enable JavaScript to run this app.</p>"), 200, "empty"],
  ["a loading line naming what loads", S.doc("App", "<div>Loading dashboard…</div>"), 200, "empty"],
  ["a wait line", S.doc("App", "<p>Please wait while we load your data</p>"), 200, "empty"],
  ["a JavaScript-disabled line", S.doc("App", "<p>JavaScript is disabled. Please enable it.</p>"), 200, "empty"],
];

const NOT_BLOCKED: Array<[string, string, number | null]> = [
  ["a short page of its own", S.doc("Hi", "<h1>Hello there</h1>"), 200],
  ["a short page about JavaScript", S.doc("JS", "<h1>Learn JavaScript</h1>"), 200],
  ["a short page about a loading dock", S.doc("Tours", "<h1>Book a loading dock tour</h1>"), 200],
  ["a short page titled with 'Loading'", S.doc("Docks", "<h1>Loading dock tours</h1>"), 200],
  ["a one-line status page", S.doc("Status", "<p>OK: all systems up</p><script src=/s.js></script>"), 200],
  ["long article about CAPTCHAs", S.CAPTCHA_ARTICLE, 200],
  ["product page with a login link in the header", S.PRODUCT_WITH_LOGIN_LINK, 200],
  ["blog with a reCAPTCHA comment form", S.BLOG_WITH_COMMENT_CAPTCHA, 200],
  ["article with a newsletter reCAPTCHA", S.NEWSLETTER_CAPTCHA, 200],
  ["contact page with a Turnstile form", S.CONTACT_FORM_CAPTCHA, 200],
  ["article with Cloudflare's injected bot script", S.ARTICLE_WITH_CF_SCRIPT, 200],
  ["article titled about Access Denied errors", S.ACCESS_DENIED_ARTICLE, 200],
  ["forum thread with a login box in the sidebar", S.FORUM_WITH_LOGIN_BOX, 200],
  ["unknown status, real content", S.PRODUCT_WITH_LOGIN_LINK, null],
  ["short product page with an invisible newsletter reCAPTCHA", S.SMALL_PRODUCT_NEWSLETTER, 200],
  ["help article titled 'Verifying your email address'", S.HELP_VERIFYING_EMAIL, 200],
  ["short WordPress post: 'You must be logged in to post a comment'", S.WORDPRESS_SHORT_POST, 200],
  ["post with a sidebar login box: 'Please log in to comment'", S.POST_WITH_SIDEBAR_LOGIN, 200],
];

describe("detectBlock", () => {
  it.each(BLOCKED)("flags %s", (_name, html, status, kind, url) => {
    const v = verdictFor(html, status, url);
    expect(v).toMatchObject({ blocked: true, kind });
    if (v.blocked) expect(v.reason.length).toBeGreaterThan(3);
  });

  it.each(NOT_BLOCKED)("passes %s", (_name, html, status) => {
    expect(verdictFor(html, status)).toEqual({ blocked: false });
  });

  it("accepts plain visible text as well as Markdown", () => {
    const text = "Verify you are human. Please complete the security check to access this site. Continue";
    expect(
      detectBlock({ status: 200, title: "Security check", html: "", text, url: "https://a.example/" }),
    ).toMatchObject({ blocked: true, kind: "captcha" });
  });

  it("ignores Markdown link targets and images when measuring content", () => {
    expect(
      plainContent("# Title\n\n![x](https://cdn.example/a.png) [Read **more**](https://a.example/very/long/url)"),
    ).toBe("Title Read more");
  });
});

describe("detectBlock on the fixture site's pages", () => {
  let site: FixtureSite;
  beforeAll(async () => {
    site = await startFixtureSite();
  });
  afterAll(async () => {
    await site?.close();
  });

  it.each([
    ["/challenge", 503, "bot_challenge"],
    ["/captcha", 200, "captcha"],
    ["/login-wall", 200, "login_wall"],
    ["/status/404", 404, "http_error"],
    ["/spa", 200, "empty"],
    ["/static-article", 200, undefined],
    ["/news/1", 200, undefined],
    ["/product/1", 200, undefined],
    ["/news", 200, undefined],
    ["/form", 200, undefined],
  ] as const)("%s", async (path, status, kind) => {
    const res = await fetch(site.url(path));
    expect(res.status).toBe(status);
    const v = verdictFor(await res.text(), res.status, site.url(path));
    if (kind === undefined) expect(v).toEqual({ blocked: false });
    else expect(v).toMatchObject({ blocked: true, kind });
  });
});
