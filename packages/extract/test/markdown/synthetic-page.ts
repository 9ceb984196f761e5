// Deterministic generator of a "realistic" rendered page, shaped like what
// Chromium's page.content() returns for a modern docs/news site: a heavy
// <head> (inline CSS, JSON-LD, inline JS), utility-class div soup, inline SVG
// icons, nav/header/aside/footer chrome and a long article with tables, code,
// lists and relative links. Shared by the tests and bench/markdown.ts so both
// measure the same shape of input.

const WORDS = (
  "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore " +
  "et dolore magna aliqua scraper crawler markdown worker queue browser chromium render headless " +
  "selector extract schema pipeline request response latency throughput session cookie proxy"
).split(" ");

/** Small seeded PRNG (mulberry32) so every run produces the same bytes. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ICON =
  '<svg xmlns="http://www.w3.org/2000/svg" class="h-4 w-4 shrink-0" viewBox="0 0 24 24" fill="none" ' +
  'stroke="currentColor" aria-hidden="true"><path stroke-linecap="round" stroke-linejoin="round" ' +
  'stroke-width="2" d="M13.828 10.172a4 4 0 00-5.656 0l-4 4a4 4 0 105.656 5.656l1.102-1.101"/></svg>';

const CLS = "flex items-center gap-2 px-4 py-2 text-sm font-medium text-slate-700 hover:bg-slate-50";

export interface SyntheticPageParts {
  /** A word that appears only in the nav, for main-content assertions. */
  navMarker: string;
  footerMarker: string;
  articleMarker: string;
}

export const PAGE_MARKERS: SyntheticPageParts = {
  navMarker: "NavOnlyMarker",
  footerMarker: "FooterOnlyMarker",
  articleMarker: "ArticleOnlyMarker",
};

