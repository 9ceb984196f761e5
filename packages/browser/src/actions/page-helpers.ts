// Helpers inlined into every in-page script by evaluate-script.ts. They run in the browser, so each
// must be a self-contained function declaration (no imports, no module-level values).

/** A CSS path that finds `el` again: a unique #id anchor if any, then :nth-child steps. */
export function cssPath(el: Element): string {
  const parts: string[] = [];
  let node: Element | null = el;
  while (node && node !== document.documentElement) {
    if (node.id) {
      const byId = `#${CSS.escape(node.id)}`;
      if (document.querySelectorAll(byId).length === 1) {
        parts.unshift(byId);
        return parts.join(" > ");
      }
    }
    const parent: Element | null = node.parentElement;
    if (!parent) break;
    parts.unshift(
      `${CSS.escape(node.localName)}:nth-child(${Array.prototype.indexOf.call(parent.children, node) + 1})`,
    );
    node = parent;
  }
  return ["html", ...parts].join(" > ");
}

/** Same notion of visible as Playwright: a non-empty box and not hidden by CSS (opacity ignored). */
export function isShown(el: Element): boolean {
  const rect = el.getBoundingClientRect();
  if (rect.width <= 0 || rect.height <= 0) return false;
  return el.checkVisibility({ checkVisibilityCSS: true });
}

/** Rendered text with whitespace collapsed, cut to `max` characters. */
export function textOf(el: Element, max: number): string {
  const raw = el instanceof HTMLElement ? el.innerText : (el.textContent ?? "");
  return raw.replace(/\s+/g, " ").trim().slice(0, max);
}
