// Helpers inlined into every in-page script by evaluate-script.ts. They run in the browser, so each
// must be a self-contained function declaration (no imports, no module-level values); they may call
// each other.
//
// Web components: elements inside open shadow roots are reached too. Paths to them follow
// Playwright's CSS engine, whose `>` steps from a shadow host into its shadow root's top level, so
// `page.locator(path)` finds them; {@link queryPath} resolves the same paths inside the page.

/** Every open shadow root in the document, nested ones included (host order). */
export function openShadowRoots(): ShadowRoot[] {
  const out: ShadowRoot[] = [];
  const walk = (root: Document | ShadowRoot): void => {
    for (const el of Array.from(root.querySelectorAll("*"))) {
      const inner = el.shadowRoot;
      if (inner) {
        out.push(inner);
        walk(inner);
      }
    }
  };
  walk(document);
  return out;
}

/** `selector`'s matches in the document, then in each open shadow root (matched within one root each). */
export function deepQueryAll(selector: string, roots: readonly ShadowRoot[]): Element[] {
  const out = Array.from(document.querySelectorAll(selector));
  for (const root of roots) out.push(...Array.from(root.querySelectorAll(selector)));
  return out;
}

/** Every element of <body>, then every element of each open shadow root. */
export function bodyElements(roots: readonly ShadowRoot[]): Element[] {
  const out = Array.from(document.body.querySelectorAll("*"));
  for (const root of roots) out.push(...Array.from(root.querySelectorAll("*")));
  return out;
}

/** The parent element, or the host for a shadow root's top-level element. */
export function composedParent(el: Element): Element | null {
  const parent = el.parentNode;
  if (parent instanceof ShadowRoot) return parent.host;
  return parent instanceof Element ? parent : null;
}

/**
 * A CSS path that finds `el` again: a unique #id anchor if any, then :nth-child steps, crossing
 * from a shadow host into its shadow root as Playwright does. `roots` (from {@link openShadowRoots})
 * makes ids unique across shadow roots too; without it the shadow roots are looked up when needed.
 */
export function cssPath(el: Element, roots?: readonly ShadowRoot[]): string {
  const parts: string[] = [];
  let node: Element | null = el;
  let known = roots;
  // Ids counted once per list of roots (kept on the array: one script run), not per element.
  const idCount = (id: string, inDocument: number): number => {
    known ??= openShadowRoots();
    if (known.length === 0) return inDocument;
    const cache = known as readonly ShadowRoot[] & { __orbweaverIds?: Map<string, number> };
    if (!cache.__orbweaverIds) {
      const counts = new Map<string, number>();
      for (const e of deepQueryAll("[id]", known)) counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
      cache.__orbweaverIds = counts;
    }
    return cache.__orbweaverIds.get(id) ?? 0;
  };
  while (node && node !== document.documentElement) {
    if (node.id) {
      const byId = `#${CSS.escape(node.id)}`;
      const inDocument = document.querySelectorAll(byId).length;
      if (inDocument <= 1 && idCount(node.id, inDocument) === 1) {
        parts.unshift(byId);
        return parts.join(" > ");
      }
    }
    const parent: Node | null = node.parentNode;
    if (!(parent instanceof Element || parent instanceof ShadowRoot)) break;
    parts.unshift(
      `${CSS.escape(node.localName)}:nth-child(${Array.prototype.indexOf.call(parent.children, node) + 1})`,
    );
    node = parent instanceof ShadowRoot ? parent.host : parent;
  }
  return ["html", ...parts].join(" > ");
}

/**
 * Every element a {@link cssPath} path names, in the order Playwright's locator lists them: a
 * path into a shadow root also fits a light child of the host with the same position (slotted
 * content), listed first.
 */
export function queryPathAll(path: string, roots: readonly ShadowRoot[]): Element[] {
  // Escaped identifiers never hold " > " (CSS.escape puts a backslash before ">").
  const [first = "", ...steps] = path.split(" > ");
  let set: Element[];
  try {
    set = first === "html" ? [document.documentElement] : deepQueryAll(first, roots);
    for (const step of steps) {
      const next: Element[] = [];
      for (const node of set) {
        const kids = [...Array.from(node.children), ...Array.from(node.shadowRoot?.children ?? [])];
        for (const kid of kids) if (kid.matches(step)) next.push(kid);
      }
      set = next;
    }
  } catch {
    return []; // not one of our paths
  }
  return set;
}

/** The element a {@link cssPath} path names (the first, if several fit), or null. */
export function queryPath(path: string, roots: readonly ShadowRoot[]): Element | null {
  return queryPathAll(path, roots)[0] ?? null;
}

/** `el`'s index among the matches of its path when several elements fit it (else undefined). */
export function pathIndex(el: Element, path: string, roots: readonly ShadowRoot[]): number | undefined {
  if (roots.length === 0) return undefined; // without shadow roots a path names one element
  const all = queryPathAll(path, roots);
  return all.length > 1 ? Math.max(0, all.indexOf(el)) : undefined;
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