/** Builds a page of roughly `targetBytes` characters (always at least one section). */
export function makeSyntheticPage(targetBytes: number, seed = 42): string {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const words = (n: number): string => Array.from({ length: n }, () => pick(WORDS)).join(" ");
  const sentence = (): string => {
    const s = words(8 + Math.floor(rand() * 14));
    return s.charAt(0).toUpperCase() + s.slice(1) + ".";
  };
  const inline = (): string => {
    const r = rand();
    if (r < 0.15)
      return `<a href="/docs/${pick(WORDS)}/${pick(WORDS)}" class="text-blue-600 underline">${words(3)}</a>`;
    if (r < 0.25) return `<strong>${words(2)}</strong>`;
    if (r < 0.33) return `<em>${words(2)}</em>`;
    if (r < 0.4) return `<code class="rounded bg-slate-100 px-1">${pick(WORDS)}_${pick(WORDS)}()</code>`;
    return sentence();
  };
  const paragraph = (): string =>
    `<div class="${CLS}"><div class="prose max-w-none"><p class="leading-7 [&:not(:first-child)]:mt-6">` +
    Array.from({ length: 4 + Math.floor(rand() * 6) }, inline).join(" ") +
    `</p></div></div>`;
  const list = (ordered: boolean): string => {
    const tag = ordered ? "ol" : "ul";
    const items = Array.from({ length: 3 + Math.floor(rand() * 5) }, () => {
      const nested = rand() < 0.2 ? `<ul><li>${sentence()}</li><li>${inline()}</li></ul>` : "";
      return `<li class="my-1">${inline()} ${sentence()}${nested}</li>`;
    });
    return `<${tag} class="my-6 ml-6 list-disc">${items.join("")}</${tag}>`;
  };
  const table = (): string => {
    const cols = 3 + Math.floor(rand() * 3);
    const head = Array.from({ length: cols }, () => `<th class="border px-4 py-2 text-left">${pick(WORDS)}</th>`);
    const rows = Array.from(
      { length: 4 + Math.floor(rand() * 8) },
      () =>
        `<tr class="even:bg-slate-50">${Array.from({ length: cols }, () => `<td class="border px-4 py-2">${words(2)}</td>`).join("")}</tr>`,
    );
    return `<div class="my-6 w-full overflow-y-auto"><table class="w-full"><thead><tr>${head.join("")}</tr></thead><tbody>${rows.join("")}</tbody></table></div>`;
  };
  const code = (): string =>
    `<div class="relative"><pre class="overflow-x-auto rounded-lg bg-slate-900 p-4"><code class="language-ts">` +
    Array.from(
      { length: 4 + Math.floor(rand() * 8) },
      () => `const ${pick(WORDS)} = await ${pick(WORDS)}(&quot;${pick(WORDS)}&quot;);`,
    ).join("\n") +
    `</code></pre><button class="absolute right-2 top-2" aria-label="Copy">${ICON}</button></div>`;
  const image = (): string =>
    `<figure class="my-8"><img src="/assets/img/${pick(WORDS)}-${Math.floor(rand() * 1000)}.webp" alt="${words(3)}" loading="lazy" width="800" height="450"><figcaption class="text-center text-sm">${sentence()}</figcaption></figure>`;

  const section = (i: number): string => {
    const blocks = [`<h2 id="s${i}" class="scroll-m-20 border-b pb-2 text-3xl">${words(4)}</h2>`];
    for (let b = 0; b < 6; b++) {
      const r = rand();
      if (r < 0.45) blocks.push(paragraph());
      else if (r < 0.6) blocks.push(list(rand() < 0.4));
      else if (r < 0.7) blocks.push(table());
      else if (r < 0.8) blocks.push(code());
      else if (r < 0.88) blocks.push(image());
      else if (r < 0.94) blocks.push(`<blockquote class="mt-6 border-l-2 pl-6 italic">${sentence()}</blockquote>`);
      else blocks.push(`<h3 class="mt-8 text-2xl">${words(3)}</h3>${paragraph()}`);
    }
    return `<section class="mb-12"><div class="container"><div class="mx-auto">${blocks.join("\n")}</div></div></section>`;
  };

  const navLinks = Array.from(
    { length: 40 },
    (_, i) =>
      `<li><a class="${CLS}" href="/nav/${i}">${ICON}<span>${PAGE_MARKERS.navMarker} ${pick(WORDS)}</span></a></li>`,
  ).join("");
  const head =
    `<head><meta charset="utf-8"><title>Synthetic Docs Page</title>` +
    `<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="/app.css">` +
    `<style>${".x{color:red;margin:0 auto;display:flex}".repeat(Math.max(50, targetBytes / 400))}</style>` +
    `<script type="application/ld+json">{"@context":"https://schema.org","@type":"Article","headline":"Synthetic"}</script>` +
    `<script>${"window.__DATA__=window.__DATA__||[];__DATA__.push({a:1,b:'<p>not markup</p>'});".repeat(Math.max(20, targetBytes / 500))}</script></head>`;
  const chrome =
    `<header class="sticky top-0 z-50"><div class="flex h-14 items-center"><a href="/" class="mr-6">${ICON}<span>Home</span></a>` +
    `<nav class="hidden md:flex"><ul class="flex gap-6">${navLinks}</ul></nav></div></header>` +
    `<div id="cookie-banner" class="fixed bottom-0"><p>${PAGE_MARKERS.navMarker} We use cookies.</p><button>Accept</button></div>`;
  const aside = `<aside class="hidden xl:block"><h4>On this page</h4><ul>${Array.from({ length: 20 }, (_, i) => `<li><a href="#s${i}">${PAGE_MARKERS.navMarker} section ${i}</a></li>`).join("")}</ul></aside>`;
  const footer =
    `<footer class="border-t py-6"><div class="container"><p>${PAGE_MARKERS.footerMarker} © 2024 Example Inc. All rights reserved.</p>` +
    `<ul>${Array.from({ length: 15 }, (_, i) => `<li><a href="/legal/${i}">${PAGE_MARKERS.footerMarker} link ${i}</a></li>`).join("")}</ul></div></footer>`;

  const parts: string[] = [];
  let size = head.length + chrome.length + aside.length + footer.length + 400;
  for (let i = 0; size < targetBytes || i === 0; i++) {
    const s = section(i);
    parts.push(s);
    size += s.length;
  }
  const intro = `<h1 class="text-4xl font-bold">Synthetic Docs Page</h1><p class="lead">${PAGE_MARKERS.articleMarker} ${sentence()} ${sentence()}</p>`;
  return (
    `<!DOCTYPE html><html lang="en">${head}<body class="min-h-screen bg-white antialiased">${chrome}` +
    `<div class="flex"><main class="relative py-6 lg:gap-10"><article class="mx-auto w-full min-w-0">${intro}${parts.join("\n")}</article></main>${aside}</div>` +
    `${footer}<script src="/_next/static/chunks/main.js" async></script><noscript><p>Enable JS</p></noscript></body></html>`
  );
}
