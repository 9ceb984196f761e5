// String-level helpers shared by the turndown rules and the converter.

/** Parses a URL, returning null instead of throwing (page URLs come from arbitrary sites). */
export function tryParseUrl(value: string, base?: string): URL | null {
  try {
    return new URL(value, base);
  } catch {
    return null;
  }
}

/**
 * Resolves `href` against `base`; keeps the original when there is no usable
 * base or the value cannot be resolved, so a bad attribute never loses the link.
 */
export function absolutizeUrl(href: string, base: string | undefined): string {
  const trimmed = href.trim();
  if (!base) return trimmed;
  return tryParseUrl(trimmed, base)?.href ?? trimmed;
}

/**
 * Collapses runs of blank lines to a single blank line and drops trailing
 * whitespace-only lines, but leaves fenced code blocks untouched because blank
 * lines there are part of the code.
 */
export function collapseBlankLines(markdown: string): string {
  const out: string[] = [];
  let fence: string | null = null;
  let blankRun = 0;
  for (const line of markdown.split("\n")) {
    const fenceMatch = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (fence !== null) {
      out.push(line);
      // A closing fence uses the same character and at least the same length.
      if (fenceMatch?.[1] && fenceMatch[1][0] === fence[0] && fenceMatch[1].length >= fence.length) fence = null;
      continue;
    }
    if (fenceMatch?.[1]) fence = fenceMatch[1];
    if (line.trim() === "") {
      blankRun++;
      if (blankRun === 1) out.push("");
      continue;
    }
    blankRun = 0;
    out.push(line);
  }
  return out.join("\n").trim();
}

/** Collapses all whitespace (including newlines) into single spaces. */
export function squashWhitespace(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
