import { seedCrawlFrontier, type FrontierEntry } from "@orbweaver/db";
import { chooseLinks } from "@orbweaver/extract";
import { inScopeCandidates } from "./discover-links.ts";
import { normalizeLink } from "./normalize-url.ts";
import { readSitemaps } from "./read-sitemap.ts";
import { modelFailureNote, noteOnce, type CrawlSession } from "./crawl-session.ts";

/** Order keys: the base URL is `[0]`, its links `[0, i]`; sitemap URLs `[1, i]` come after them. */
const BASE_KEY = 0;
const SITEMAP_KEY = 1;
/** In-scope sitemap URLs considered as seeds (and offered to the model with a crawl instruction). */
const MAX_SITEMAP_CANDIDATES = 500;

/**
 * Sitemap seeds kept: no more than the crawl could ever load after the base page (`maxPages - 1`: a
 * seed is loaded only after the base page and every seed before it), so a large sitemap never fills
 * the frontier (`frontierCap`, at least 20 × maxPages rows) that the links found on pages need.
 */
export const sitemapSeedRoom = (maxPages: number) => Math.max(0, Math.min(MAX_SITEMAP_CANDIDATES, maxPages - 1));

/** A base URL the frontier refuses: with the base taken whatever its path, one holding a user name or password. */
export class BaseUrlRefusedError extends Error {
  override name = "BaseUrlRefusedError";
  constructor() {
    super("The base URL cannot be crawled: a crawl does not follow URLs holding a user name or password");
  }
}

/**
 * Seeds the frontier of a new crawl: the base URL (depth 0, always crawled: the client asked for
 * it), then the in-scope URLs of the site's sitemaps (the robots.txt `Sitemap:` lines, else
 * /sitemap.xml) at depth 1, after the base page's own links in breadth-first order, no more of them
 * than maxPages leaves room for ({@link sitemapSeedRoom}). With a crawl instruction the model
 * chooses among the sitemap URLs as it does among links.
 */
export async function seedCrawl(session: CrawlSession): Promise<{ seeds: number }> {
  const { crawl, ctx, log } = session;
  const base = normalizeLink(crawl.baseUrl, { ignoreQueryParams: crawl.ignoreQueryParams, anyPath: true });
  if (!base) throw new BaseUrlRefusedError();
  const entries: FrontierEntry[] = [{ url: base.url, urlKey: base.key, depth: 0, orderKey: [BASE_KEY] }];
  const room = sitemapSeedRoom(crawl.maxPages);
  if ((crawl.maxDepth === null || crawl.maxDepth >= 1) && room > 0) {
    const listed = await session.links.robots.sitemaps(base.parsed.origin);
    const sitemapUrls = listed.length > 0 ? listed : [`${base.parsed.origin}/sitemap.xml`];
    const pages = await readSitemaps({
      urls: sitemapUrls,
      policy: ctx.config.network,
      log,
      request: session.side.request,
    });
    const candidates = (
      await inScopeCandidates(
        session.links,
        pages.map((url) => ({ url, text: "" })),
        base.url,
      )
    )
      .filter((c) => c.key !== base.key)
      .slice(0, MAX_SITEMAP_CANDIDATES);
    let chosen = candidates;
    if (crawl.customInstruction && candidates.length > 0) {
      const outcome = await chooseLinks({
        llm: ctx.llm,
        instruction: crawl.crawlInstruction,
        links: candidates.map((c) => ({ url: c.url, text: c.text })),
        pageUrl: `${base.parsed.origin}/sitemap.xml`,
        log,
      });
      const picked = new Set(outcome.urls);
      chosen = candidates.filter((c) => picked.has(c.url));
      // Counted (not charged: link choice) with the base page, the entry the seeds hang from.
      Object.assign(entries[0] ?? {}, outcome.usage, {
        linkChoiceTokens: outcome.usage.inputTokens + outcome.usage.outputTokens,
      });
      if (outcome.failed) await noteOnce(session, modelFailureNote(outcome.failed));
    }
    chosen
      .slice(0, room)
      .forEach((c, i) => entries.push({ url: c.url, urlKey: c.key, depth: 1, orderKey: [SITEMAP_KEY, i] }));
  }
  await seedCrawlFrontier(ctx.db, { crawlId: crawl.id, runToken: session.runToken, entries });
  log.info({ seeds: entries.length - 1 }, "crawl frontier seeded");
  return { seeds: entries.length - 1 };
}
