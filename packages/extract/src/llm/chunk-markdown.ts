// Splits page text into pieces that fit a model's input budget, preferring
// heading, then paragraph, line, sentence and word boundaries. Nothing is
// dropped: the pieces concatenate back to the original text.
import { pagePartOverhead } from "./build-extraction-prompt.ts";
import type { PagePart } from "./build-extraction-prompt.ts";

/** Rough token estimate (~4 characters per token for English text and Markdown). */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 4);

// Each separator is kept at the end of the piece before it. The heading rule
// matches the newline before "# ", so a section starts with its heading.
const SEPARATORS = [/\n(?=#{1,6}[ \t])/g, /\n{2,}/g, /\n/g, /(?<=[.!?])[ \t]+/g, /[ \t]+/g];

function splitKeep(text: string, separator: RegExp): string[] {
  const pieces: string[] = [];
  let start = 0;
  for (const match of text.matchAll(separator)) {
    const end = (match.index ?? 0) + match[0].length;
    if (end > start && end < text.length) {
      pieces.push(text.slice(start, end));
      start = end;
    }
  }
  pieces.push(text.slice(start));
  return pieces;
}

function splitAt(text: string, maxChars: number, level: number): string[] {
  if (text.length <= maxChars) return [text];
  const separator = SEPARATORS[level];
  if (!separator) {
    // A single run without whitespace longer than a chunk (a data URI, a hash):
    // the only place where a cut inside a "word" is unavoidable.
    const out: string[] = [];
    for (let i = 0; i < text.length; i += maxChars) out.push(text.slice(i, i + maxChars));
    return out;
  }
  const pieces = splitKeep(text, separator);
  if (pieces.length === 1) return splitAt(text, maxChars, level + 1);

  const out: string[] = [];
  let current = "";
  for (const piece of pieces) {
    if (piece.length > maxChars) {
      if (current) out.push(current);
      current = "";
      out.push(...splitAt(piece, maxChars, level + 1));
    } else if (current.length + piece.length > maxChars) {
      out.push(current);
      current = piece;
    } else {
      current += piece;
    }
  }
  if (current) out.push(current);
  return out;
}

/** Splits `text` into pieces of at most `maxChars` characters whose concatenation is `text`. */
export function splitText(text: string, maxChars: number): string[] {
  return splitAt(text, Math.max(1, Math.floor(maxChars)), 0);
}

export interface ChunkPage {
  url: string;
  title: string;
  /** Escaped page text: metadata block and Markdown. */
  text: string;
}

/**
 * Packs pages into chunks of at most `maxChars` rendered characters: small
 * pages share a chunk (the model answers once across them), long pages are
 * split into numbered parts.
 */
export function packChunks(pages: ChunkPage[], maxChars: number): PagePart[][] {
  const chunks: PagePart[][] = [];
  let current: PagePart[] = [];
  let size = 0;
  for (const page of pages) {
    const overhead = pagePartOverhead(page.url, page.title);
    // Blank pieces (trailing whitespace) carry nothing; an empty page still appears once.
    const pieces = splitText(page.text, Math.max(1, maxChars - overhead)).filter((p) => p.trim());
    const texts = pieces.length > 0 ? pieces.map((p) => p.trim()) : [""];
    texts.forEach((text, i) => {
      const cost = text.length + overhead;
      if (current.length > 0 && size + cost > maxChars) {
        chunks.push(current);
        current = [];
        size = 0;
      }
      current.push({ url: page.url, title: page.title, text, part: i + 1, parts: texts.length });
      size += cost;
    });
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
