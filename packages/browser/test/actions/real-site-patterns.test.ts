// Browser actions on patterns real sites use (fixture pages under /edge/): pages that react late,
// listings that grow or rewrite the URL, names shared by a box and a button, per-item controls,
// new tabs, non-Latin text, icon buttons and iframes.
import { describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { EDGE_FEED_POSTS, EDGE_FORUM_PAGES, EDGE_FRUITS, EDGE_MORE_ITEMS } from "@orbweaver/testkit";
import { runActions } from "../../src/actions/index.ts";
import { guardContext } from "../../src/open-page.ts";
import { ctx } from "./action-fixtures.ts";
import { useActionEnv } from "./use-action-env.ts";

const env = useActionEnv();

const texts = (page: Page, selector: string): Promise<string[]> => page.locator(selector).allTextContents();
const range = (from: number, to: number, label: string): string[] =>
  Array.from({ length: to - from + 1 }, (_, i) => `${label} ${from + i}`);

describe("waiting for the page to react after an action", () => {
  it("three scrolls to the end of a feed that fetches on scroll (600 ms API) load every post", async () => {
    const page = await env.open("/edge/feed");
    const scroll = { type: "scroll", to: "100%" };
    await runActions(page, [scroll, scroll, scroll], ctx());
    expect(await texts(page, "article.post")).toEqual(range(1, EDGE_FEED_POSTS, "Post"));
  });

  it('"Load more" whose handler waits 200 ms: the new items are there when the click ends', async () => {
    const page = await env.open("/edge/more");
    // An earlier action on the page: its quiet watch is in place, the page long quiet.
    await runActions(page, [{ type: "scroll", to: "0%" }], ctx());
    await runActions(page, [{ type: "click", value: "Load more" }], ctx());
    expect(await texts(page, "li.item")).toEqual(range(1, 10, "Item"));
    const click = { type: "click", value: "Load more" };
    await runActions(page, [click, click], ctx());
    expect(await texts(page, "li.item")).toEqual(range(1, EDGE_MORE_ITEMS, "Item"));
  });

  it("a search whose button fetches results 300 ms after the click: the results are there when actions end", async () => {
    const page = await env.open("/edge/search");
    const result = await runActions(
      page,
      [
        { type: "type", selector: "Search", value: "tents" },
        { type: "click", value: "Search" },
      ],
      ctx(),
    );
    // The box takes the text, the button the click, though both are called "Search".
    expect(result.log[0]).toContain('"Search" → textbox');
    expect(result.log[1]).toContain('"Search" → button');
    expect(await texts(page, "li.result")).toEqual(["tents 1", "tents 2", "tents 3"]);
  });

  it("a cookie banner that appears 3 s after load is still found by description", async () => {
    const page = await env.open("/edge/late-banner?after=3000");
    await runActions(page, [{ type: "click", value: "Accept cookies" }], ctx({ actionTimeoutMs: 10_000 }));
    expect(await page.locator("body").getAttribute("data-consent")).toBe("accepted");
  });
});

describe("forEach on listings", () => {
  it('"Load more" that rewrites the URL (replaceState): every item once, in order', async () => {
    const page = await env.open("/edge/more?url=replace");
    const result = await runActions(
      page,
      [
        {
          type: "forEach",
          selector: "li.item",
          mode: "inline",
          pagination: { nextSelector: "Load more button", maxPages: 10 },
        },
      ],
      ctx(),
    );
    expect(result.forEach?.items.map((i) => i.text)).toEqual(range(1, EDGE_MORE_ITEMS, "Item"));
    expect(result.forEach?.stoppedBy).toBe("noNextControl");
  });

  it("AJAX pagination whose pages all start with the same pinned topic goes through every page", async () => {
    const page = await env.open("/edge/forum");
    const result = await runActions(
      page,
      [{ type: "forEach", selector: "li.topic", mode: "inline", pagination: { nextSelector: "Next page button" } }],
      ctx(),
    );
    const topics = result.forEach?.items.map((i) => i.text) ?? [];
    expect(topics.filter((t) => t.startsWith("Pinned"))).toHaveLength(EDGE_FORUM_PAGES);
    expect(topics.filter((t) => !t.startsWith("Pinned"))).toEqual(range(1, 4 * EDGE_FORUM_PAGES, "Topic"));
    expect(result.forEach?.pagesVisited).toBe(EDGE_FORUM_PAGES);
    expect(result.forEach?.stoppedBy).toBe("noNextControl");
  });

  it('pagination by link text ending in an arrow ("Next >")', async () => {
    const page = await env.open("/edge/pages");
    const result = await runActions(
      page,
      [{ type: "forEach", selector: "li.entry", mode: "inline", pagination: { nextSelector: "Next >" } }],
      ctx(),
    );
    expect(result.forEach?.items.map((i) => i.text)).toEqual(range(1, 9, "Entry"));
  });

  it("nested actions act on their own item: each review's own Read more, by selector and by description", async () => {
    for (const click of [{ selector: "button.more" }, { value: "Read more" }]) {
      const page = await env.open("/edge/reviews");
      const result = await runActions(
        page,
        [{ type: "forEach", selector: "div.review", mode: "inline", actions: [{ type: "click", ...click }] }],
        ctx(),
      );
      const items = result.forEach?.items ?? [];
      expect(items.map((i) => i.error)).toEqual([undefined, undefined, undefined]);
      // innerText leaves hidden text out: each item shows its own full text.
      expect(items.map((i) => i.text)).toEqual([1, 2, 3].map((n) => expect.stringContaining(`Review ${n} full text`)));
      expect(result.log.filter((l) => l.includes("in the item"))).toHaveLength(3);
    }
  });

  it("click mode on links that open a new tab captures each tab's page and closes it", async () => {
    // The worker's contexts close pop-ups (guardContext): the tab a click item waits for is kept.
    const context = await env.browser.newContext();
    try {
      guardContext(context);
      const page = await context.newPage();
      await page.goto(env.site.url("/edge/jobs"));
      const result = await runActions(page, [{ type: "forEach", selector: "div.job", mode: "click" }], ctx());
      const items = result.forEach?.items ?? [];
      expect(items.map((i) => i.text)).toEqual([1, 2, 3].map((n) => expect.stringContaining(`Job ${n} details`)));
      expect(items.map((i) => new URL(i.url).search)).toEqual(["?n=1", "?n=2", "?n=3"]);
      expect(context.pages()).toHaveLength(1);
    } finally {
      await context.close();
    }
  });
});

describe("second look (a review of the above)", () => {
  it("a nested action's exact match in a dialog beats a weaker one in the item (Save, not Save for later)", async () => {
    const page = await env.open("/edge/cart");
    const result = await runActions(
      page,
      [
        {
          type: "forEach",
          selector: "div.row",
          mode: "inline",
          actions: [
            { type: "click", value: "Edit" },
            { type: "click", value: "Save" },
          ],
        },
      ],
      ctx(),
    );
    expect(result.forEach?.items.map((i) => i.error)).toEqual([undefined, undefined, undefined]);
    expect(await texts(page, "#saved li")).toEqual(["Row 1 saved", "Row 2 saved", "Row 3 saved"]);
    expect(await page.locator("[data-later]").count()).toBe(0);
  });

  it("a click that navigates and opens a pop-under leaves no tab open", async () => {
    const context = await env.browser.newContext();
    try {
      guardContext(context);
      const page = await context.newPage();
      await page.goto(env.site.url("/edge/popnav"));
      const result = await runActions(page, [{ type: "forEach", selector: "div.row", mode: "click" }], ctx());
      expect(result.forEach?.items.map((i) => i.text)).toEqual(
        [1, 2, 3].map((n) => expect.stringContaining(`Entry ${n}`)),
      );
      expect(context.pages().map((p) => new URL(p.url()).pathname)).toEqual(["/edge/popnav"]);
    } finally {
      await context.close();
    }
  });

  it("a page polling in the background every 200 ms still goes quiet after a click", async () => {
    const page = await env.open("/edge/polling");
    const result = await runActions(page, [{ type: "click", selector: "#go" }], ctx());
    expect(await page.locator("#out").textContent()).toBe("clicked");
    expect(result.log[0]).not.toContain("still busy");
  });

  it('tiles holding only an image: "next" pages through the gallery', async () => {
    const page = await env.open("/edge/gallery");
    const result = await runActions(
      page,
      [{ type: "forEach", selector: "div.tile", mode: "inline", pagination: { nextSelector: "a.next" } }],
      ctx(),
    );
    expect(result.forEach?.items).toHaveLength(9);
    expect(result.forEach?.pagesVisited).toBe(3);
    expect(result.forEach?.items.map((i) => new URL(i.url).searchParams.get("p"))).toEqual(
      [null, "2", "3"].flatMap((p) => [p, p, p]),
    );
  });

  it("typing ends with the value asked for when a field re-renders under the keys or a mask keeps its prefix", async () => {
    const page = await env.open("/edge/masks");
    await runActions(
      page,
      [
        { type: "type", selector: "#remount", value: "tents" },
        { type: "type", selector: "Phone", value: "+1 5550100" },
      ],
      ctx(),
    );
    expect(await page.locator("#remount").inputValue()).toBe("tents");
    expect(await page.locator("#phone").inputValue()).toBe("+1 5550100");
  });

  it("a selector the page renders 800 ms after load is taken from the page, not from an iframe widget", async () => {
    const page = await env.open("/edge/late-form");
    const result = await runActions(page, [{ type: "click", selector: "button[type=submit]" }], ctx());
    expect(await page.locator("body").getAttribute("data-c")).toBe("page");
    expect(result.log[0]).not.toContain("in the frame");
  });

  it('an emoji before "Save" still makes it the exact match', async () => {
    const page = await env.open("/edge/names");
    await runActions(page, [{ type: "click", value: "Save" }], ctx());
    expect(await page.locator("body").getAttribute("data-clicked")).toBe("save");
  });

  it('"Option B" in selector is words, not CSS', async () => {
    const page = await env.open("/edge/names");
    await runActions(page, [{ type: "check", selector: "Option B" }], ctx());
    expect(await page.locator("input[value=b]").isChecked()).toBe(true);
  });

  it("a shadow root's button and the host's slotted light button at the same position are told apart", async () => {
    const page = await env.open("/edge/names");
    await runActions(page, [{ type: "click", value: "Close panel" }], ctx());
    expect(await page.locator("body").getAttribute("data-clicked")).toBe("close");
    await runActions(page, [{ type: "click", value: "Light action" }], ctx());
    expect(await page.locator("body").getAttribute("data-clicked")).toBe("light");
  });
});

describe("naming targets", () => {
  it("a selector made only of tag names (ul li a) is a selector", async () => {
    const page = await env.open("/edge/pages");
    await runActions(page, [{ type: "click", selector: "ul li a" }], ctx());
    expect(new URL(page.url()).pathname).toBe("/edge/entry");
  });

  it("descriptions in Russian and Japanese match their buttons", async () => {
    const page = await env.open("/edge/intl");
    await runActions(page, [{ type: "click", value: "Принять все" }], ctx());
    expect(await page.locator("body").getAttribute("data-choice")).toBe("ru-accept");
    await runActions(page, [{ type: "click", selector: "拒否する" }], ctx());
    expect(await page.locator("body").getAttribute("data-choice")).toBe("ja-reject");
  });

  it("an icon button named only by its SVG title", async () => {
    const page = await env.open("/edge/icons");
    await runActions(page, [{ type: "click", value: "Search button" }], ctx());
    expect(await page.locator("body").getAttribute("data-clicked")).toBe("search");
  });

  it("a cookie banner after 2,000 links (more elements than are named) is found", async () => {
    const page = await env.open("/edge/many-links?n=2000");
    await runActions(page, [{ type: "click", value: "Accept cookies" }], ctx());
    expect(await page.locator("body").getAttribute("data-consent")).toBe("accepted");
  });

  it("a CSS selector for a button inside an iframe", async () => {
    const page = await env.open("/edge/frame");
    await runActions(page, [{ type: "click", selector: "#acc" }], ctx());
    expect(await page.locator("body").getAttribute("data-consent")).toBe("accepted");
  });

  it("type presses keys, so a filter listening for keyup reacts", async () => {
    const page = await env.open("/edge/filter");
    await runActions(page, [{ type: "type", selector: "Filter fruit", value: "ban" }], ctx());
    expect(await page.locator("li.fruit:visible").allTextContents()).toEqual([EDGE_FRUITS[1]]);
    expect(await page.locator("#filter").inputValue()).toBe("ban");
  });
});
