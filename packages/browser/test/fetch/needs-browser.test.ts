import { performance } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { challengePage, staticArticlePage } from "../../../testkit/src/fixture/block-pages.ts";
import { hugePage } from "../../../testkit/src/fixture/huge-page.ts";
import { faqPage, teamPage } from "../../../testkit/src/fixture/interactive-pages.ts";
import {
  homePage,
  jsRedirectPage,
  loadMorePage,
  metaRedirectPage,
  spaPage,
} from "../../../testkit/src/fixture/misc-pages.ts";
import { newsArticlePage, newsListPage } from "../../../testkit/src/fixture/news-pages.ts";
import { formPage, productPage } from "../../../testkit/src/fixture/product-pages.ts";
import { hasDeclarativeShadowDom, needsBrowser, roughVisibleText } from "../../src/fetch/needs-browser.ts";

const doc = (head: string, body: string): string =>
  `<!DOCTYPE html><html><head><meta charset="utf-8">${head}</head><body>${body}</body></html>`;

const PARAGRAPHS = Array.from(
  { length: 12 },
  (_, i) =>
    `<p>Paragraph ${i + 1} of a server-rendered story about the harbour council budget, the new railway timetable and the museum's restored collection.</p>`,
).join("\n");

const NEXT_DATA = `<script id="__NEXT_DATA__" type="application/json">{"props":{"pageProps":{}},"page":"/","buildId":"abc"}</script>`;

