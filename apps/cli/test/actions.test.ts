import { newsArticle, type FixtureSite, type OpenAIServer } from "@orbweaver/testkit";
import { beforeAll, describe, expect, it } from "vitest";
import { scrapeAndWait, type PollBody } from "./helpers/http.ts";
import { startModelStack, useStarted, type TestStack } from "./helpers/stack.ts";

let site: FixtureSite;
let model: OpenAIServer;
let stack: TestStack;
let key: string;

useStarted(
  () => startModelStack({ ACTION_TIMEOUT_MS: "5000" }),
  (started) => ({ site, model, stack } = started),
);
beforeAll(async () => {
  key = (await stack.createKey(1000)).key;
});

const scrape = (path: string, actions: unknown[], extra: Record<string, unknown> = {}): Promise<PollBody> =>
  scrapeAndWait(stack.api, key, { urls: [{ url: site.url(path), actions }], ...extra }, 90_000);

describe("browser actions through the API", () => {
  it("dismisses the cookie banner by description, types a search and submits it (tutorial recipe)", async () => {
    const final = await scrape("/form", [
      { type: "click", value: "Accept all button" },
      { type: "type", selector: "input[name='q']", value: "backpack" },
      { type: "click", value: "Search button" },
    ]);
    expect(final.status, final.error ?? "").toBe("completed");
    const md = final.result!.data[0]!.markdownContent;
    expect(md).toContain("Search results");
    expect(md).toContain("Trailblazer 30L Hiking Backpack");
    expect(md).not.toContain("We use cookies");
  });

  it("clicks load more three times, scrolls and waits", async () => {
    const final = await scrape("/load-more", [
      { type: "click", value: "Load more button" },
      { type: "click", value: "Load more button" },
      { type: "click", selector: "//button[@id='load-more']" },
      { type: "scroll", to: "100%" },
      { type: "wait", duration: 200 },
    ]);
    expect(final.status, final.error ?? "").toBe("completed");
    const md = final.result!.data[0]!.markdownContent;
    expect(md).toContain("Item 20");
    expect(md).not.toContain("Item 21");
  });

  it("loops over news stories in plain English across pages, stopping at maxItems", async () => {
    const final = await scrape("/news", [
      {
        type: "forEach",
        observe: "news stories",
        mode: "inline",
        maxItems: 15,
        pagination: { nextSelector: "Next page link", maxPages: 2 },
      },
    ]);
    expect(final.status, final.error ?? "").toBe("completed");
    const md = final.result!.data[0]!.markdownContent;
    expect(md).toContain("## Item 1\n");
    expect(md).toContain("## Item 15");
    expect(md).not.toContain("## Item 16");
    expect(md).toContain(newsArticle(13)!.title);
    expect(final.result!.content).toBe(md);
  });

  it("caps maxItems at 50 and pagination.maxPages at 10 rather than refusing larger values", async () => {
    /** The Markdown of an inline forEach over the load-more list's items, clicking "Load more" as pagination. */
    const loadMore = async (path: string, options: { maxItems?: number; maxPages: number }) => {
      const { maxPages, ...rest } = options;
      const final = await scrape(path, [
        {
          type: "forEach",
          selector: "li.item",
          mode: "inline",
          waitAfterClick: 0,
          pagination: { nextSelector: "#load-more", maxPages },
          ...rest,
        },
      ]);
      expect(final.status, final.error ?? "").toBe("completed");
      const md = final.result!.data[0]!.markdownContent;
      return { md, sections: md.match(/^## Item \d+$/gm) ?? [] };
    };
    const many = await loadMore("/load-more?step=30&max=90", { maxItems: 100, maxPages: 5 });
    expect(many.sections).toHaveLength(50);
    expect(many.md).toContain("Item 50");
    expect(many.md).not.toContain("Item 51");
    // Two items a page: the first page and 10 more make 22, whatever maxPages above 10 asks for.
    const pages = await loadMore("/load-more?step=2&max=100", { maxPages: 50 });
    expect(pages.sections).toHaveLength(22);
    expect(pages.md).toContain("Item 22");
    expect(pages.md).not.toContain("Item 23");
  });

  it("follows each item as a link in navigate mode and captures the destination", async () => {
    const final = await scrape("/news", [
      {
        type: "forEach",
        selector: "article.story",
        mode: "navigate",
        maxItems: 3,
        captureSelector: "article",
        waitAfterClick: 100,
      },
    ]);
    expect(final.status, final.error ?? "").toBe("completed");
    const md = final.result!.data[0]!.markdownContent;
    for (const n of [1, 2, 3]) expect(md).toContain(newsArticle(n)!.title);
    expect(md).toContain("## Item 3");
    expect(md).not.toContain("## Item 4");
  });

  it("runs itemPrompt per item and the top-level prompt over all items", async () => {
    model.reset();
    model.setDefault((req) =>
      req.promptText.includes("Give the headline")
        ? { content: { headline: "scripted headline" } }
        : { content: { stories: 2 } },
    );
    const final = await scrape(
      "/news",
      [{ type: "forEach", selector: "article.story", mode: "inline", maxItems: 2, itemPrompt: "Give the headline" }],
      { prompt: "Count the stories" },
    );
    model.setDefault(undefined);
    expect(final.status, final.error ?? "").toBe("completed");
    expect(final.result!.data[0]!.markdownContent).toContain('"headline": "scripted headline"');
    expect(final.result!.content).toEqual({ stories: 2 });
    expect(model.chatRequests().length).toBe(3);
    expect(final.result!.stats.totalTokens).toBeGreaterThan(0);
  });

  it("fails the URL with the action's index and reason when a target cannot be found", async () => {
    model.reset();
    model.setDefault({ content: { index: 99 } });
    const final = await scrape("/form", [
      { type: "wait", duration: 10 },
      { type: "click", value: "Purple unicorn launch button" },
    ]);
    model.setDefault(undefined);
    expect(final.status).toBe("failed");
    expect(final.error).toMatch(/Action 2|actions?\[1\]|action 1/i);
    expect(final.error).toContain("Purple unicorn");
  });
});
