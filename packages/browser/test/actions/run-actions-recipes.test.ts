import { describe, expect, it } from "vitest";
import { LOAD_MORE_MAX } from "@orbweaver/testkit";
import { runActions } from "../../src/actions/index.ts";
import { ctx } from "./action-fixtures.ts";
import { useActionEnv } from "./use-action-env.ts";

const env = useActionEnv();

const bannerShown = (page: import("playwright-core").Page): Promise<number> => page.locator("#cookie-banner").count();

describe("runActions: tutorial recipes", () => {
  it("cookie banner by description, search form by selector, wait and scroll (tutorial example)", async () => {
    const page = await env.open("/form");
    const result = await runActions(
      page,
      [
        { type: "click", value: "Accept cookies button" },
        { type: "type", selector: "input[name='q']", value: "backpack" },
        { type: "click", selector: "button[type='submit']" },
        { type: "wait", duration: 300 },
        { type: "scroll", to: "80%" },
      ],
      ctx(),
    );
    expect(new URL(page.url()).pathname).toBe("/search");
    expect(new URL(page.url()).searchParams.get("q")).toBe("backpack");
    expect(await page.locator("li.result").allTextContents()).toEqual([
      "Trailblazer 30L Hiking Backpack $39.99",
      "Basecamp Trail Backpack 45L $119.00",
    ]);
    expect(result.log).toHaveLength(5);
    expect(result.log[0]).toContain('button "Accept all"');
    expect(result.log[2]).toContain("navigated to");
    expect(result.forEach).toBeUndefined();
  });

  it('"Accept all button", "the search box" and "Search button" all by description', async () => {
    const page = await env.open("/form");
    await runActions(
      page,
      [
        { type: "click", value: "Accept all button" },
        { type: "type", selector: "the search box", value: "bottle" },
        { type: "click", value: "Search button" },
      ],
      ctx(),
    );
    expect(page.url()).toContain("/search?q=bottle");
    expect(await page.locator("li.result").count()).toBe(1);
  });

  it("check, uncheck and select by description and by value or label", async () => {
    const page = await env.open("/form");
    const box = page.locator("#in-stock");
    await runActions(page, [{ type: "check", value: "In stock only checkbox" }], ctx());
    expect(await box.isChecked()).toBe(true);
    await runActions(page, [{ type: "uncheck", value: "In stock only checkbox" }], ctx());
    expect(await box.isChecked()).toBe(false);
    await runActions(
      page,
      [
        { type: "click", value: "Reject button" },
        { type: "check", selector: "#in-stock" },
        { type: "select", selector: "#category", value: "bottles" },
      ],
      ctx(),
    );
    expect(await page.locator("#category").inputValue()).toBe("bottles");
    await runActions(
      page,
      [
        { type: "select", selector: "Category dropdown", value: "Poles" },
        { type: "click", selector: "button[type='submit']" },
      ],
      ctx(),
    );
    const url = new URL(page.url());
    expect(url.pathname).toBe("/search");
    expect(url.searchParams.get("category")).toBe("poles");
    expect(url.searchParams.get("in_stock")).toBe("1");
  });

  it("select with an unknown option fails clearly, listing the options", async () => {
    const page = await env.open("/form");
    const err = await runActions(page, [{ type: "select", selector: "#category", value: "tents" }], ctx()).catch(
      (e) => e,
    );
    expect(err).toMatchObject({ name: "ActionError", index: 0, type: "select" });
    expect(err.message).toMatch(
      /^Action 0 \(select\): no option "tents" in the dropdown \(options: "All categories", "Backpacks"/,
    );
  });

  it("load more clicked three times by description → all 20 items", async () => {
    const page = await env.open("/load-more");
    const click = { type: "click", value: "Load more button" };
    await runActions(page, [click, click, click], ctx());
    expect(await page.locator("li.item").count()).toBe(LOAD_MORE_MAX);
  });

  it("scroll to 100%, 0% and 50% of the page height", async () => {
    const page = await env.open("/news");
    const max = await page.evaluate(() => document.documentElement.scrollHeight - window.innerHeight);
    expect(max).toBeGreaterThan(200);
    await runActions(page, [{ type: "scroll", to: "100%" }], ctx());
    expect(Math.abs((await page.evaluate(() => window.scrollY)) - max)).toBeLessThanOrEqual(1);
    await runActions(page, [{ type: "scroll", to: "0%" }], ctx());
    expect(await page.evaluate(() => window.scrollY)).toBe(0);
    await runActions(page, [{ type: "scroll", to: " 50 %" }], ctx());
    expect(Math.abs((await page.evaluate(() => window.scrollY)) - max / 2)).toBeLessThanOrEqual(1);
  });

  it("wait pauses for its duration, but never past the deadline", async () => {
    const page = await env.open("/");
    let started = Date.now();
    await runActions(page, [{ type: "wait", duration: 400 }], ctx());
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    started = Date.now();
    const result = await runActions(page, [{ type: "wait", duration: 10_000 }], ctx({ deadline: Date.now() + 300 }));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(result.log[0]).toContain("cut from 10000 ms by the deadline");
    const late = await runActions(page, [{ type: "wait", duration: 10 }], ctx({ deadline: Date.now() - 1 })).catch(
      (e) => e,
    );
    expect(late.message).toBe("Action 0 (wait): the time allowed for browser actions ran out");
  });

  it("XPath selectors: //, (//…)[n] and xpath=", async () => {
    const page = await env.open("/form");
    await runActions(
      page,
      [
        { type: "click", selector: "//button[text()='Accept all']" },
        { type: "type", selector: "(//input[@name='q'])[1]", value: "poles" },
        { type: "select", selector: "xpath=//select[@id='category']", value: "poles" },
        { type: "check", selector: "//input[@type='checkbox']" },
        { type: "click", selector: "//form//button[@type='submit']" },
      ],
      ctx(),
    );
    expect(await bannerShown(page)).toBe(0);
    const url = new URL(page.url());
    expect([url.searchParams.get("q"), url.searchParams.get("category"), url.searchParams.get("in_stock")]).toEqual([
      "poles",
      "poles",
      "1",
    ]);
  });

  it("dialogs opened by the page are dismissed and the run goes on", async () => {
    const page = await env.open("/form");
    await page.evaluate(() => {
      document.getElementById("accept-cookies")?.addEventListener("click", () => window.alert("thanks"));
    });
    await runActions(
      page,
      [
        { type: "click", value: "Accept all button" },
        { type: "wait", duration: 10 },
      ],
      ctx(),
    );
    expect(await bannerShown(page)).toBe(0);
  });
});
