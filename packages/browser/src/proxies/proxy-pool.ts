import { EU_COUNTRY_CODES } from "./country-codes.ts";
import type { ProxyEntry } from "./parse-proxy-pool.ts";

export { parseProxyPool, ProxyPoolError, redactProxyUrl } from "./parse-proxy-pool.ts";
export type { ProxyEntry } from "./parse-proxy-pool.ts";

export interface ProxyPoolOptions {
  /** How long an entry marked failed is avoided. Default 60000 ms. */
  cooldownMs?: number;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
}

export interface ProxyPool {
  /**
   * Next entry for `country`, round-robin among the candidates:
   * - an ISO-2 code: entries of that country only (never a country-less entry,
   *   that would silently break the geo request);
   * - `eu`: entries of the 27 EU member states;
   * - `global`, `""` or undefined: every entry.
   * Entries cooling down after markFailed() are skipped; when every candidate
   * is cooling down, the one that failed longest ago is returned rather than
   * nothing. Undefined only when no entry serves `country` at all.
   */
  pick(country?: string): ProxyEntry | undefined;
  /**
   * Avoids the entry for the cooldown. Matched by URL, so every entry with
   * the same proxy URL (one proxy listed for two countries) cools down together.
   */
  markFailed(entry: ProxyEntry): void;
  /** Distinct entry countries, sorted (country-less entries are not listed). */
  countries(): string[];
  /** True when pick(country) can return an entry (ignoring cooldowns). */
  supports(country: string): boolean;
}

const EU = new Set(EU_COUNTRY_CODES);

function candidatesFor(entries: readonly ProxyEntry[], country: string | undefined): ProxyEntry[] {
  const c = country?.toLowerCase() ?? "";
  if (c === "" || c === "global") return [...entries];
  if (c === "eu") return entries.filter((e) => e.country !== undefined && EU.has(e.country));
  return entries.filter((e) => e.country === c);
}

/**
 * In-memory pool over parsed entries (see parseProxyPool). Per-process state:
 * each worker keeps its own rotation and cooldowns, which is enough to stop
 * hammering a dead proxy and needs no coordination.
 */
export function createProxyPool(entries: readonly ProxyEntry[], opts: ProxyPoolOptions = {}): ProxyPool {
  const cooldownMs = opts.cooldownMs ?? 60_000;
  const now = opts.now ?? Date.now;
  const failedAt = new Map<string, number>();
  // One cursor per requested selector, so "de" requests rotate independently of "eu" ones.
  const cursors = new Map<string, number>();
  const candidateCache = new Map<string, ProxyEntry[]>();

  const candidates = (country: string | undefined): ProxyEntry[] => {
    const key = country?.toLowerCase() ?? "";
    let list = candidateCache.get(key);
    if (list === undefined) {
      list = candidatesFor(entries, country);
      candidateCache.set(key, list);
    }
    return list;
  };

  const coolingSince = (e: ProxyEntry, t: number): number | undefined => {
    const at = failedAt.get(e.url);
    if (at === undefined) return undefined;
    if (t - at >= cooldownMs) {
      failedAt.delete(e.url);
      return undefined;
    }
    return at;
  };

  return {
    pick(country) {
      const list = candidates(country);
      if (list.length === 0) return undefined;
      const key = country?.toLowerCase() ?? "";
      const start = cursors.get(key) ?? 0;
      const t = now();
      let fallback: { index: number; at: number } | undefined;
      for (let k = 0; k < list.length; k++) {
        const index = (start + k) % list.length;
        const entry = list[index];
        if (entry === undefined) continue;
        const at = coolingSince(entry, t);
        if (at === undefined) {
          cursors.set(key, index + 1);
          return entry;
        }
        if (fallback === undefined || at < fallback.at) fallback = { index, at };
      }
      if (fallback === undefined) return undefined;
      cursors.set(key, fallback.index + 1);
      return list[fallback.index];
    },
    markFailed(entry) {
      failedAt.set(entry.url, now());
    },
    countries() {
      const set = new Set<string>();
      for (const e of entries) if (e.country !== undefined) set.add(e.country);
      return [...set].sort();
    },
    supports(country) {
      return candidates(country).length > 0;
    },
  };
}
