// Word-level matching shared by element and group scoring: normalisation, a tiny stemmer and the
// role words a description may contain ("Accept all button", "the search box").

/**
 * Lower-case, Latin accents stripped, punctuation turned into single spaces. Letters and digits of
 * every script stay ("Принять все", "同意する"), with their combining marks (Devanagari vowel signs).
 */
export function normalizeText(value: string): string {
  return (
    value
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      // Marks that follow no letter belong to emoji (❤️'s variation selector, keycaps ⃣): dropped.
      .replace(/(?<![\p{L}\p{M}])\p{M}+/gu, "")
      .replace(/[’']/g, "")
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}]+/gu, " ")
      .trim()
  );
}

/**
 * Plural and suffix folding so both sides meet: stories/story → "stori", cookies/cookie → "cooki",
 * boxes → "box". Only ever compared with other stems.
 */
export function stem(word: string): string {
  let w = word;
  if (w.length > 4 && w.endsWith("ies")) w = w.slice(0, -2);
  else if (w.length > 4 && /(ss|x|ch|sh)es$/.test(w)) w = w.slice(0, -2);
  else if (w.length > 3 && w.endsWith("s") && !w.endsWith("ss")) w = w.slice(0, -1);
  if (w.length > 3 && w.endsWith("y")) w = `${w.slice(0, -1)}i`;
  else if (w.length > 3 && w.endsWith("ie")) w = w.slice(0, -1);
  return w;
}

/** Splits identifiers too: "story-list" → story, list; "nextPage" → next, page. */
export function wordsOf(value: string): string[] {
  const spaced = value.replace(/([a-z])([A-Z])/g, "$1 $2");
  const norm = normalizeText(spaced);
  return norm ? norm.split(" ").map(stem) : [];
}

export function wordsMatch(a: string, b: string): boolean {
  if (a === b) return true;
  // Prefixes catch "accept"/"acceptance" and "profile"/"profiles"; too short a prefix is noise.
  return (a.length >= 4 && b.startsWith(a)) || (b.length >= 4 && a.startsWith(b));
}

// Compared with stemmed words, so stemmed too (see the end of the list).
const STOP_WORD_LIST = [
  "the",
  "a",
  "an",
  "on",
  "of",
  "to",
  "for",
  "and",
  "or",
  "in",
  "at",
  "with",
  "that",
  "which",
  "this",
  "its",
  "click",
  "press",
  "tap",
  "hit",
  "select",
  "choose",
  "please",
  "find",
  "get",
  "all",
  "every",
  "each",
  // Where something is on screen says nothing about its name.
  "top",
  "bottom",
  "left",
  "right",
  "corner",
  "upper",
  "lower",
  "side",
  "near",
  "below",
  "above",
  "under",
];
const STOP_WORDS = new Set(STOP_WORD_LIST.map(stem));

/** Content words of a description, stemmed, stop words removed. */
export function contentWords(value: string): string[] {
  return wordsOf(value).filter((w) => !STOP_WORDS.has(w));
}

export const ROLE_FAMILIES = {
  button: ["button"],
  link: ["link"],
  checkbox: ["checkbox", "switch"],
  radio: ["radio"],
  textbox: ["textbox", "searchbox", "combobox", "spinbutton"],
  combobox: ["combobox", "listbox"],
  tab: ["tab"],
  switch: ["switch", "checkbox", "button"],
} as const satisfies Record<string, readonly string[]>;

// Role words and the roles they accept; see parseDescription for which match counts.
const ROLE_PATTERNS: Array<[RegExp, keyof typeof ROLE_FAMILIES]> = [
  [/\bradio (button|option)s?\b/g, "radio"],
  [/\b(check ?box|tick ?box)(es)?\b/g, "checkbox"],
  [/\b(drop ?down|combo ?box|select (box|menu|list)|picker)(es|s)?\b/g, "combobox"],
  // "search box": "search" is the name, so only generic first words belong to the role.
  [/\b(text|input|entry) (box|field|bar|input)s?\b/g, "textbox"],
  [/\b(buttons?|btns?)\b/g, "button"],
  [/\b(hyper)?links?\b/g, "link"],
  [/\b(text ?box(es)?|fields?|inputs?|box(es)?|bars?|text ?areas?)\b/g, "textbox"],
  [/\btabs?\b/g, "tab"],
  [/\b(toggle|switch)(es|s)?\b/g, "switch"],
];

export interface ParsedDescription {
  /** Normalised name phrases to compare whole ("accept all"), most literal first. */
  phrases: string[];
  /** Stemmed content words of the name. */
  words: string[];
  /** Accepted roles when the description names one ("button", "search box"…), else empty. */
  roles: readonly string[];
}

const LEADING_FILLER = /^(please )?((click|press|tap|hit|select|choose|open|use)( on)? )?((the|a|an) )?/;

export function parseDescription(description: string): ParsedDescription {
  let norm = normalizeText(description);
  const found: Array<{ start: number; end: number; family: keyof typeof ROLE_FAMILIES }> = [];
  for (const [pattern, family] of ROLE_PATTERNS)
    for (const m of norm.matchAll(pattern)) found.push({ start: m.index, end: m.index + m[0].length, family });
  // "radio button" contains "button": drop matches inside a longer one, then the right-most wins.
  const whole = found.filter(
    (f) => !found.some((g) => g !== f && g.start <= f.start && g.end >= f.end && g.end - g.start > f.end - f.start),
  );
  const role = whole.sort((a, b) => b.start - a.start)[0];
  if (role) norm = `${norm.slice(0, role.start)} ${norm.slice(role.end)}`.replace(/\s+/g, " ").trim();
  const withoutArticle = norm.replace(/^(the|a|an) /, "");
  const withoutVerb = norm.replace(LEADING_FILLER, "");
  const phrases = [...new Set([withoutArticle, withoutVerb].filter((p) => p.length > 0))];
  return { phrases, words: contentWords(norm), roles: role ? ROLE_FAMILIES[role.family] : [] };
}
