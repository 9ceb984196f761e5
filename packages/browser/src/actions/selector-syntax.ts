// Telling CSS, XPath and plain English apart. Clients put descriptions in `value` and selectors in
// `selector`, but both get mixed up in practice ("type" with selector "the search box", forEach
// `value: "article.card"`), so each field is interpreted by its shape.

/** `//a`, `(//a)[2]`, `./x`, `..`, or an explicit `xpath=` prefix. */
export function isXPath(selector: string): boolean {
  const s = selector.trim();
  return /^xpath=/.test(s) || s.startsWith("/") || s.startsWith("./") || s.startsWith("..") || /^\(\s*\.?\//.test(s);
}

/** Playwright selector string for a CSS or XPath selector. */
export function toPlaywrightSelector(selector: string): string {
  const s = selector.trim();
  if (/^xpath=/.test(s)) return s;
  // Playwright only auto-detects XPath starting with "//" or "..", not "(//a)[1]" or "./a".
  if (isXPath(s)) return `xpath=${s}`;
  return s;
}

// Element names, so "button", "select" or "ul li a" stay selectors.
const TAG_NAMES = new Set(
  "a abbr article aside b button dd details dialog div dl dt fieldset figure footer form h1 h2 h3 h4 h5 h6 header iframe img input label legend li main nav ol option p section select span summary table tbody td textarea th thead tr ul".split(
    " ",
  ),
);

/**
 * Lower-case tag names only ("ul li a", "form input"): CSS, unless it matches nothing, when it may
 * be words ("main nav"); capitalised ("Option B", "Table header") it is words.
 */
export function isTagOnlySelector(value: string): boolean {
  const s = value.trim();
  return s === s.toLowerCase() && s.split(/\s+/).every((word) => TAG_NAMES.has(word));
}

/**
 * Unmistakably a selector: XPath; starts with # . [ *; a tag followed by . # [ : > (not ending in
 * a combinator: "Next >" is link text); or lower-case tag names only (see {@link isTagOnlySelector}).
 */
export function looksLikeSelector(value: string): boolean {
  const s = value.trim();
  if (isXPath(s) || /^[#.[*]/.test(s)) return true;
  if (/[>~+]$/.test(s)) return false;
  if (isTagOnlySelector(s)) return true;
  if (/^[a-z][a-z0-9-]*(\s*[.#[:>~+]|$)/i.test(s) && !/\s[a-z]+\s[a-z]+/i.test(s.replace(/\[.*?\]|\(.*?\)/g, "")))
    return /[.#[:>~+]/.test(s);
  return false;
}

/** Reads as words rather than a selector: "the search box", "Accept all button", "Search", "Next >". */
export function looksLikeDescription(value: string): boolean {
  if (looksLikeSelector(value) || !/\p{L}/u.test(value)) return false;
  // Words with a trailing arrow ("Next >", "More >>") are link text; other > [ ] # = mean CSS.
  return !/[>[\]#=]/.test(value.trim().replace(/\s*>+$/, ""));
}
