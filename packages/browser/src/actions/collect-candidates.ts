// In-page script: the visible, enabled elements a plain-English description can point at, with the
// names a person would use for them, open shadow roots included (consent banners and design-system
// buttons are often web components). Runs in the browser (see page-helpers.ts for the rules).
import type * as Helpers from "./page-helpers.ts";

declare const composedParent: typeof Helpers.composedParent;
declare const cssPath: typeof Helpers.cssPath;
declare const deepQueryAll: typeof Helpers.deepQueryAll;
declare const openShadowRoots: typeof Helpers.openShadowRoots;
declare const pathIndex: typeof Helpers.pathIndex;
declare const isShown: typeof Helpers.isShown;
declare const textOf: typeof Helpers.textOf;

export interface RawCandidate {
  /** CSS path to locate the element again… */
  path: string;
  /** …and which of its matches it is, when a shadow host's light and shadow children both fit. */
  nth?: number;
  tag: string;
  /** Explicit or implicit ARIA role; a label standing in for a hidden control carries the control's role. */
  role: string;
  /** Accessible-name-like fields, strongest signals first. */
  name: string;
  text: string;
  labels: string;
  placeholder: string;
  title: string;
  value: string;
  /** id, name, class, type, rel: weak hints ("btn-accept", rel=next). */
  attrs: string;
  /** Labels and prose of the surrounding container ("Cookie consent: We use cookies…"). */
  context: string;
}

/** Passed to {@link collectCandidates} as `selector` (module values do not exist in the page). */
export const CANDIDATE_SELECTOR = [
  "button",
  "a[href]",
  "input:not([type=hidden])",
  "select",
  "textarea",
  "summary",
  "label",
  "[role]",
  "[onclick]",
  "[tabindex]:not([tabindex='-1'])",
  "[contenteditable='true']",
].join(",");

/**
 * `root`: only elements inside it (a forEach item, passed as an element handle). `hints`: word
 * stems of the description; past `max` elements, those whose text or attributes hold one come
 * first (a cookie banner after 2,000 links is still a candidate).
 */