const SHELLS: Array<[string, string, RegExp]> = [
  ["fixture /spa (= /shell)", spaPage(), /#root/],
  [
    "create-react-app shell with noscript",
    doc(
      `<title>React App</title><script defer src="/static/js/main.4f2a.js"></script>`,
      `<noscript>You need to enable JavaScript to run this app.</noscript><div id="root"></div>`,
    ),
    /#root/,
  ],
  [
    "Next.js client-only page",
    doc(
      `<title>Shop</title>`,
      `<div id="__next"></div>${NEXT_DATA}<script src="/_next/static/chunks/main.js"></script>`,
    ),
    /#__next/,
  ],
  [
    "Angular shell",
    doc(`<title>App</title><base href="/">`, `<app-root></app-root><script src="main.js" type="module"></script>`),
    /app-root/,
  ],
  [
    "Nuxt shell",
    doc(
      `<title>Nuxt</title>`,
      `<div id="__nuxt"><!----></div><script>window.__NUXT__={config:{}}</script><script src="/_nuxt/entry.js"></script>`,
    ),
    /#__nuxt/,
  ],
  [
    "data-reactroot shell",
    doc("<title>x</title>", `<div data-reactroot=""></div><script src="/bundle.js"></script>`),
    /data-reactroot/,
  ],
  [
    "Vue app with only a spinner",
    doc(
      "<title>Dashboard</title>",
      `<div id="app"><div class="spinner">Loading…</div></div><script src="/js/app.js"></script>`,
    ),
    /almost no visible text/,
  ],
  [
    "noscript-only message with a thin skeleton",
    doc(
      "<title>Portal</title>",
      `<header><a href="/">Portal</a></header><noscript><p>This site requires JavaScript. Please enable JavaScript in your browser.</p></noscript><main class="mount"><p>Welcome to the customer portal. Your dashboard is loading, please hold on for a second or two while we fetch your data.</p></main><script src="/portal.js"></script>`,
    ),
    /noscript/,
  ],
  ["fixture meta refresh redirect", metaRedirectPage("/news"), /meta refresh/],
  ["fixture JavaScript redirect", jsRedirectPage("/news?page=2&sort=new"), /JavaScript redirect/],
  ["Cloudflare-style challenge", challengePage("shop.example"), /./],
];

const STATIC_PAGES: Array<[string, string]> = [
  ["fixture /static-article", staticArticlePage()],
  ["fixture product page", productPage(1) ?? ""],
  ["fixture news article", newsArticlePage(1) ?? ""],
  ["fixture news list", newsListPage(1) ?? ""],
  ["fixture home", homePage()],
  ["fixture load-more (scripts + server content)", loadMorePage()],
  ["fixture form page", formPage()],
  ["fixture team page", teamPage(true)],
  ["fixture faq page", faqPage()],
  [
    "Next.js server-rendered page",
    doc(
      "<title>Story</title>",
      `<div id="__next"><article><h1>Story</h1>${PARAGRAPHS}</article></div>${NEXT_DATA}<script src="/_next/main.js"></script>`,
    ),
  ],
  [
    "Angular SSR page",
    doc(
      "<title>Docs</title>",
      `<app-root ng-version="17.3.0" ng-server-context="ssr"><main>${PARAGRAPHS}</main></app-root><script src="main.js" type="module"></script>`,
    ),
  ],
  [
    "static article with an empty #app widget mount",
    doc(
      "<title>Blog</title>",
      `<article>${PARAGRAPHS}${PARAGRAPHS}</article><div id="app"></div><script src="/comments-widget.js"></script>`,
    ),
  ],
  [
    "frame-busting script on an article",
    doc(
      "<title>News</title>",
      `<article>${PARAGRAPHS}</article><script>if (top !== self) top.location = self.location;</script>`,
    ),
  ],
  [
    "analytics navigating inside a click handler",
    doc(
      "<title>Shop</title>",
      `<main>${PARAGRAPHS}</main><script>document.querySelector('.buy').addEventListener('click', () => { location.href = '/cart'; });</script>`,
    ),
  ],
  [
    "meta refresh without target (auto reload)",
    doc(`<title>Live</title><meta http-equiv="refresh" content="300">`, `<main>${PARAGRAPHS}</main><script>1</script>`),
  ],
  ["static page, no scripts, almost no text", doc("<title>Img</title>", `<img src="/a.png" alt="">`)],
];

describe("needsBrowser", () => {
  it.each(SHELLS)("needs a browser: %s", (_name, html, reason) => {
    const verdict = needsBrowser(html);
    expect(verdict.browser).toBe(true);
    expect(verdict.reason).toMatch(reason);
  });

  it.each(STATIC_PAGES)("static enough: %s", (_name, html) => {
    expect(html.length).toBeGreaterThan(50);
    expect(needsBrowser(html)).toEqual({ browser: false });
  });

  it("reads visible text without head, scripts, styles and noscript", () => {
    const text = roughVisibleText(
      doc(
        "<title>T</title><style>p{}</style>",
        `<p>Hello&nbsp;<b>world</b></p><script>var x = "<p>no</p>";</script><noscript>enable js</noscript><!-- c --><p>bye</p>`,
      ),
    );
    expect(text).toBe("Hello world bye");
  });

  it("stays cheap on megabyte pages (timing printed, not asserted)", () => {
    // Scripts added so the visible-text pass runs (a script-free page is decided without it).
    const article = hugePage(1024).replace("</head>", '<script src="/analytics.js"></script></head>');
    // A 1 MB shell: an empty root and one huge inline bundle.
    const shell = doc(
      "<title>App</title>",
      `<div id="root"></div><script>${"var a=function(){return location.href==='x'?1:2};".repeat(20_000)}</script>`,
    );
    // Worst case for the text scan: a megabyte of markup without any text to stop at.
    const markup = doc(
      "<title>Grid</title>",
      `${'<div class="cell"><span class="icon"></span><i></i></div>'.repeat(16_000)}<script src="/grid.js"></script>`,
    );
    const measure = (html: string): { ms: number; verdict: boolean } => {
      needsBrowser(html); // warm-up: regex compilation and JIT
      const runs: number[] = [];
      let verdict = false;
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        verdict = needsBrowser(html).browser;
        runs.push(performance.now() - t);
      }
      runs.sort((a, b) => a - b);
      return { ms: runs[2] ?? 0, verdict };
    };
    const a = measure(article);
    const s = measure(shell);
    const m = measure(markup);
    const mb = (html: string): string => (html.length / 1e6).toFixed(2);
    console.log(
      `needsBrowser median of 5: article ${mb(article)} MB ${a.ms.toFixed(1)} ms (browser=${a.verdict}); ` +
        `shell ${mb(shell)} MB ${s.ms.toFixed(1)} ms (browser=${s.verdict}); ` +
        `text-free markup ${mb(markup)} MB ${m.ms.toFixed(1)} ms (browser=${m.verdict})`,
    );
    expect(m.verdict).toBe(true);
    expect(a.verdict).toBe(false);
    expect(s.verdict).toBe(true);
  });
});

describe("hasDeclarativeShadowDom", () => {
  it("finds shadow roots declared in the HTML, and nothing else", () => {
    const card = (attr: string) =>
      doc("<title>Card</title>", `<product-card><template ${attr}="open"><p>Inside</p></template></product-card>`);
    expect(hasDeclarativeShadowDom(card("shadowrootmode"))).toBe(true);
    expect(hasDeclarativeShadowDom(card("shadowroot"))).toBe(true);
    expect(hasDeclarativeShadowDom(card("data-shadowrootmode"))).toBe(false);
    expect(hasDeclarativeShadowDom(doc("<title>T</title>", "<template><p>Inert</p></template>"))).toBe(false);
    // Not a script-rendered shell: needsBrowser alone keeps a script-free page on plain HTTP.
    expect(needsBrowser(card("shadowrootmode")).browser).toBe(false);
  });
});
