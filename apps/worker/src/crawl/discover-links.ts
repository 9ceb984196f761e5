import { crawlHasRoom, findKnownUrlKeys, type CrawlRow, type Db, type DiscoveredLink } from "@orbweaver/db";
import { chooseLinks, type ChooseLinksFailure, type LinkCandidate, type Llm, type LlmUsage } from "@orbweaver/extract";
import type { Logger } from "pino";
import type { ScopeVerdict } from "./crawl-scope.ts";
import { normalizeLink } from "./normalize-url.ts";
import type { RobotsRules } from "./robots-rules.ts";

/** Links considered per page; a page with more is cut (menus repeated thousands of times). */
const MAX_LINKS_PER_PAGE = 1000;

/** What a crawl attempt uses to decide which links to follow. */
export interface LinkPolicy {
  db: Db;
  crawl: CrawlRow;
  scope: (url: URL) => ScopeVerdict;
  robots: RobotsRules;
  llm: Llm | null;
  log: Logger;
  /**
   * Keys of links the model declined (`crawlInstruction`) in this attempt: not offered to it again
   * when other pages link them too.
   */
  declined?: Set<string>;
}

export interface Discovery {
  links: DiscoveredLink[];
  usage: LlmUsage;
  /** Set when the model could not choose (every in-scope link was then followed). */
  modelFailure?: ChooseLinksFailure;
}

/**
 * Turns the raw links of a page at `depth` into frontier entries: resolved and normalised,
 * de-duplicated, in scope (host, path, include/exclude), allowed by robots.txt, and — when the
 * client gave a crawl instruction — chosen by the model among those the crawl does not know yet and
 * the model has not declined before (none once maxPages is used up: the model is not asked then).
 * Links already known are passed on too, so one found earlier in breadth-first order moves up.
 */
export async function discoverLinks(
  policy: LinkPolicy,
  opts: { pageUrl: string; depth: number; orderKey: number[]; raw: LinkCandidate[] },
): Promise<Discovery> {
  const { crawl } = policy;
  const none: Discovery = { links: [], usage: { inputTokens: 0, outputTokens: 0 } };
  if (crawl.maxDepth !== null && opts.depth >= crawl.maxDepth) return none;
  const candidates = await inScopeCandidates(policy, opts.raw, opts.pageUrl);
  if (candidates.length === 0) return none;
  const known = await findKnownUrlKeys(
    policy.db,
    crawl.id,
    candidates.map((c) => c.key),
  );
  const fresh = candidates.filter((c) => !known.has(c.key));
  let follow = (_: Candidate) => true;
  let usage: LlmUsage = { inputTokens: 0, outputTokens: 0 };
  let modelFailure: ChooseLinksFailure | undefined;
  if (crawl.customInstruction) {
    const declined = policy.declined ?? new Set<string>();
    const asked = fresh.filter((c) => !declined.has(c.key));
    // maxPages is used up (every page processed or in flight): nothing found now would be loaded,
    // so the model is not asked.
    if (asked.length > 0 && !(await crawlHasRoom(policy.db, crawl.id))) return none;
    let picked = new Set<string>();
    if (asked.length > 0) {
      const outcome = await chooseLinks({
        llm: policy.llm,
        instruction: crawl.crawlInstruction,
        links: asked.map((c) => ({ url: c.url, text: c.text })),
        pageUrl: opts.pageUrl,
        log: policy.log,
      });
      picked = new Set(outcome.urls);
      usage = outcome.usage;
      modelFailure = outcome.failed;
      // What the model turned down stays turned down (a failed call declined nothing: it follows all).
      if (!outcome.failed) for (const c of asked) if (!picked.has(c.url)) declined.add(c.key);
    }
    follow = (c) => known.has(c.key) || picked.has(c.url);
  }
  const depth = opts.depth + 1;
  // Page order is discovery order, known links included (one found again earlier moves up).
  const links = candidates
    .filter(follow)
    .map((c, i) => ({ url: c.url, urlKey: c.key, depth, orderKey: [...opts.orderKey, i] }));
  return { links, usage, ...(modelFailure ? { modelFailure } : {}) };
}

interface Candidate {
  url: string;
  key: string;
  text: string;
}

/**
 * Normalised, in-scope, robots-allowed links, de-duplicated by key, in page order. Scope and
 * robots.txt judge each link as spelled, before it is folded into its key: `/a/index.html` and
 * `www.` spellings share a key with `/a/` but not their rules (an excluded or disallowed spelling
 * is dropped, and does not hide an allowed spelling of the same key further down the page). The
 * first allowed spelling of a key is the URL loaded.
 */
export async function inScopeCandidates(
  policy: Pick<LinkPolicy, "crawl" | "scope"> & { robots: Pick<RobotsRules, "isAllowed"> },
  raw: LinkCandidate[],
  pageUrl: string,
): Promise<Candidate[]> {
  const byKey = new Map<string, Candidate>();
  // Verdicts per spelling (a menu repeats the same links many times).
  const allowed = new Map<string, boolean>();
  for (const link of raw.slice(0, MAX_LINKS_PER_PAGE)) {
    const normalized = normalizeLink(link.url, { base: pageUrl, ignoreQueryParams: policy.crawl.ignoreQueryParams });
    if (!normalized) continue;
    let ok = allowed.get(normalized.url);
    if (ok === undefined) {
      ok = policy.scope(normalized.parsed).ok && (await policy.robots.isAllowed(normalized.parsed));
      allowed.set(normalized.url, ok);
    }
    if (!ok) continue;
    const existing = byKey.get(normalized.key);
    if (existing) {
      if (!existing.text && link.text) existing.text = link.text;
      continue;
    }
    byKey.set(normalized.key, { url: normalized.url, key: normalized.key, text: link.text });
  }
  return [...byKey.values()];
}