export function collectCandidates(arg: {
  max: number;
  selector: string;
  root?: Element;
  hints?: string[];
}): RawCandidate[] {
  const roots = openShadowRoots();
  const inScope = (el: Element): boolean => {
    if (!arg.root) return true;
    for (let n: Element | null = el; n; n = composedParent(n)) if (n === arg.root) return true;
    return false;
  };
  const interactive = new Set(
    "button link checkbox radio switch tab menuitem menuitemcheckbox menuitemradio option combobox listbox textbox searchbox spinbutton slider treeitem".split(
      " ",
    ),
  );
  const collapse = (s: string | null | undefined, max = 120): string =>
    (s ?? "").replace(/\s+/g, " ").trim().slice(0, max);
  const implicitRole = (el: Element): string => {
    const explicit = el.getAttribute("role")?.trim().split(/\s+/)[0];
    if (explicit) return explicit;
    const tag = el.localName;
    if (tag === "a") return "link";
    if (tag === "button" || tag === "summary") return "button";
    if (tag === "select") return (el as HTMLSelectElement).multiple ? "listbox" : "combobox";
    if (tag === "textarea" || (el as HTMLElement).isContentEditable) return "textbox";
    if (tag === "input") {
      const type = (el as HTMLInputElement).type;
      if (["button", "submit", "reset", "image"].includes(type)) return "button";
      if (type === "checkbox" || type === "radio") return type;
      if (type === "search") return "searchbox";
      if (type === "number") return "spinbutton";
      if (type === "range") return "slider";
      return "textbox";
    }
    return "generic";
  };
  const labelsOf = (el: Element): string => {
    const ids = el.getAttribute("aria-labelledby");
    const parts: string[] = [];
    // aria-labelledby names ids of the element's own tree (its shadow root, or the document).
    const tree = el.getRootNode() as Document | ShadowRoot;
    if (ids) for (const id of ids.split(/\s+/)) parts.push(textOf(tree.getElementById(id) ?? document.body, 80));
    const labels = (el as HTMLInputElement).labels;
    if (labels) for (const l of Array.from(labels)) parts.push(textOf(l, 80));
    return collapse(parts.join(" "));
  };
  const contextOf = (el: Element): string => {
    const parts: string[] = [];
    let node = composedParent(el);
    for (let depth = 0; node && node !== document.body && depth < 6; depth++, node = composedParent(node)) {
      parts.push(
        node.getAttribute("aria-label") ?? "",
        node.id,
        typeof node.className === "string" ? node.className : "",
      );
      const isContainer =
        /^(dialog|form|section|nav|aside|header|footer|fieldset)$/.test(node.localName) || node.hasAttribute("role");
      if (isContainer || depth === 5) {
        // Prose of the container, not its other controls: "We use cookies" helps, "Reject" would mislead.
        const prose = Array.from(node.querySelectorAll("p, h1, h2, h3, h4, h5, h6, legend")).slice(0, 3);
        parts.push(...prose.map((p) => textOf(p, 100)));
        break;
      }
    }
    // id and class often repeat each other ("cookie-banner cookie-banner"); keep each word once.
    return collapse([...new Set(parts.join(" ").split(/\s+/))].join(" "), 300);
  };
  const isEnabled = (el: Element): boolean => !el.matches(":disabled") && el.getAttribute("aria-disabled") !== "true";

  const seen = new Map<Element, number>();
  const out: Array<RawCandidate & { el: Element; dropped?: boolean }> = [];
  const add = (el: Element, role: string): void => {
    if (seen.has(el) || out.length >= arg.max) return;
    const h = el as HTMLElement;
    const labels = labelsOf(el);
    const text = textOf(el, 120);
    const input = el as HTMLInputElement;
    const value = el.localName === "input" && ["button", "submit", "reset"].includes(input.type) ? input.value : "";
    // Icon buttons: the image's alt text, or the icon's own <svg><title> / aria-label.
    const imgAlt =
      el.querySelector("img[alt]")?.getAttribute("alt") ??
      el.querySelector("svg[aria-label]")?.getAttribute("aria-label") ??
      el.querySelector("svg title")?.textContent ??
      "";
    const ariaLabel = el.getAttribute("aria-label") ?? "";
    const name = collapse(ariaLabel || labels || value || (el.localName === "input" ? "" : text) || imgAlt || h.title);
    seen.set(el, out.length);
    const path = cssPath(el, roots);
    const nth = pathIndex(el, path, roots);
    out.push({
      el,
      path,
      ...(nth === undefined ? {} : { nth }),
      tag: el.localName,
      role,
      name,
      text,
      labels,
      placeholder: collapse(el.getAttribute("placeholder")),
      title: collapse(h.title),
      value: collapse(value),
      attrs: collapse(["id", "name", "class", "type", "rel"].map((a) => el.getAttribute(a) ?? "").join(" ")),
      context: contextOf(el),
    });
  };

  let elements = deepQueryAll(arg.selector, roots);
  const hints = arg.hints ?? [];
  if (elements.length > arg.max && hints.length > 0) {
    const hinted = (el: Element): boolean => {
      const control = (el as HTMLLabelElement).control ?? null;
      const own = [
        (el.textContent ?? "").slice(0, 300),
        ...["aria-label", "placeholder", "title", "value", "alt", "id", "class", "name"].map(
          (a) => el.getAttribute(a) ?? "",
        ),
        Array.from((el as HTMLInputElement).labels ?? [], (l) => l.textContent ?? "").join(" "),
        control ? (control.getAttribute("name") ?? "") : "",
      ]
        .join(" ")
        .toLowerCase();
      return hints.some((h) => own.includes(h));
    };
    const first = new Set(elements.filter(hinted));
    elements = [...first, ...elements.filter((el) => !first.has(el))];
  }
  for (const el of elements) {
    if (!isEnabled(el) || !inScope(el)) continue;
    if (el.localName === "label") {
      // A label only counts when its control is hidden (custom checkboxes): then it is what gets clicked.
      const control = (el as HTMLLabelElement).control;
      if (!control || isShown(control) || !isEnabled(control) || !isShown(el)) continue;
      add(el, implicitRole(control));
      continue;
    }
    if (!isShown(el)) continue;
    const role = implicitRole(el);
    if (interactive.has(role)) add(el, role);
    // Landmarks and lists are not targets unless scripted (onclick / focusable).
    else if (el.hasAttribute("onclick") || el.hasAttribute("tabindex") || el.localName === "summary")
      add(el, "generic");
  }
  // Clickable-looking boxes without markup semantics (div with a JS listener and cursor:pointer).
  for (const el of deepQueryAll("div, span, li, img, i, svg", roots)) {
    if (out.length >= arg.max) break;
    if (seen.has(el) || !inScope(el) || getComputedStyle(el).cursor !== "pointer") continue;
    const parent = composedParent(el);
    if (parent && getComputedStyle(parent).cursor === "pointer") continue;
    if (el.closest("a[href], button") || !isShown(el) || !textOf(el, 1)) continue;
    add(el, "generic");
  }
  // An element wrapping another with the same text (a > button, div[onclick] > a) is one target.
  for (const c of out) {
    for (let p = composedParent(c.el); p; p = composedParent(p)) {
      const i = seen.get(p);
      const outer = i === undefined ? undefined : out[i];
      if (outer && outer.text === c.text) outer.dropped = true;
    }
  }
  return out.filter((c) => !c.dropped).map(({ el: _el, dropped: _d, ...rest }) => rest);
}
