import type { NetworkPolicy } from "@orbweaver/browser";
import * as robotsParserModule from "robots-parser";
import { guardedRequest } from "./guarded-request.ts";
import type { SideRequest } from "./side-requests.ts";

/** Token matched against `User-agent` lines (a site without a group for it gets the `*` group). */
export const ROBOTS_USER_AGENT = "OrbweaverBot";
const ROBOTS_MAX_BYTES = 512 * 1024;
const ROBOTS_TIMEOUT_MS = 10_000;

// CommonJS (`module.exports = fn`) whose types declare an ES default export: at run time the
// namespace's `default` is the function itself, the types put it one `default` deeper.
type RobotsParserFn = typeof robotsParserModule.default.default;
const robotsParser = robotsParserModule.default as unknown as RobotsParserFn;
type Robot = ReturnType<typeof robotsParser>;

/** robots.txt of every origin a crawl touches, fetched once per attempt. */
export interface RobotsRules {
  /** False only when the origin's robots.txt disallows the URL for us. */
  isAllowed(url: URL): Promise<boolean>;
  /** `Sitemap:` lines of an origin's robots.txt. */
  sitemaps(origin: string): Promise<string[]>;
  /**
   * The origin's `Crawl-delay` for us (or `*`) in ms, capped at `maxDelayMs`; 0 when there is none
   * or robots.txt is not obeyed.
   */
  crawlDelayMs(origin: string): Promise<number>;
}

/**
 * Reads robots.txt per origin (SSRF-guarded, redirects followed), as RFC 9309 §2.3.1 says: a
 * robots.txt that is missing or refused (4xx, or still a redirect after the last hop followed)
 * allows everything; one that cannot be read (5xx, no answer, a broken connection) disallows
 * everything on its origin, and `onUnreachable` is told once per origin. With `respect: false`
 * the rules (and `Crawl-delay`) are not applied but the file is still read for its sitemaps.
 */
export function createRobotsRules(opts: {
  policy: NetworkPolicy;
  respect: boolean;
  /** Cap on `Crawl-delay` (CRAWL_MAX_DELAY_MS); 0 ignores it. */
  maxDelayMs: number;
  log: { debug(obj: object, msg: string): void };
  /** How robots.txt is fetched (a proxied crawl's goes through its proxy). Default: directly. */
  request?: SideRequest;
  /** Told when an origin's robots.txt could not be read and its pages are disallowed (only with `respect`). */
  onUnreachable?: (origin: string, reason: string) => void | Promise<void>;
}): RobotsRules {
  const cache = new Map<string, Promise<Robot | null>>();
  const load = (origin: string): Promise<Robot | null> => {
    let entry = cache.get(origin);
    if (!entry) {
      entry = readRobots(origin, opts);
      cache.set(origin, entry);
    }
    return entry;
  };
  return {
    async isAllowed(url) {
      if (!opts.respect) return true;
      const robot = await load(url.origin);
      return robot?.isAllowed(url.href, ROBOTS_USER_AGENT) !== false;
    },
    async sitemaps(origin) {
      return (await load(origin))?.getSitemaps() ?? [];
    },
    async crawlDelayMs(origin) {
      if (!opts.respect || opts.maxDelayMs <= 0) return 0;
      const seconds = Number((await load(origin))?.getCrawlDelay(ROBOTS_USER_AGENT) ?? 0);
      if (!Number.isFinite(seconds) || seconds <= 0) return 0;
      return Math.min(Math.round(seconds * 1000), opts.maxDelayMs);
    },
  };
}

/** The rules of an origin whose robots.txt could not be read: nothing is allowed (RFC 9309 §2.3.1.4). */
const DISALLOW_ALL = "User-agent: *\nDisallow: /\n";

/** The origin's rules; null allows everything. Never throws. */
async function readRobots(origin: string, opts: Parameters<typeof createRobotsRules>[0]): Promise<Robot | null> {
  const url = `${origin}/robots.txt`;
  let reason: string;
  try {
    const res = await (opts.request ?? guardedRequest)({
      url,
      policy: opts.policy,
      timeoutMs: ROBOTS_TIMEOUT_MS,
      maxBytes: ROBOTS_MAX_BYTES,
      maxRedirects: 3,
      headers: { "user-agent": `Mozilla/5.0 (compatible; ${ROBOTS_USER_AGENT})` },
    });
    if (res.status >= 200 && res.status < 300) return robotsParser(url, res.body.toString("utf8"));
    // Missing or refused (4xx), or redirected too often: "unavailable", everything is allowed.
    if (res.status >= 300 && res.status < 500) return null;
    reason = `HTTP ${res.status}`;
  } catch (err) {
    reason = (err as Error).message || String(err);
  }
  opts.log.debug({ origin, reason }, "robots.txt unreachable; everything on the origin disallowed");
  if (opts.respect && opts.onUnreachable) {
    try {
      await opts.onUnreachable(origin, reason);
    } catch (err) {
      opts.log.debug({ err, origin }, "could not report the unreachable robots.txt");
    }
  }
  return robotsParser(url, DISALLOW_ALL);
}
