// In-page script: repeating sibling structures (cards, rows, list items) that a forEach
// description like "news stories" may mean, open shadow roots included. Runs in the browser (see
// page-helpers.ts).
import type * as Helpers from "./page-helpers.ts";

declare const composedParent: typeof Helpers.composedParent;
declare const cssPath: typeof Helpers.cssPath;
declare const deepQueryAll: typeof Helpers.deepQueryAll;
declare const openShadowRoots: typeof Helpers.openShadowRoots;
declare const isShown: typeof Helpers.isShown;
declare const textOf: typeof Helpers.textOf;

export interface RawGroup {
  /** CSS selector matching the members (global signature if unique, else scoped to the parent). */
  selector: string;
  count: number;
  tag: string;
  /** Classes every member has. */
  classes: string[];
  /** Parent id/class/aria-label and the nearest heading above the group. */
  context: string;
  /** Text of the first members (200 chars each). */
  texts: string[];
  /** Share of members that are or contain a link. */
  linkShare: number;
  avgText: number;
  /** Inside header/nav/footer/aside: menus rather than content. */
  inChrome: boolean;
}

export function collectGroups(arg: { maxGroups: number; minMembers: number }): RawGroup[] {
  const roots = openShadowRoots();
  const skipChild = /^(script|style|template|noscript|br|hr|link|meta|option|optgroup|source|track|param|wbr|col)$/;
  const skipParent = /^(select|datalist|svg|head|picture|video|audio|map|colgroup|script|style|template|noscript)$/;
  const chrome =
    "header, nav, footer, aside, [role=navigation], [role=banner], [role=contentinfo], [role=complementary]";
  const classOf = (e: Element): string => (typeof e.className === "string" ? e.className : "");
  const headingNear = (parent: Element): string => {
    const own = parent.querySelector(":scope > h1, :scope > h2, :scope > h3, :scope > h4, :scope > h5, :scope > h6");
    if (own) return textOf(own, 100);
    let node: Element | null = parent;
    for (let depth = 0; node && depth < 3; depth++, node = composedParent(node)) {
      let sib = node.previousElementSibling;
      for (let k = 0; sib && k < 4; k++, sib = sib.previousElementSibling) {
        if (/^h[1-6]$/.test(sib.localName)) return textOf(sib, 100);
        const inner = Array.from(sib.querySelectorAll("h1, h2, h3, h4, h5, h6")).pop();
        if (inner) return textOf(inner, 100);
      }
    }
    return "";
  };
  const out: RawGroup[] = [];
  // `parent` is the members' parent element, or the host of the shadow root they are the top level of
  // (Playwright's `host > li` reaches them; so does the page-wide signature, counted in every root).
  const build = (parent: Element, tag: string, set: Element[]): RawGroup => {
    const first = set[0] as Element;
    const classes = Array.from(first.classList).filter((c) => set.every((m) => m.classList.contains(c)));
    const signature = tag + classes.map((c) => `.${CSS.escape(c)}`).join("");
    // A page-wide signature survives pagination; a parent-scoped one is exact on this page.
    const selector =
      deepQueryAll(signature, roots).length === set.length ? signature : `${cssPath(parent, roots)} > ${signature}`;
    const texts = set.map((m) => textOf(m, 2000));
    const linked = set.filter((m) => m.matches("a[href]") || m.closest("a[href]") || m.querySelector("a[href]"));
    const grand = composedParent(parent);
    return {
      selector,
      count: set.length,
      tag,
      classes,
      context: [
        parent.id,
        classOf(parent),
        parent.getAttribute("aria-label") ?? "",
        grand?.id ?? "",
        grand ? classOf(grand) : "",
        headingNear(parent),
      ]
        .join(" ")
        .replace(/\s+/g, " ")
        .trim(),
      texts: texts.slice(0, 25).map((t) => t.slice(0, 200)),
      linkShare: linked.length / set.length,
      avgText: texts.reduce((n, t) => n + t.length, 0) / set.length,
      inChrome: first.closest(chrome) !== null,
    };
  };
  const parents: Array<Element | ShadowRoot> = [document.body, ...Array.from(document.body.querySelectorAll("*"))];
  for (const root of roots) parents.push(root, ...Array.from(root.querySelectorAll("*")));
  for (const node of parents) {
    if (out.length >= arg.maxGroups) break;
    const parent = node instanceof ShadowRoot ? node.host : node;
    if (node.children.length < arg.minMembers || skipParent.test(parent.localName) || parent.closest("svg")) continue;
    const buckets = new Map<string, Element[]>();
    for (const child of Array.from(node.children)) {
      if (skipChild.test(child.localName)) continue;
      const bucket = buckets.get(child.localName) ?? [];
      bucket.push(child);
      buckets.set(child.localName, bucket);
    }
    for (const [tag, all] of buckets) {
      if (all.length < arg.minMembers) continue;
      const members = all.filter(
        (e) => isShown(e) && (textOf(e, 1) !== "" || e.matches("a[href]") || e.querySelector("a[href], img") !== null),
      );
      if (members.length < arg.minMembers) continue;
      // The whole bucket, plus each class shared by part of it (li.result among li.ad).
      const sets = new Map<string, Element[]>([["all", members]]);
      const counts = new Map<string, number>();
      for (const m of members) for (const c of Array.from(m.classList)) counts.set(c, (counts.get(c) ?? 0) + 1);
      for (const [c, n] of counts) {
        if (n < arg.minMembers || n === members.length) continue;
        const subset = members.filter((m) => m.classList.contains(c));
        sets.set(subset.map((m) => members.indexOf(m)).join(","), subset);
      }
      for (const set of sets.values()) out.push(build(parent, tag, set));
    }
  }
  return out;
}
