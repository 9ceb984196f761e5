// In-page scripts for forEach items: what to click, what to follow, what appeared after a click
// (open shadow roots included).
// Runs in the browser (see page-helpers.ts for the rules): no module-level values, literals only.
import type * as Helpers from "./page-helpers.ts";

declare const bodyElements: typeof Helpers.bodyElements;
declare const composedParent: typeof Helpers.composedParent;
declare const cssPath: typeof Helpers.cssPath;
declare const deepQueryAll: typeof Helpers.deepQueryAll;
declare const openShadowRoots: typeof Helpers.openShadowRoots;
declare const queryPath: typeof Helpers.queryPath;
declare const isShown: typeof Helpers.isShown;
declare const textOf: typeof Helpers.textOf;

export interface Captured {
  html: string;
  text: string;
  /** A dialog or fixed-position layer that should be closed before the next item. */
  overlay: boolean;
  /** What was captured: the captureSelector match, newly revealed content, or the item itself. */
  source: "selector" | "revealed" | "item" | "page";
}

/** The element's own link: itself, an enclosing <a>, or its first descendant link. */
export function linkOf(el: Element): string | null {
  const a = (
    el.matches("a[href]") ? el : (el.closest("a[href]") ?? el.querySelector("a[href]"))
  ) as HTMLAnchorElement | null;
  if (!a) return null;
  const href = a.href;
  // Same-page anchors and script links lead nowhere a new page could load.
  if (!/^https?:/i.test(href) || href.split("#")[0] === location.href.split("#")[0]) return null;
  return href;
}

/** `el` itself, or (as a `:scope` path) the one control inside a non-clickable card. */
export function clickTargetOf(el: Element): string {
  const controls = "a[href], button, summary, [role=button], [role=tab], [aria-expanded], [onclick]";
  if (el.matches(`${controls}, input, select`) || getComputedStyle(el).cursor === "pointer") return "";
  // A web component's controls are in its shadow root.
  const inner = [
    ...Array.from(el.querySelectorAll(controls)),
    ...Array.from(el.shadowRoot?.querySelectorAll(controls) ?? []),
  ].filter(isShown);
  const pick =
    inner.find(
      (e) => e.hasAttribute("aria-expanded") || e.hasAttribute("aria-controls") || e.hasAttribute("aria-haspopup"),
    ) ?? (inner.length === 1 ? inner[0] : undefined);
  if (!pick) return "";
  const steps: string[] = [];
  for (let node: Element | null = pick; node && node !== el; node = composedParent(node)) {
    const parent: Node | null = node.parentNode;
    if (!(parent instanceof Element || parent instanceof ShadowRoot)) return "";
    steps.unshift(
      `${CSS.escape(node.localName)}:nth-child(${Array.prototype.indexOf.call(parent.children, node) + 1})`,
    );
  }
  return `:scope > ${steps.join(" > ")}`;
}

/** CSS path of the element (to find it again after a click). */
export function pathOf(el: Element): string {
  return cssPath(el);
}

/** Remembers what is visible now, so content revealed by the next click can be told apart. */
export function markVisible(): number {
  const seen = new WeakSet<Element>();
  let n = 0;
  for (const e of bodyElements(openShadowRoots())) {
    if (isShown(e)) {
      seen.add(e);
      n++;
    }
  }
  (window as unknown as { __orbweaverSeen?: WeakSet<Element> }).__orbweaverSeen = seen;
  return n;
}

/**
 * After a click: the captureSelector match (inside the item or newly shown first), else the
 * largest newly visible block (dialogs preferred), else the item itself. Remembers the result
 * for {@link capturedStillShown} and {@link findCloseControl}.
 */
