import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFixtureSite } from "../src/index.ts";
import type { FixtureSite } from "../src/index.ts";
import { runInlineScripts } from "./dom-stub.ts";

let site: FixtureSite;
beforeAll(async () => {
  site = await startFixtureSite();
});
afterAll(async () => {
  await site.close();
});

const text = async (path: string, init?: RequestInit): Promise<string> => (await fetch(site.url(path), init)).text();
const withoutScripts = (html: string): string => html.replace(/<script>[\s\S]*?<\/script>/g, "");

describe("fixture site: script-driven pages", () => {
  it("/spa has no static content and renders after ~200ms", async () => {
    const html = await text("/spa");
    const body = withoutScripts(html)
      .replace(/[\s\S]*<body>/, "")
      .replace(/<\/body>[\s\S]*/, "");
    expect(body.replace(/<[^>]+>/g, "").trim()).toBe("");
    expect(html).toContain('<div id="root"></div>');
    const delays: number[] = [];
    const queued: Array<() => void> = [];
    const page = runInlineScripts(
      html,
      { root: "div" },
      {
        setTimeout: ((fn: () => void, ms: number) => {
          delays.push(ms);
          queued.push(fn);
          return 0;
        }) as unknown as typeof setTimeout,
      },
    );
    expect(page.byId("root")?.children).toHaveLength(0);
    expect(delays).toEqual([200]);
    queued.forEach((fn) => fn());
    const [h1, ul] = page.byId("root")?.children ?? [];
    expect(h1?.textContent).toBe("Rendered by script");
    expect(ul?.children.map((li) => li.textContent)).toEqual([1, 2, 3, 4, 5].map((i) => `Rendered item ${i}`));
  });

  it("/load-more shows 5 items and appends 5 per click up to 20", async () => {
    const html = await text("/load-more");
    expect(html.match(/<li class="item">/g)).toHaveLength(5);
    expect(html).toContain('<button type="button" id="load-more">Load more</button>');
    const page = runInlineScripts(html, { items: "ul", "load-more": "button" });
    const list = page.byId("items");
    const button = page.byId("load-more");
    if (!list || !button) throw new Error("stub elements missing");
    // The stub DOM starts empty; mirror the 5 server-rendered items.
    for (let i = 1; i <= 5; i++) list.appendChild(page.create("li")).textContent = `Item ${i}`;
    button.click();
    expect(list.children).toHaveLength(10);
    button.click();
    button.click();
    expect(list.children).toHaveLength(20);
    expect(list.children.at(-1)?.textContent).toBe("Item 20");
    expect(page.byId("load-more")).toBeUndefined();
  });

  it("/form has a search form and a dismissible cookie banner", async () => {
    const html = await text("/form");
    expect(html).toMatch(/<form id="search-form" action="\/search" method="get">/);
    expect(html).toContain('name="q" placeholder="Search products"');
    expect(html).toContain('<button type="submit">Search</button>');
    expect(html).toMatch(/<input type="checkbox" id="in-stock"[^>]*>\s*<label for="in-stock">In stock only<\/label>/);
    expect(html).toMatch(/<select id="category" name="category">[\s\S]*<option value="bottles">Bottles<\/option>/);
    expect(html).toContain('<button type="button" id="accept-cookies">Accept all</button>');
    const page = runInlineScripts(html, {
      "cookie-banner": "div",
      "accept-cookies": "button",
      "reject-cookies": "button",
    });
    page.byId("accept-cookies")?.click();
    expect(page.byId("cookie-banner")).toBeUndefined();
  });

  it("/search lists matching products", async () => {
    const bottle = await text("/search?q=bottle");
    expect(bottle).toContain('1 result for "<span class="query">bottle</span>"');
    expect(bottle).toContain('<a href="/product/2">Summit Insulated Water Bottle</a>');
    const packs = await text("/search?q=backpack");
    expect(packs.match(/<li class="result">/g)).toHaveLength(2);
    const inStock = await text("/search?q=backpack&in_stock=1");
    expect(inStock.match(/<li class="result">/g)).toHaveLength(1);
    expect(await text("/search?q=zzz")).toContain("No products found.");
  });

  it("/subresource embeds the target as img, iframe and fetch", async () => {
    const to = "http://127.0.0.1:9/secret?a=1&b=2";
    const html = await text(`/subresource?to=${encodeURIComponent(to)}`);
    expect(html).toContain('<img id="probe-img" src="http://127.0.0.1:9/secret?a=1&amp;b=2"');
    expect(html).toContain('<iframe id="probe-iframe" src="http://127.0.0.1:9/secret?a=1&amp;b=2"');
    expect(runInlineScripts(html, {}).fetched).toEqual([to]);
  });

  it("/js-redirect sets location.href", async () => {
    const html = await text(`/js-redirect?to=${encodeURIComponent("/news/3")}`);
    expect(runInlineScripts(html, {}).location.href).toBe("/news/3");
  });
});

describe("fixture site: cookies", () => {
  it("echoes cookie names and values", async () => {
    const html = await text("/cookies", {
      headers: { cookie: "session=abc123; theme=dark" },
    });
    expect(html).toContain('<span class="name">session</span>=<span class="value">abc123</span>');
    expect(html).toContain('<span class="name">theme</span>=<span class="value">dark</span>');
    expect(html).toContain("2 cookies");
    expect(await text("/cookies")).toContain("0 cookies");
  });

  it("sets cookies via ?set=", async () => {
    const res = await fetch(site.url("/cookies?set=a=1&set=b=2"));
    expect(res.headers.getSetCookie()).toEqual(["a=1; Path=/", "b=2; Path=/"]);
  });
});
