// Deterministic ranking of repeating groups against a forEach description. Pure functions.
import type { RawGroup } from "./collect-groups.ts";
import { contentWords, stem, wordsMatch, wordsOf } from "./text-match.ts";
import { rank, type Scored } from "./score-candidates.ts";

/** Minimum total score for a group to be taken without asking. */
export const GROUP_ACCEPT = 2;
/** Required lead over the runner-up. */
export const GROUP_MARGIN = 1;
/** Word evidence (markup, heading or most items' text) needed before size and shape may count. */
const MIN_EVIDENCE = 1;

// Words people use for repeated things versus the words in markup (stemmed below, like the input).
const SYNONYM_LIST: Record<string, string[]> = {
  story: ["article", "post", "news", "entry"],
  article: ["story", "post", "news", "entry"],
  post: ["article", "story", "entry"],
  news: ["story", "article"],
  row: ["tr"],
  link: ["a"],
  card: ["tile", "item", "box"],
  item: ["li", "entry"],
  result: ["item", "hit"],
  product: ["item", "card", "tile"],
  listing: ["item", "card", "result", "entry"],
  question: ["faq", "accordion", "item"],
  faq: ["question", "accordion"],
  job: ["position", "opening", "vacancy", "posting"],
  person: ["member", "people", "profile"],
  people: ["member", "person", "profile"],
  member: ["person", "profile"],
  profile: ["member", "person"],
  review: ["comment", "rating"],
};
const SYNONYMS = new Map(Object.entries(SYNONYM_LIST).map(([k, v]) => [stem(k), v.map(stem)]));
const IGNORED = new Set(["element", "page", "thing", "one", "them"]);
const CHROME_WORDS = new Set(["nav", "navigation", "menu", "header", "footer", "sidebar", "breadcrumb"]);

export function scoreGroup(description: string, g: RawGroup, mode: string): number {
  const words = contentWords(description).filter((w) => !IGNORED.has(w));
  const markup = [g.tag, ...g.classes.flatMap(wordsOf)];
  const context = wordsOf(g.context);
  const itemWords = g.texts.map((t) => new Set(wordsOf(t)));
  let textual = 0;
  for (const w of words) {
    const variants = [w, ...(SYNONYMS.get(w) ?? [])];
    const hit = (pool: Iterable<string>): boolean => [...pool].some((p) => variants.some((v) => wordsMatch(v, p)));
    let best = 0;
    if (hit(markup)) best = 3;
    else if (hit(context)) best = 1.5;
    const share = itemWords.length ? itemWords.filter((set) => hit(set)).length / itemWords.length : 0;
    best = Math.max(best, share);
    if (w === "link") best = Math.max(best, 2 * g.linkShare);
    textual += best;
  }
  let structural = Math.min(g.count, 20) / 10;
  if (g.inChrome && !words.some((w) => CHROME_WORDS.has(w))) structural -= 3;
  if (g.avgText >= 20) structural += 1;
  else if (g.avgText < 3) structural -= 1;
  if (mode === "navigate") structural += g.linkShare >= 0.8 ? 1 : g.linkShare === 0 ? -3 : 0;
  // A big list is not a match for "job openings" just because it is big: keep it below the bar.
  return textual >= MIN_EVIDENCE ? textual + structural : Math.min(textual + structural, GROUP_ACCEPT - 0.01);
}

export function rankGroups(description: string, groups: readonly RawGroup[], mode: string): Array<Scored<RawGroup>> {
  return rank(groups, (g) => scoreGroup(description, g, mode));
}

/** One line for logs, errors and the chooser: size, markup, surroundings, examples. */
export function describeGroup(g: RawGroup): string {
  const cls = g.classes.length ? ` class="${g.classes.join(" ")}"` : "";
  const where = g.context ? ` under "${g.context.slice(0, 60)}"` : "";
  const examples = g.texts
    .slice(0, 2)
    .map((t) => `"${t.length > 60 ? `${t.slice(0, 59)}…` : t}"`)
    .join(" / ");
  return `${g.count} × <${g.tag}${cls}>${g.inChrome ? " (in page navigation)" : ""}${where}, e.g. ${examples}`;
}
