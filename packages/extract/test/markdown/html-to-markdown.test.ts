import { describe, expect, it } from "vitest";
import { convertHtmlToMarkdown } from "../../src/markdown/html-to-markdown.ts";
import { BLOG_POST_HTML } from "./fixtures/blog-post.ts";
import { makeSyntheticPage, PAGE_MARKERS } from "./synthetic-page.ts";

const md = (html: string, baseUrl?: string): string => convertHtmlToMarkdown(html, baseUrl ? { baseUrl } : {}).markdown;

describe("convertHtmlToMarkdown", () => {
  it("renders ATX headings", () => {
    expect(md("<h1>Top</h1><h2>Second</h2><h3>Third</h3>")).toBe("# Top\n\n## Second\n\n### Third");
  });

  it("renders nested and ordered lists", () => {
    const out = md(
      '<ul><li>one</li><li>two<ul><li>nested</li></ul></li></ul><ol start="3"><li>three</li><li>four</li></ol>',
    );
    expect(out).toMatch(/^- +one$/m);
    expect(out).toMatch(/^ {2,}- +nested$/m);
    expect(out).toMatch(/^3\. +three$/m);
    expect(out).toMatch(/^4\. +four$/m);
  });

  it("makes links and images absolute against baseUrl", () => {
    const out = md(
      '<p><a href="../guide?x=1">guide</a> <a href="/root">root</a> <a href="https://other.org/a">abs</a> <img src="img/a.png" alt="pic"></p>',
      "https://example.com/docs/page/",
    );
    expect(out).toContain("[guide](https://example.com/docs/guide?x=1)");
    expect(out).toContain("[root](https://example.com/root)");
    expect(out).toContain("[abs](https://other.org/a)");
    expect(out).toContain("![pic](https://example.com/docs/page/img/a.png)");
  });

  it("honours an in-page <base href>", () => {
    const html = '<html><head><base href="/v2/"></head><body><a href="api">api</a></body></html>';
    expect(md(html, "https://example.com/docs/x")).toBe("[api](https://example.com/v2/api)");
  });

  it("keeps links unchanged without a baseUrl and drops empty/javascript links", () => {
    const out = md(
      '<a href="/a">a</a> <a href="/icon"><svg><path d="M0"/></svg></a> <a href="javascript:void(0)">js</a>',
    );
    expect(out).toBe("[a](/a) js");
  });

  it("converts a table with a header row to a GFM table", () => {
    const out = md(
      "<table><thead><tr><th>Name</th><th>Qty</th></tr></thead><tbody><tr><td>apple</td><td>3</td></tr><tr><td>pear|x</td><td><p>1</p><p>2</p></td></tr></tbody></table>",
    );
    expect(out).toBe("| Name | Qty |\n| --- | --- |\n| apple | 3 |\n| pear\\|x | 1 2 |");
  });

  it("uses the first row as header for tables without <th> and pads to the widest row", () => {
    const out = md(
      '<table><tr><td>a</td><td>b</td></tr><tr><td>1</td><td>2</td><td>3</td></tr><tr><td colspan="3">wide</td></tr></table>',
    );
    expect(out).toBe("| a | b | |\n| --- | --- | --- |\n| 1 | 2 | 3 |\n| wide | | |");
  });

  it("renders strikethrough with ~~", () => {
    expect(md("<p>was <del>old</del> <s>gone</s></p>")).toBe("was ~~old~~ ~~gone~~");
  });

  it("drops script, style, noscript, template, svg, iframe, canvas and head content", () => {
    const html =
      "<html><head><title>T</title><style>.a{color:red}</style><script>var leaked = 1;</script><meta name='x' content='y'></head>" +
      "<body><p>keep</p><script>alert('leaked')</script><noscript>leaked</noscript><template><p>leaked</p></template>" +
      "<svg><title>leaked</title><text>leaked</text></svg><iframe src='/x'>leaked</iframe><canvas>leaked</canvas></body></html>";
    expect(md(html)).toBe("keep");
  });

  it("extracts the <title> (decoded, whitespace-collapsed) and ignores SVG titles", () => {
    const html =
      "<html><head><title>\n  Fish &amp; Chips\n</title></head><body><svg><title>icon</title></svg><p>x</p></body></html>";
    expect(convertHtmlToMarkdown(html).title).toBe("Fish & Chips");
    expect(convertHtmlToMarkdown("<p>no title</p>").title).toBe("");
  });

  it("collapses runs of blank lines but not inside fenced code", () => {
    const out = md(
      '<p>a</p><div><br><br><br></div><p>&nbsp;</p><p>b</p><pre><code class="language-js">x\n\n\n\ny</code></pre>',
    );
    expect(out).toBe("a\n\nb\n\n```js\nx\n\n\n\ny\n```");
  });

  it("fenced code keeps its language", () => {
    expect(md('<pre><code class="language-ts">const a: number = 1;</code></pre>')).toBe(
      "```ts\nconst a: number = 1;\n```",
    );
  });

  it("returns empty output for empty input", () => {
    expect(convertHtmlToMarkdown("   ")).toEqual({ markdown: "", title: "" });
  });

  it("ignores an unparsable baseUrl instead of throwing", () => {
    expect(md('<a href="/a">a</a>', "not a url")).toBe("[a](/a)");
  });
});

