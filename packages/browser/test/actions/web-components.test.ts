// Browser actions on a site built from web components: every target lives in an open shadow root.
import { describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import {
  COMPONENT_APP_ROWS,
  COMPONENT_PRODUCTS,
  COMPONENT_SHOP_PAGE_SIZE,
  COMPONENT_SHOP_PAGES,
} from "@orbweaver/testkit";
import { runActions } from "../../src/actions/index.ts";
import { ctx } from "./action-fixtures.ts";
import { useActionEnv } from "./use-action-env.ts";

const env = useActionEnv();

const consent = (page: Page): Promise<string | null> => page.locator("body").getAttribute("data-consent");
/** Reads the shadow root of `host` (Playwright's locators pierce it; this checks what the page holds). */
const inShadow = (page: Page, host: string, selector: string, read: "checked" | "text"): Promise<unknown> =>
  page.evaluate(
    ([h, s, r]) => {
      const el = document.querySelector(h)?.shadowRoot?.querySelector(s);
      return r === "checked" ? (el as HTMLInputElement | null)?.checked : el?.textContent;
    },
    [host, selector, read] as const,
  );

describe("plain-English targets inside shadow roots", () => {
  it('clicks "Accept all" in a consent banner rendered by a web component', async () => {
    const page = await env.open("/component-shop");
    const result = await runActions(page, [{ type: "click", value: "Accept all" }], ctx());
    expect(await consent(page)).toBe("accepted");
    // Named with the banner's own prose as context, like a banner in the page itself.
    expect(result.log[0]).toContain('button "Accept all", in "Cookie consent We use cookies');
  });

  it("tells the banner's two buttons apart (Reject all)", async () => {
    const page = await env.open("/component-shop");
    await runActions(page, [{ type: "click", value: "Reject all cookies" }], ctx());
    expect(await consent(page)).toBe("rejected");
  });

  it("types into a labelled search box, ticks a checkbox by its label and submits, all in a shadow root", async () => {
    const page = await env.open("/component-shop");
    await runActions(
      page,
      [
        { type: "click", value: "Accept all" },
        { type: "type", selector: "Search products", value: "kettle" },
        { type: "check", value: "In stock only" },
        { type: "click", value: "Search button" },
      ],
      ctx(),
    );
    // The light DOM holds another element with the input's id: the path to the input did not use it.
    const url = new URL(page.url());
    expect(url.searchParams.get("q")).toBe("kettle");
    expect(url.searchParams.get("stock")).toBe("on");
    expect(await page.locator("#query").textContent()).toBe('Results for "kettle" (in stock only)');
  });

  it("check then uncheck leaves the shadow checkbox unticked", async () => {
    const page = await env.open("/component-shop");
    await runActions(page, [{ type: "check", value: "In stock only checkbox" }], ctx());
    expect(await inShadow(page, "shop-search", "input[name=stock]", "checked")).toBe(true);
    await runActions(page, [{ type: "uncheck", value: "In stock only checkbox" }], ctx());
    expect(await inShadow(page, "shop-search", "input[name=stock]", "checked")).toBe(false);
  });
});

describe("forEach over web components", () => {
  it('"product tiles" in plain English, paged by a "Next page" link in another component → every product', async () => {
    const page = await env.open("/component-shop");
    const result = await runActions(
      page,
      [{ type: "forEach", observe: "product tiles", mode: "inline", pagination: { nextSelector: "Next page link" } }],
      ctx(),
    );
    const fe = result.forEach!;
    expect(fe.items.map((i) => i.text)).toEqual(
      COMPONENT_PRODUCTS.map((p) => expect.stringContaining(`${p.name} ${p.price}`)),
    );
    expect(fe.items[0]?.html).toMatch(/^<li class="tile"><h3>/);
    expect(fe.pagesVisited).toBe(COMPONENT_SHOP_PAGES);
    expect(fe.stoppedBy).toBe("noNextControl");
    expect(new URL(fe.items.at(-1)?.url ?? "").searchParams.get("page")).toBe(String(COMPONENT_SHOP_PAGES));
  });

  it("click mode: each tile's Details button opens a sheet in the shadow root, captured and closed with Escape", async () => {
    const page = await env.open("/component-shop");
    const result = await runActions(page, [{ type: "forEach", observe: "product tiles", mode: "click" }], ctx());
    const fe = result.forEach!;
    const shown = COMPONENT_PRODUCTS.slice(0, COMPONENT_SHOP_PAGE_SIZE);
    expect(fe.items.map((i) => i.error)).toEqual(shown.map(() => undefined));
    // The sheet that appeared (a fixed layer), not the tile: its text is the product's detail.
    expect(fe.items.map((i) => i.text)).toEqual(shown.map((p) => expect.stringContaining(p.detail)));
    expect(fe.items[0]?.html).toMatch(/^<div role="dialog" class="sheet"/);
    expect(await inShadow(page, "product-grid", ".sheet", "text")).toContain(shown.at(-1)?.detail);
    expect(await page.locator("product-grid .sheet").isHidden()).toBe(true);
  });

  it("closes the sheet with its × button (found in the shadow root) when Escape does nothing", async () => {
    const page = await env.open("/component-shop?escape=0");
    const result = await runActions(
      page,
      [{ type: "forEach", selector: "li.tile", mode: "click", captureSelector: ".sheet" }],
      ctx(),
    );
    const texts = result.forEach!.items.map((i) => i.text);
    expect(texts).toEqual(
      COMPONENT_PRODUCTS.slice(0, COMPONENT_SHOP_PAGE_SIZE).map((p) => expect.stringContaining(p.detail)),
    );
    expect(result.log.join("\n")).not.toContain("did not close");
    expect(await page.locator("product-grid .sheet").isHidden()).toBe(true);
  });
});

describe("scroll", () => {
  it("scrolls the list of an app layout whose scroller is inside a shadow root, which loads more rows", async () => {
    const page = await env.open("/component-app");
    const result = await runActions(page, [{ type: "scroll", to: "100%" }], ctx());
    expect(result.log[0]).toContain("app-content");
    const rows = await page.locator("app-content p.row").count();
    expect(rows).toBe(2 * COMPONENT_APP_ROWS);
  });
});
