import { describe, expect, it } from "vitest";
import { FAQ, TEAM } from "../../../testkit/src/fixture/interactive-pages.ts";
import { NEWS_PAGE_SIZE, newsArticle } from "@orbweaver/testkit";
import { ActionError, runActions, type ElementChooser, type ForEachResult } from "../../src/actions/index.ts";
import { ctx } from "./action-fixtures.ts";
import { useActionEnv } from "./use-action-env.ts";

const env = useActionEnv();

const titleOf = (n: number): string => newsArticle(n)?.title ?? `missing article ${n}`;

async function forEachOn(path: string, action: Record<string, unknown>, extra = {}): Promise<ForEachResult> {
  const page = await env.open(path);
  const result = await runActions(page, [{ type: "forEach", ...action }], ctx(extra));
  if (!result.forEach) throw new Error("no forEach result");
  return result.forEach;
}

describe("forEach inline", () => {
  it('"news stories" in plain English with "Next page link" pagination → all 36 stories', async () => {
    const fe = await forEachOn("/news", {
      observe: "news stories",
      mode: "inline",
      itemPrompt: "Extract the headline",
      pagination: { nextSelector: "Next page link", maxPages: 2 },
    });
    expect(fe.items).toHaveLength(3 * NEWS_PAGE_SIZE);
    expect(fe.pagesVisited).toBe(3);
    expect(fe.itemPrompt).toBe("Extract the headline");
    expect(fe.stoppedBy).toBe("maxPages");
    fe.items.forEach((item, i) => {
      expect(item.index).toBe(i);
      expect(item.html).toMatch(/^<article class="story">/);
      expect(item.text).toContain(titleOf(i + 1));
      expect(item.error).toBeUndefined();
    });
    expect(new URL(fe.items[0]?.url ?? "").search).toBe("");
    expect(new URL(fe.items[35]?.url ?? "").search).toBe("?page=3");
  });

  it('on the last page "Next page link" finds no control (and never takes "Previous page")', async () => {
    const fe = await forEachOn("/news", {
      observe: "news stories",
      mode: "inline",
      pagination: { nextSelector: "Next page link" }, // default maxPages 5
    });
    expect(fe.items).toHaveLength(3 * NEWS_PAGE_SIZE);
    expect(fe.pagesVisited).toBe(3);
    expect(fe.stoppedBy).toBe("noNextControl");
  });

  it("maxItems counts across pages: 15 = 12 on page 1 + 3 on page 2", async () => {
    const fe = await forEachOn("/news", {
      value: "news stories", // the tutorial's spelling (D11)
      mode: "inline",
      maxItems: 15,
      pagination: { nextSelector: "Next page link", maxPages: 2 },
    });
    expect(fe.items.map((i) => i.text.split(" ").slice(0, 2).join(" "))).toHaveLength(15);
    expect(fe.items[14]?.text).toContain(titleOf(15));
    expect(fe.pagesVisited).toBe(2);
    expect(fe.stoppedBy).toBe("maxItems");
  });

  it("maxPages is the number of additional pages (D12); CSS nextSelector", async () => {
    const fe = await forEachOn("/news", {
      selector: "article.story",
      mode: "inline",
      captureSelector: "h2",
      pagination: { nextSelector: "a.next", maxPages: 1 },
    });
    expect(fe.items).toHaveLength(2 * NEWS_PAGE_SIZE);
    expect(fe.stoppedBy).toBe("maxPages");
    expect(fe.items[13]?.html).toBe(`<h2><a href="/news/14">${titleOf(14)}</a></h2>`);
  });

  it("observe wins over value", async () => {
    const fe = await forEachOn("/load-more", { observe: "items", value: "news stories", mode: "inline" });
    expect(fe.items.map((i) => i.text)).toEqual(["Item 1", "Item 2", "Item 3", "Item 4", "Item 5"]);
  });

  it('a "Load more" control as pagination continues after the items already done', async () => {
    const fe = await forEachOn("/load-more", {
      selector: "li.item",
      mode: "inline",
      pagination: { nextSelector: "Load more button", maxPages: 10 },
    });
    expect(fe.items.map((i) => i.text)).toEqual(Array.from({ length: 20 }, (_, i) => `Item ${i + 1}`));
    expect(fe.stoppedBy).toBe("noNextControl");
  });

  it("an unmatched plain-English group fails the action; the chooser may pick a group", async () => {
    const page = await env.open("/news");
    const err = await runActions(page, [{ type: "forEach", observe: "job openings", mode: "inline" }], ctx()).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(ActionError);
    expect(err.message).toMatch(/^Action 0 \(forEach\): no group of repeating elements matches "job openings"/);
    const calls: string[][] = [];
    const chooser: ElementChooser = async (_d, candidates) => {
      calls.push(candidates);
      return candidates.findIndex((c) => c.includes('class="story"'));
    };
    const result = await runActions(
      page,
      [{ type: "forEach", observe: "job openings", mode: "inline" }],
      ctx({ chooseElement: chooser }),
    );
    expect(calls[0]?.some((c) => c.startsWith('12 × <article class="story">'))).toBe(true);
    expect(result.forEach?.items).toHaveLength(NEWS_PAGE_SIZE);
  });
});

