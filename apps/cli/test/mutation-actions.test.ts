import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scrapeAndWait, type PollBody } from "./helpers/http.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";
import { page, prose, servePages, type PageServer } from "./helpers/prose-page.ts";

/*
 * Gaps found by a mutation audit of browser actions (forEach modes and pagination, type, check,
 * select, plain-English and selector targets, action errors). Each test asserts what a caller sees
 * through the real gateway, worker and Chromium, on pages served here. No model is configured, so
 * a target the deterministic matcher cannot settle fails the URL.
 */

const PROSE = prose(4);

const ROUTES: Record<string, (q: URLSearchParams) => string> = {
  // Click mode over questions, one of them a hidden template copy (as listings keep for their scripts).
  "/faq": () =>
    page(
      "FAQ",
      `<main><h1>Questions</h1><ul>
        <li class="q" style="display:none">Template question</li>
        ${[1, 2, 3]
          .map(
            (n) =>
              `<li class="q" onclick="document.getElementById('a${n}').hidden=false">Question ${n}</li><div id="a${n}" hidden><p>Answer number ${n} explained at length.</p></div>`,
          )
          .join("")}
      </ul>${PROSE}</main>`,
    ),
  // Three listing pages, "Next" preceded by a hidden mobile copy; on the last one "Next" is a link to "#"
  // in a Bootstrap-style disabled item.
  "/pages": (q) => {
    const n = Number(q.get("p") ?? "1");
    const rows = [1, 2].map((i) => `<li class="row">Row ${n}.${i}</li>`).join("");
    const next =
      n < 3
        ? `<li class="page-item mobile" style="display:none"><a class="next" href="/pages?p=${n + 1}">Next</a></li>
           <li class="page-item"><a class="next" href="/pages?p=${n + 1}">Next</a></li>`
        : `<li class="page-item disabled"><a class="next" href="#" tabindex="-1">Next</a></li>`;
    return page(
      `Page ${n}`,
      `<main><h1>Listing page ${n}</h1><ul>${rows}</ul><nav><ul class="pagination">${next}</ul></nav>${PROSE}</main>`,
    );
  },
  // A listing whose second entry leads to a page that answers 404.
  "/list-gone": () =>
    page(
      "Listing with a gone item",
      `<main><h1>Listing</h1>
        <div class="entry"><a href="/items/1/">Item one</a></div>
        <div class="entry"><a href="/gone/">Item gone</a></div>${PROSE}</main>`,
    ),
  // A pre-filled filter box that reacts to keyup only.
  "/filter": () =>
    page(
      "Fruit",
      `<main><h1>Fruit</h1><input id="f" aria-label="Filter fruit" value="zzz">
      <p id="shown">Shown: all</p>${PROSE}</main>
      <script>
        const fruit = ["Apple", "Banana", "Cherry"];
        document.getElementById("f").addEventListener("keyup", (e) => {
          const v = e.target.value.toLowerCase();
          const hits = fruit.filter((f) => f.toLowerCase().includes(v));
          document.getElementById("shown").textContent = "Shown: " + (hits.join(", ") || "none");
        });
      </script>`,
    ),
  // A custom-styled checkbox (the input hidden) that starts ticked.
  "/consent": () =>
    page(
      "Newsletter",
      `<main><h1>Newsletter</h1><label><input type="checkbox" id="news" checked style="display:none"
        onchange="document.getElementById('state').textContent = 'Newsletter: ' + (this.checked ? 'on' : 'off')">
        <span class="fake-box"></span> Newsletter</label><p id="state">Newsletter: on</p>${PROSE}</main>`,
    ),
  // A dropdown named by its wrapper.
  "/sort": () =>
    page(
      "Sort",
      `<main><h1>Products</h1><div class="sort-by"><label>Sort <select name="sort"
        onchange="document.getElementById('order').textContent = 'Sorted by: ' + this.value">
        <option value="relevance">Relevance</option><option value="price">Price</option>
        <option value="cheapest">Price: low to high</option></select></label></div>
        <p id="order">Sorted by: relevance</p>${PROSE}</main>`,
    ),
  // A consent widget's copy of the button in a hidden iframe next to the page's own button.
  "/hidden-frame": () =>
    page(
      "Consent",
      `<main><h1>Consent</h1><iframe style="visibility:hidden" srcdoc="<button>Accept all</button>"></iframe>
        <button onclick="document.getElementById('c').textContent='Consent: given'">Accept all</button>
        <p id="c">Consent: pending</p>${PROSE}</main>`,
    ),
  // A hidden mobile copy of the button before the visible one.
  "/buy": () =>
    page(
      "Buy",
      `<main><h1>Buy</h1><button class="buy" style="display:none">Buy</button>
        <button class="buy" onclick="document.getElementById('b').textContent='Basket: 1 item'">Buy</button>
        <p id="b">Basket: empty</p>${PROSE}</main>`,
    ),
  "/disabled": () => page("Disabled", `<main><h1>Disabled</h1><button id="go" disabled>Go</button>${PROSE}</main>`),
  // A listing whose second entry has no link and whose fourth links within the page; detail pages link relatively.
  "/list": () =>
    page(
      "Catalogue",
      `<main><h1>Catalogue</h1>
        <div class="entry"><a href="/items/1/">Item one</a></div>
        <div class="entry"><span>Item two (no page)</span></div>
        <div class="entry"><a href="/items/3/">Item three</a></div>
        <div class="entry"><a href="#reviews">Item four (reviews below)</a></div>${PROSE}<h2 id="reviews">Reviews</h2></main>`,
    ),
  // Cards whose title is the forEach target and the card the capture.
  "/cards": () =>
    page(
      "Cards",
      `<main><h1>Cards</h1>${[1, 2]
        .map((n) => `<article class="card"><h2 class="title">Card ${n}</h2><p>Price ${n}0 euros</p></article>`)
        .join("")}${PROSE}</main>`,
    ),
};

