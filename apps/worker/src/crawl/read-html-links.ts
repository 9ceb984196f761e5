import type { LinkCandidate } from "@orbweaver/extract";
import { Parser } from "htmlparser2";

/** Links read per page, as in the browser (a page with more is cut). */
const MAX_ANCHORS = 5000;
/** Elements whose content a browser with scripts on never shows as links or text. */
const HIDDEN = new Set(["noscript", "template", "script", "style"]);

interface Slot {
  url: string;
  text: string[];
  label: string;
}

/**
 * The links of an HTML document fetched without a browser, as the browser path reads them from the
 * rendered page: every `a[href]` and `area[href]` in document order, resolved against the first
 * `<base href>` (else the page URL), with the anchor's text (else its `aria-label` or `title`).
 * A streaming parse (htmlparser2), no DOM: it runs on every page of a fast crawl.
 */
export function readHtmlLinks(html: string, pageUrl: string): LinkCandidate[] {
  let base = pageUrl;
  let baseSeen = false;
  const slots: Slot[] = [];
  const openAnchors: Slot[] = [];
  let hidden = 0;
  const resolve = (href: string): string | null => {
    try {
      return new URL(href.trim(), base).href;
    } catch {
      return null;
    }
  };
  const parser = new Parser(
    {
      onopentag(name, attrs) {
        if (HIDDEN.has(name)) {
          hidden++;
          return;
        }
        if (hidden > 0) return;
        if (name === "base" && !baseSeen && attrs.href !== undefined) {
          baseSeen = true;
          base = resolve(attrs.href) ?? base;
          return;
        }
        if ((name !== "a" && name !== "area") || attrs.href === undefined || slots.length >= MAX_ANCHORS) return;
        const url = resolve(attrs.href);
        if (url === null) return;
        // The slot is taken at the opening tag, so the order is document order.
        const slot: Slot = { url, text: [], label: attrs["aria-label"] ?? attrs.title ?? "" };
        slots.push(slot);
        // Anchors do not nest in HTML: a new one ends the one still open.
        if (name === "a") openAnchors.splice(0, openAnchors.length, slot);
      },
      ontext(text) {
        if (hidden === 0) for (const anchor of openAnchors) anchor.text.push(text);
      },
      onclosetag(name) {
        if (HIDDEN.has(name)) hidden = Math.max(0, hidden - 1);
        else if (name === "a" && hidden === 0) openAnchors.pop();
      },
    },
    { decodeEntities: true },
  );
  parser.write(html);
  parser.end();
  return slots.map((s) => {
    const text = s.text.join("").replace(/\s+/g, " ").trim() || s.label.trim();
    return { url: s.url, text: text.slice(0, 300) };
  });
}