describe("forEach navigate", () => {
  it("follows each article.story link in a new page and captures the detail page", async () => {
    const page = await env.open("/news");
    const result = await runActions(
      page,
      [
        {
          type: "forEach",
          selector: "article.story",
          mode: "navigate",
          captureSelector: "article.news-article",
          waitAfterClick: 500,
        },
      ],
      ctx(),
    );
    const items = result.forEach?.items ?? [];
    expect(items).toHaveLength(NEWS_PAGE_SIZE);
    items.forEach((item, i) => {
      expect(item.url).toBe(env.site.url(`/news/${i + 1}`));
      expect(item.html).toMatch(/^<article class="news-article">/);
      expect(item.html).toContain(`<h1 class="headline">${titleOf(i + 1)}</h1>`);
    });
    expect(page.context().pages()).toHaveLength(1); // detail pages closed
    expect(page.url()).toBe(env.site.url("/news"));
  });

  it("plain English + pagination + nested per-item actions; the whole body without captureSelector", async () => {
    const fe = await forEachOn("/news", {
      observe: "Find all news story links",
      mode: "navigate",
      maxItems: 14,
      waitAfterClick: 0,
      actions: [{ type: "scroll", to: "100%" }],
      pagination: { nextSelector: "Next page link" },
    });
    expect(fe.items).toHaveLength(14);
    expect(fe.items[13]?.url).toBe(env.site.url("/news/14"));
    expect(fe.items[13]?.html).toMatch(/^<body>/);
    expect(fe.items[13]?.text).toContain(titleOf(14));
  });

  it("an item without a link or with a broken one gets an error, the rest go on", async () => {
    const page = await env.open("/news");
    await page.evaluate(() => {
      const stories = document.querySelectorAll("article.story");
      stories[1]?.querySelector("a")?.removeAttribute("href");
      stories[2]?.querySelector("a")?.setAttribute("href", "/news/999");
    });
    const result = await runActions(
      page,
      [{ type: "forEach", selector: "article.story", mode: "navigate", maxItems: 4, waitAfterClick: 0 }],
      ctx(),
    );
    const items = result.forEach?.items ?? [];
    expect(items.map((i) => i.error)).toEqual([
      undefined,
      "the element has no link to follow",
      expect.stringMatching(/^HTTP 404/),
      undefined,
    ]);
  });
  it("a page that subverts the in-page link check still gets nothing but web addresses opened", async () => {
    // The page rewrites what the link reader relies on (RegExp test) and points its stories at local
    // files and browser pages: a driver-started navigation could load those where the page cannot.
    const page = await env.open("/news");
    await page.evaluate(() => {
      RegExp.prototype.test = () => true;
      const targets = ["file:///etc/hostname", "file:///proc/self/environ", "view-source:file:///etc/passwd"];
      document.querySelectorAll("article.story").forEach((story, i) => {
        story.querySelector("a")?.setAttribute("href", targets[i % targets.length] ?? "");
      });
    });
    const result = await runActions(
      page,
      [{ type: "forEach", selector: "article.story", mode: "navigate", maxItems: 3, waitAfterClick: 0 }],
      ctx(),
    );
    const items = result.forEach?.items ?? [];
    expect(items.map((i) => i.error)).toEqual(Array(3).fill("the element's link is not an http(s) address"));
    expect(items.every((i) => i.html === "" && i.text === "")).toBe(true);
    expect(
      page
        .context()
        .pages()
        .map((p) => p.url()),
    ).toEqual([env.site.url("/news")]);
  });
});

