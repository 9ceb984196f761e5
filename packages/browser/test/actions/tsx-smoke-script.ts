// Run by tsx-smoke.test.ts under tsx, the production loader: tsx (esbuild keepNames) rewrites
// functions in ways vitest does not, which only shows once in-page scripts reach Chromium.
import { runActions } from "../../src/actions/index.ts";
import { capturePage } from "../../src/open-page.ts";
import { startActionEnv, stopActionEnv } from "./action-fixtures.ts";

const env = await startActionEnv();
try {
  const ctx = { actionTimeoutMs: 5000 };
  const form = await env.open("/form");
  await runActions(
    form,
    [
      { type: "click", value: "Accept cookies" },
      { type: "type", selector: "the search box", value: "bottle" },
      { type: "check", value: "In stock only checkbox" },
      { type: "select", selector: "#category", value: "Bottles" },
      { type: "scroll", to: "50%" },
      { type: "click", value: "Search button" },
    ],
    ctx,
  );
  const news = await env.open("/news");
  const inline = await runActions(
    news,
    [
      {
        type: "forEach",
        observe: "news stories",
        mode: "inline",
        maxItems: 13,
        pagination: { nextSelector: "Next page link" },
      },
    ],
    ctx,
  );
  const faq = await env.open("/faq");
  const click = await runActions(faq, [{ type: "forEach", observe: "FAQ questions", maxItems: 2 }], ctx);
  const navigate = await runActions(
    await env.open("/news"),
    [{ type: "forEach", selector: "article.story", mode: "navigate", maxItems: 1, waitAfterClick: 0 }],
    ctx,
  );
  // Targets, groups and pop-ups inside shadow roots (the shadow-root page helpers).
  const shop = await env.open("/component-shop");
  const sheets = await runActions(
    shop,
    [
      { type: "click", value: "Accept all" },
      { type: "forEach", observe: "product tiles", mode: "click", maxItems: 2 },
    ],
    ctx,
  );
  // Web components: their shadow roots composed in by an in-page read.
  const components = await capturePage(await env.open("/components"));
  process.stdout.write(
    JSON.stringify({
      shadow: /<price-tag><strong>Price: \$12\.50<\/strong><\/price-tag>/.test(components.html),
      search: form.url(),
      inline: inline.forEach?.items.length,
      click: click.forEach?.items.map((i) => i.text),
      navigate: navigate.forEach?.items.map((i) => i.url),
      consent: await shop.locator("body").getAttribute("data-consent"),
      sheets: sheets.forEach?.items.map((i) => i.text),
      errors: [inline, click, navigate, sheets].flatMap(
        (r) => r.forEach?.items.filter((i) => i.error).map((i) => i.error) ?? [],
      ),
    }),
  );
} finally {
  await stopActionEnv(env);
}
