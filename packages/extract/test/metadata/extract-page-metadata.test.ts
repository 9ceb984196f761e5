import { describe, expect, it } from "vitest";
import { extractPageMetadata } from "../../src/metadata/extract-page-metadata.ts";

const page = `<!doctype html>
<html><head>
  <title>Trailblazer</title>
  <meta property="og:title" content="Trailblazer Backpack">
  <meta property="og:image" content="https://shop.test/a.jpg">
  <meta property="og:image" content="https://shop.test/b.jpg">
  <meta name="twitter:card" content="summary">
  <meta property="product:price:amount" content="39.99">
  <meta name="description" content="not an og tag">
  <script type="application/ld+json">{"@context":"https://schema.org","@type":"Product","name":"Trailblazer","offers":{"price":"39.99"}}</script>
  <script type="application/ld+json">{"broken": </script>
  <script type="application/ld+json; charset=utf-8">[{"@type":"BreadcrumbList"},{"@type":"Organization","name":"Shop"}]</script>
  <script type="application/ld+json">//<![CDATA[
    {"@type":"WebSite","name":"Shop"}
  //]]></script>
  <script>var notJsonLd = 1;</script>
</head><body>
  <div itemscope itemtype="https://schema.org/Product">
    <h1 itemprop="name">Trailblazer   Backpack</h1>
    <img itemprop="image" src="/img/tb.jpg">
    <a itemprop="url" href="https://shop.test/tb">link</a>
    <div itemprop="offers" itemscope itemtype="https://schema.org/Offer">
      <meta itemprop="priceCurrency" content="USD">
      <span itemprop="price">39.99</span>
      <time itemprop="validUntil" datetime="2030-01-01">New year</time>
    </div>
    <span itemprop="color">red</span><span itemprop="color">blue</span>
  </div>
  <p itemprop="orphan">not inside an item</p>
</body></html>`;

describe("extractPageMetadata", () => {
  it("parses JSON-LD, skipping invalid blocks and flattening arrays", () => {
    const { jsonLd } = extractPageMetadata(page);
    expect(jsonLd).toEqual([
      { "@context": "https://schema.org", "@type": "Product", name: "Trailblazer", offers: { price: "39.99" } },
      { "@type": "BreadcrumbList" },
      { "@type": "Organization", name: "Shop" },
      { "@type": "WebSite", name: "Shop" },
    ]);
  });

  it("collects OpenGraph-style meta tags, first occurrence wins", () => {
    expect(extractPageMetadata(page).openGraph).toEqual({
      "og:title": "Trailblazer Backpack",
      "og:image": "https://shop.test/a.jpg",
      "twitter:card": "summary",
      "product:price:amount": "39.99",
    });
  });

  it("reads microdata items with nested items and repeated properties", () => {
    expect(extractPageMetadata(page).microdata).toEqual([
      {
        "@type": "https://schema.org/Product",
        name: "Trailblazer Backpack",
        image: "/img/tb.jpg",
        url: "https://shop.test/tb",
        offers: {
          "@type": "https://schema.org/Offer",
          priceCurrency: "USD",
          price: "39.99",
          validUntil: "2030-01-01",
        },
        color: ["red", "blue"],
      },
    ]);
  });

  it("reads unquoted attributes and fragments", () => {
    expect(extractPageMetadata("<meta property=og:type content=website>").openGraph).toEqual({ "og:type": "website" });
  });

  it("returns empty results for empty or metadata-free HTML", () => {
    const empty = { jsonLd: [], openGraph: {}, microdata: [] };
    expect(extractPageMetadata("")).toEqual(empty);
    expect(extractPageMetadata("<p>Just text</p>")).toEqual(empty);
  });
});