describe("convertHtmlToMarkdown mainContentOnly", () => {
  it("keeps the article and drops nav, sidebar and footer of a realistic page", () => {
    const full = convertHtmlToMarkdown(BLOG_POST_HTML, { baseUrl: "https://blog.example.com/posts/crawler" });
    const main = convertHtmlToMarkdown(BLOG_POST_HTML, {
      baseUrl: "https://blog.example.com/posts/crawler",
      mainContentOnly: true,
    });

    // Sanity: the chrome is there without the option.
    expect(full.markdown).toContain("SiteNavArchive");
    expect(full.markdown).toContain("FooterCopyright");

    for (const chrome of [
      "SiteNavHome",
      "SiteNavArchive",
      "SidebarRelatedOne",
      "SidebarNewsletter",
      "FooterCopyright",
      "FooterPrivacy",
    ]) {
      expect(main.markdown).not.toContain(chrome);
    }
    expect(main.markdown).toContain("Paragraph 1 of the article");
    expect(main.markdown).toContain("Paragraph 6 of the article");
    expect(main.markdown).toMatch(/^## Politeness$/m);
    expect(main.markdown).toContain("[the queue](https://blog.example.com/docs/queues)");
    expect(main.title).toContain("How our crawler schedules pages");
  });

  it("drops the chrome of the synthetic docs page", () => {
    const main = convertHtmlToMarkdown(makeSyntheticPage(150_000), { mainContentOnly: true });
    expect(main.markdown).toContain(PAGE_MARKERS.articleMarker);
    expect(main.markdown).not.toContain(PAGE_MARKERS.navMarker);
    expect(main.markdown).not.toContain(PAGE_MARKERS.footerMarker);
  });

  it("falls back to the whole body when readability finds nothing", () => {
    const html = "<html><head><title>Tiny</title></head><body><div>Just a line</div></body></html>";
    const out = convertHtmlToMarkdown(html, { mainContentOnly: true });
    expect(out.markdown).toContain("Just a line");
    expect(out.title).toBe("Tiny");
  });
});

describe("large pages", () => {
  it("converts a ~1 MB page", () => {
    const html = makeSyntheticPage(1_000_000);
    expect(html.length).toBeGreaterThan(950_000);
    const { markdown, title } = convertHtmlToMarkdown(html, { baseUrl: "https://example.com/docs/" });
    expect(title).toBe("Synthetic Docs Page");
    expect(markdown).toContain(PAGE_MARKERS.articleMarker);
    expect(markdown).toMatch(/^\| --- \| --- \| --- \|/m);
    expect(markdown).toContain("](https://example.com/docs/");
    expect(markdown).not.toContain("__DATA__");
    expect(markdown).not.toContain("margin:0 auto");
    expect(markdown).not.toMatch(/\n{3,}/);
  });
});
