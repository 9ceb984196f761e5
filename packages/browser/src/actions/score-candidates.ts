// Deterministic ranking of page elements against a plain-English description. Pure functions, so
// the thresholds can be unit-tested without a browser.
import type { RawCandidate } from "./collect-candidates.ts";
import { normalizeText, parseDescription, wordsMatch, wordsOf, type ParsedDescription } from "./text-match.ts";

/**
 * A match must reach this score… Only eligible candidates can: a whole-phrase hit, or every word
 * of the description found (in the element's names, or weakly in its attributes/surroundings).
 * "Accept cookies" → button "Accept all" inside "We use cookies" is eligible; "Previous page"
 * never is for "Next page link", whatever its role bonus.
 */
export const ACCEPT_SCORE = 45;
/** …and beat the runner-up by this much, or it counts as ambiguous. */
export const CLEAR_MARGIN = 15;
const ROLE_MATCH = 25;
const ROLE_MISMATCH = -15;
const PREFERRED_ROLE = 10;
/** Words found only in attributes or the surrounding container count this much. */
const WEAK_WORD = 0.6;

export interface Scored<T> {
  item: T;
  score: number;
}

function phraseScore(phrases: readonly string[], field: string): number {
  const f = normalizeText(field);
  if (!f) return 0;
  let best = 0;
  for (const p of phrases) {
    if (f === p) return 100;
    if (f.startsWith(`${p} `)) best = Math.max(best, 85);
    else if (` ${f} `.includes(` ${p} `)) best = Math.max(best, 70);
  }
  return best;
}

/** Share of description words found (weak finds count less), and whether none is missing. */
function coverage(words: readonly string[], own: readonly string[], weak: readonly string[]): [number, boolean] {
  if (words.length === 0) return [0, false];
  let sum = 0;
  let missing = 0;
  for (const w of words) {
    if (own.some((o) => wordsMatch(w, o))) sum += 1;
    else if (weak.some((o) => wordsMatch(w, o))) sum += WEAK_WORD;
    else missing++;
  }
  return [sum / words.length, missing === 0];
}

/** A placeholder is a hint, not a name: "Search" names the button before the box whose hint it is. */
const PLACEHOLDER_PHRASE_MAX = 85;

export function scoreCandidate(
  parsed: ParsedDescription,
  c: RawCandidate,
  preferRoles: readonly string[] = [],
): number {
  const ownFields = [c.name, c.text, c.labels, c.placeholder, c.title, c.value];
  const phrase = Math.max(
    ...[c.name, c.text, c.labels, c.title, c.value].map((f) => phraseScore(parsed.phrases, f)),
    Math.min(phraseScore(parsed.phrases, c.placeholder), PLACEHOLDER_PHRASE_MAX),
  );
  const [share, complete] = coverage(parsed.words, ownFields.flatMap(wordsOf), [
    ...wordsOf(c.attrs),
    ...wordsOf(c.context),
  ]);
  const text = Math.max(phrase, 60 * share);
  let role = 0;
  if (parsed.roles.length > 0) role = parsed.roles.includes(c.role) ? ROLE_MATCH : ROLE_MISMATCH;
  else if (preferRoles.includes(c.role)) role = PREFERRED_ROLE;
  const eligible = phrase > 0 || complete;
  return eligible ? text + role : Math.min(text + role, ACCEPT_SCORE - 1);
}

export type Decision<T> =
  | { kind: "match"; pick: T; score: number }
  | { kind: "ambiguous"; tied: T[]; ranked: Array<Scored<T>> }
  | { kind: "none"; ranked: Array<Scored<T>> };

/** Best first (stable, so equal scores keep document order). */
export function rank<T>(items: readonly T[], score: (item: T) => number): Array<Scored<T>> {
  return items.map((item) => ({ item, score: score(item) })).sort((a, b) => b.score - a.score);
}

export function decide<T>(ranked: Array<Scored<T>>, accept: number, margin: number): Decision<T> {
  const [best, second] = ranked;
  if (!best || best.score < accept) return { kind: "none", ranked };
  if (second && best.score - second.score < margin) {
    return { kind: "ambiguous", tied: ranked.filter((r) => best.score - r.score < margin).map((r) => r.item), ranked };
  }
  return { kind: "match", pick: best.item, score: best.score };
}

export function rankCandidates(
  description: string,
  candidates: readonly RawCandidate[],
  preferRoles: readonly string[] = [],
): Array<Scored<RawCandidate>> {
  const parsed = parseDescription(description);
  return rank(candidates, (c) => scoreCandidate(parsed, c, preferRoles));
}

const quote = (s: string, max: number): string => `"${s.length > max ? `${s.slice(0, max - 1)}…` : s}"`;

/** One line for logs, errors and the element chooser: role, name, text, surroundings. */
export function describeCandidate(c: RawCandidate): string {
  const parts = [`${c.role === "generic" ? c.tag : c.role} ${quote(c.name || c.text || c.placeholder, 60)}`];
  if (c.text && c.text !== c.name) parts.push(`text ${quote(c.text, 60)}`);
  if (c.placeholder && c.placeholder !== c.name) parts.push(`placeholder ${quote(c.placeholder, 40)}`);
  if (c.context) parts.push(`in ${quote(c.context, 70)}`);
  return parts.join(", ");
}