describe("forEach click", () => {
  it("clicks each team card and captures the [role='dialog'] modal, closing it with Escape", async () => {
    const fe = await forEachOn("/team", { selector: "li.member", mode: "click", captureSelector: "[role='dialog']" });
    expect(fe.items).toHaveLength(TEAM.length);
    fe.items.forEach((item, i) => {
      expect(item.html).toMatch(/^<div id="profile-modal" role="dialog"/);
      expect(item.text).toContain(TEAM[i]?.name);
      expect(item.text).toContain(TEAM[i]?.bio);
    });
  });

  it("closes the modal with its close button when Escape does nothing", async () => {
    const page = await env.open("/team?escape=0");
    const result = await runActions(
      page,
      [{ type: "forEach", observe: "team members", captureSelector: "[role='dialog']", waitAfterClick: 1000 }],
      ctx(),
    );
    expect(
      result.forEach?.items.map((i) => i.text.includes(i.index < TEAM.length ? (TEAM[i.index]?.name ?? "?") : "?")),
    ).toEqual(TEAM.map(() => true));
    expect(result.log.join("\n")).not.toContain("did not close");
    expect(await page.locator("#profile-modal").isHidden()).toBe(true);
  });

  it("accordion: captures the answer each question reveals (no captureSelector)", async () => {
    const fe = await forEachOn("/faq", { observe: "FAQ questions", mode: "click" });
    expect(fe.items).toHaveLength(FAQ.length);
    fe.items.forEach((item, i) => {
      expect(item.html).toMatch(new RegExp(`^<div class="answer" id="answer-${i}"`));
      expect(item.text).toBe(FAQ[i]?.answer);
    });
  });

  it("a click that navigates captures the new page and goes back", async () => {
    const fe = await forEachOn("/news", {
      selector: "article.story h2 a",
      mode: "click",
      captureSelector: "h1.headline",
      maxItems: 3,
      waitAfterClick: 300,
    });
    expect(fe.items.map((i) => i.text)).toEqual([titleOf(1), titleOf(2), titleOf(3)]);
    expect(fe.items.map((i) => new URL(i.url).pathname)).toEqual(["/news/1", "/news/2", "/news/3"]);
  });
});

describe("forEach limits", () => {
  it("stops at the deadline and keeps the items collected so far", async () => {
    const fe = await forEachOn(
      "/news",
      { selector: "article.story", mode: "navigate", waitAfterClick: 0 },
      { deadline: Date.now() + 1500 },
    );
    expect(fe.stoppedBy).toBe("deadline");
    expect(fe.items.length).toBeGreaterThan(0);
    expect(fe.items.length).toBeLessThan(NEWS_PAGE_SIZE);
  });

  it("two top-level forEach actions are concatenated", async () => {
    const page = await env.open("/faq");
    const result = await runActions(
      page,
      [
        { type: "forEach", selector: ".faq-item .question", mode: "inline", maxItems: 2, itemPrompt: "first" },
        { type: "forEach", selector: ".faq-item .question", mode: "inline", maxItems: 3, itemPrompt: "second" },
      ],
      ctx(),
    );
    expect(result.forEach?.items.map((i) => i.index)).toEqual([0, 1, 2, 3, 4]);
    expect(result.forEach?.itemPrompt).toBe("first");
  });
});