let server: PageServer;
let origin = "";
let stack: TestStack;
let key: string;

beforeAll(async () => {
  server = await servePages((u) => {
    const item = /^\/items\/(\d+)\/$/.exec(u.pathname);
    if (item) {
      const reveal = `document.getElementById('specs').textContent = 'Weight of item ${item[1]}: 4 kg'`;
      return page(
        `Item ${item[1]}`,
        `<main><h1>Item ${item[1]} details</h1><a href="specs">Specs</a>
            <button onclick="${reveal}">Show weight</button><p id="specs"></p>${PROSE}</main>`,
      );
    }
    return ROUTES[u.pathname]?.(u.searchParams);
  });
  origin = server.origin;
  stack = await startTestStack({ env: { ACTION_TIMEOUT_MS: "4000" } });
  key = (await stack.createKey(1000)).key;
});
afterAll(async () => {
  await stack?.stop();
  await server?.close();
});

const scrape = (path: string, actions: unknown[]): Promise<PollBody> =>
  scrapeAndWait(stack.api, key, { urls: [{ url: `${origin}${path}`, actions }] }, 90_000);

/** The one URL's result, expected to be a success. */
function succeeded(final: PollBody): string {
  expect(final.status, JSON.stringify(final)).toBe("completed");
  const data = final.result!.data[0]!;
  expect(data.success, data.error ?? "").toBe(true);
  return data.markdownContent;
}