export function captureRevealed(arg: { captureSelector?: string; itemPath?: string }): Captured | null {
  const w = window as unknown as { __orbweaverSeen?: WeakSet<Element>; __orbweaverCaptured?: Element };
  if (!w.__orbweaverSeen) {
    // A new document (nested actions navigated): everything is "new", so take the page.
    const match = arg.captureSelector ? (deepQueryAll(arg.captureSelector, openShadowRoots())[0] ?? null) : null;
    const page = match ?? document.body;
    return { html: page.outerHTML, text: textOf(page, 200_000), overlay: false, source: "page" };
  }
  const seen = w.__orbweaverSeen;
  const roots = openShadowRoots();
  // The path was taken before the click; the item may have been re-rendered since.
  const liveItem = arg.itemPath ? queryPath(arg.itemPath, roots) : null;
  const dialogish = (e: Element): boolean =>
    e.matches("dialog[open], [role=dialog], [role=alertdialog], [aria-modal=true]") ||
    ["fixed", "sticky"].includes(getComputedStyle(e).position);
  const overlayOf = (e: Element): boolean => {
    for (let n: Element | null = e; n && n !== document.body; n = composedParent(n)) if (dialogish(n)) return true;
    return false;
  };
  let pick: Element | undefined;
  let source: Captured["source"] = "revealed";
  if (arg.captureSelector) {
    const matches = deepQueryAll(arg.captureSelector, roots).filter(isShown);
    const inItem = (e: Element): boolean => !!liveItem && (liveItem.contains(e) || e.contains(liveItem));
    pick =
      matches.find((e) => inItem(e) && !seen.has(e)) ??
      matches.find((e) => !seen.has(e)) ??
      matches.find(inItem) ??
      matches[matches.length - 1];
    source = "selector";
    if (!pick) return null;
  } else {
    let best = -1;
    for (const e of bodyElements(roots)) {
      if (seen.has(e) || !isShown(e)) continue;
      const parent = composedParent(e);
      if (parent && parent !== document.body && !seen.has(parent) && isShown(parent)) continue; // not the outermost new block
      const size = textOf(e, 5000).length;
      if (size === 0) continue;
      const score = size + (overlayOf(e) ? 100_000 : 0);
      if (score > best) {
        best = score;
        pick = e;
      }
    }
    if (!pick && liveItem) {
      pick = liveItem;
      source = "item";
    }
    if (!pick) return null;
  }
  w.__orbweaverCaptured = pick;
  return { html: pick.outerHTML, text: textOf(pick, 200_000), overlay: overlayOf(pick), source };
}

/** Whether the last captured element is still on screen (after an attempt to close it). */
export function capturedStillShown(): boolean {
  const captured = (window as unknown as { __orbweaverCaptured?: Element }).__orbweaverCaptured;
  return !!captured && captured.isConnected && isShown(captured);
}

/** CSS path of a close/dismiss control inside the captured layer, or null. */
export function findCloseControl(): string | null {
  const captured = (window as unknown as { __orbweaverCaptured?: Element }).__orbweaverCaptured;
  if (!captured?.isConnected) return null;
  const layer = captured.closest("dialog, [role=dialog], [role=alertdialog], [aria-modal=true]") ?? captured;
  const words = /\b(close|dismiss|cancel|done|back|got it|ok)\b|^\s*[×✕✖xX]\s*$/i;
  for (const e of Array.from(
    layer.querySelectorAll("button, [role=button], a, [aria-label], [data-dismiss], [data-bs-dismiss]"),
  )) {
    if (!isShown(e)) continue;
    const label = [
      e.getAttribute("aria-label"),
      e.getAttribute("title"),
      textOf(e, 40),
      typeof e.className === "string" ? e.className : "",
    ].join(" ");
    if (words.test(label) || e.hasAttribute("data-dismiss") || e.hasAttribute("data-bs-dismiss")) return cssPath(e);
  }
  return null;
}

/** Inline capture: the item, or the captureSelector container around or inside it. */
export function captureInline(el: Element, arg: { captureSelector?: string }): Captured {
  const target = arg.captureSelector
    ? (el.closest(arg.captureSelector) ?? el.querySelector(arg.captureSelector) ?? el)
    : el;
  return {
    html: target.outerHTML,
    text: textOf(target, 200_000),
    overlay: false,
    source: target === el ? "item" : "selector",
  };
}

/** Whole-page capture (navigate mode, or a click that navigated): captureSelector if present, else <body>. */
export function capturePageContent(arg: { captureSelector?: string }): Captured & { matched: boolean } {
  const match = arg.captureSelector ? (deepQueryAll(arg.captureSelector, openShadowRoots())[0] ?? null) : null;
  const target = match ?? document.body;
  return {
    html: target.outerHTML,
    text: textOf(target, 200_000),
    overlay: false,
    source: "page",
    matched: match !== null,
  };
}

/**
 * Identity of each member of a group (its text and link), to tell after "next" whether the list was
 * replaced (a new page), extended ("load more", even when it rewrites the URL) or left as it was.
 */
export function memberKeys(els: Element[]): string[] {
  return els.slice(0, 1000).map((el) => {
    const a = (el.matches("a[href]") ? el : el.querySelector("a[href]")) as HTMLAnchorElement | null;
    const img = (el.matches("img") ? el : el.querySelector("img")) as HTMLImageElement | null;
    const text = (el.textContent ?? "").replace(/\s+/g, " ").trim().slice(0, 300);
    const key = `${text}|${a?.href ?? ""}|${img?.currentSrc || img?.src || ""}`;
    // Nothing to tell members apart by (icons, empty boxes): their markup.
    return key === "||" ? el.outerHTML.slice(0, 500) : key;
  });
}

/** Disabled-looking controls end pagination ("Next" greyed out on the last page). */
export function isDisabledControl(el: Element): boolean {
  return (
    el.matches(":disabled") ||
    el.getAttribute("aria-disabled") === "true" ||
    el.closest(".disabled, [aria-disabled=true]") !== null ||
    !isShown(el)
  );
}