const sections = (md: string): string[] => md.match(/^## Item \d+$/gm) ?? [];

describe("forEach", () => {
  it("click mode only clicks the elements on screen, not a hidden template copy", async () => {
    const md = succeeded(
      await scrape("/faq", [{ type: "forEach", selector: "li.q", mode: "click", waitAfterClick: 200 }]),
    );
    expect(sections(md)).toEqual(["## Item 1", "## Item 2", "## Item 3"]);
    for (const n of [1, 2, 3]) expect(md).toContain(`Answer number ${n} explained`);
    expect(md).not.toContain("_Error");
  });

  it('pagination clicks the visible "Next" and stops at a disabled one (href="#") without collecting the last page twice', async () => {
    const md = succeeded(
      await scrape("/pages?p=1", [
        {
          type: "forEach",
          selector: "li.row",
          mode: "inline",
          waitAfterClick: 0,
          pagination: { nextSelector: "a.next", maxPages: 5 },
        },
      ]),
    );
    expect(sections(md)).toHaveLength(6);
    for (const row of ["1.1", "1.2", "2.1", "2.2", "3.1", "3.2"]) expect(md.split(`Row ${row}`)).toHaveLength(2);
  });

  it("navigate mode runs the per-item actions on each item's own page", async () => {
    const md = succeeded(
      await scrape("/list", [
        {
          type: "forEach",
          selector: "div.entry",
          mode: "navigate",
          maxItems: 1,
          waitAfterClick: 0,
          actions: [{ type: "click", value: "Show weight button" }],
        },
      ]),
    );
    expect(sections(md)).toEqual(["## Item 1"]);
    expect(md).toContain("Weight of item 1: 4 kg");
  });

  it("inline captureSelector may name the container around each element (the card around its title)", async () => {
    const md = succeeded(
      await scrape("/cards", [
        { type: "forEach", selector: "h2.title", mode: "inline", captureSelector: "article.card" },
      ]),
    );
    const [, first = "", second = ""] = md.split(/^## Item \d+$/m);
    expect(first).toContain("Card 1");
    expect(first).toContain("Price 10 euros");
    expect(second).toContain("Card 2");
    expect(second).toContain("Price 20 euros");
  });

  it("navigate mode: relative links resolve against each item's page; items without a link to follow say why", async () => {
    const md = succeeded(
      await scrape("/list", [{ type: "forEach", selector: "div.entry", mode: "navigate", waitAfterClick: 0 }]),
    );
    expect(sections(md)).toEqual(["## Item 1", "## Item 2", "## Item 3", "## Item 4"]);
    expect(md).toContain("Item 1 details");
    expect(md).toContain(`(${origin}/items/1/specs)`);
    expect(md).toContain(`(${origin}/items/3/specs)`);
    expect(md).toMatch(/## Item 2\n\n_Error: the element has no link to follow_/);
    // A same-page anchor leads nowhere a new page could load: no copy of the listing as an item.
    expect(md).toMatch(/## Item 4\n\n_Error: the element has no link to follow_$/);
    expect(md).not.toContain("Catalogue");
  });

  it("navigate mode: an item whose page answers 404 keeps what it showed and says so under it", async () => {
    const md = succeeded(
      await scrape("/list-gone", [{ type: "forEach", selector: "div.entry", mode: "navigate", waitAfterClick: 0 }]),
    );
    const [, first = "", second = ""] = md.split(/^## Item \d+$/m);
    expect(first).toContain("Item 1 details");
    expect(first).not.toContain("_Error");
    expect(second).toContain("Not found");
    expect(second.trim()).toMatch(/\n\n_Error: HTTP 404 from \S*\/gone\/_$/);
  });
});

describe("single-step actions", () => {
  it("type clears what the field held before typing key by key", async () => {
    const md = succeeded(await scrape("/filter", [{ type: "type", selector: "#f", value: "ban" }]));
    expect(md).toContain("Shown: Banana");
  });

  it("check leaves an already ticked custom-styled checkbox ticked", async () => {
    const md = succeeded(await scrape("/consent", [{ type: "check", selector: "#news" }]));
    expect(md).toContain("Newsletter: on");
    const off = succeeded(await scrape("/consent", [{ type: "uncheck", selector: "#news" }]));
    expect(off).toContain("Newsletter: off");
  });

  it("select works on a selector naming the dropdown's wrapper, and on a label in other letter case", async () => {
    const md = succeeded(await scrape("/sort", [{ type: "select", selector: ".sort-by", value: "Price" }]));
    expect(md).toContain("Sorted by: price");
    // An option named by its label in other letter case.
    const low = succeeded(await scrape("/sort", [{ type: "select", selector: "select", value: "price: LOW to high" }]));
    expect(low).toContain("Sorted by: cheapest");
  });

  it("a selector matching a hidden copy first clicks the visible one", async () => {
    const md = succeeded(await scrape("/buy", [{ type: "click", selector: "button.buy" }]));
    expect(md).toContain("Basket: 1 item");
  });
});

describe("targets in plain English", () => {
  it("a button in a hidden iframe does not compete with the page's own", async () => {
    const md = succeeded(await scrape("/hidden-frame", [{ type: "click", value: "Accept all button" }]));
    expect(md).toContain("Consent: given");
  });
});

describe("action errors", () => {
  it("a control that never becomes usable fails the URL with the reason", async () => {
    const final = await scrape("/disabled", [{ type: "click", selector: "#go" }]);
    expect(final.status).toBe("failed");
    expect(final.error).toContain(`${origin}/disabled: Action 0 (click): timed out after 4000 ms (`);
    expect(final.error).toMatch(/element is not enabled/);
    // Playwright's call log may be coloured (FORCE_COLOR, a terminal): the API gets plain text.
    expect(final.error).toContain("(element is not enabled)");
    expect(final.error).not.toContain("\u001b");
  });
});
