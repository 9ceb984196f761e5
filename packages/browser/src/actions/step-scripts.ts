// In-page scripts for single-step actions. Runs in the browser (see page-helpers.ts for the rules).
import type * as Helpers from "./page-helpers.ts";

declare const bodyElements: typeof Helpers.bodyElements;
declare const cssPath: typeof Helpers.cssPath;
declare const isShown: typeof Helpers.isShown;
declare const openShadowRoots: typeof Helpers.openShadowRoots;

/**
 * Scrolls the page (or, for app layouts where the body does not scroll, the largest scroller, which
 * may be inside a web component's shadow root, as Ionic's ion-content is).
 */
export async function scrollToFraction(arg: {
  fraction: number;
}): Promise<{ y: number; max: number; scroller: string }> {
  const root = document.scrollingElement ?? document.documentElement;
  let scroller: Element = root;
  let max = root.scrollHeight - window.innerHeight;
  let roots: ShadowRoot[] | undefined;
  if (max <= 0) {
    roots = openShadowRoots();
    for (const el of bodyElements(roots).slice(0, 20_000)) {
      const range = el.scrollHeight - el.clientHeight;
      if (range > Math.max(max, 50) && /auto|scroll/.test(getComputedStyle(el).overflowY)) {
        scroller = el;
        max = range;
      }
    }
  }
  max = Math.max(0, max);
  const target = Math.round(max * arg.fraction);
  // A viewport at a time, so lazy-loading observers along the way fire; "instant" beats CSS smooth scrolling.
  const step = Math.max(200, window.innerHeight * 0.9);
  let y = scroller.scrollTop;
  for (let i = 0; i < 30 && Math.abs(target - y) > step; i++) {
    y += Math.sign(target - y) * step;
    scroller.scrollTo({ top: y, behavior: "instant" });
    await new Promise((r) => setTimeout(r, 30));
  }
  scroller.scrollTo({ top: target, behavior: "instant" });
  return { y: scroller.scrollTop, max, scroller: scroller === root ? "page" : cssPath(scroller, roots) };
}

/**
 * For an invisible checkbox/radio input (custom-styled), sets the state with a DOM click, which
 * fires the page's change handlers. "not-hidden" leaves the job to Playwright.
 */
export function setHiddenChecked(el: Element, arg: { wanted: boolean }): "not-hidden" | "done" | "failed" {
  if (!(el instanceof HTMLInputElement) || !/^(checkbox|radio)$/.test(el.type) || isShown(el)) return "not-hidden";
  if (el.checked !== arg.wanted) el.click();
  return el.checked === arg.wanted ? "done" : "failed";
}

/** Whether typing key by key spells the value (text inputs, textareas, contenteditable). */
export function takesKeystrokes(el: Element): boolean {
  if (el instanceof HTMLTextAreaElement) return true;
  if (el instanceof HTMLInputElement)
    return /^(text|search|email|url|tel|password|number|)$/.test(el.type) && !el.readOnly;
  return (el as HTMLElement).isContentEditable === true;
}

/** What a text field holds after typing (null for contenteditable: its text is its own). */
export function typedValue(el: Element): { value: string; maxLength: number } | null {
  if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement)
    return { value: el.value, maxLength: el.maxLength };
  return null;
}

/** The <select> option whose value or label equals `wanted` (exact first, then case-insensitive). */
export function findOption(
  el: Element,
  arg: { wanted: string },
): { index: number; label: string; inner: boolean } | { error: string } {
  const own = el instanceof HTMLSelectElement ? el : el instanceof HTMLLabelElement ? el.control : null;
  const select = own instanceof HTMLSelectElement ? own : el.querySelector("select");
  if (!select) return { error: `the element is not a <select> dropdown (<${el.localName}>)` };
  const options = Array.from(select.options);
  const norm = (s: string): string => s.replace(/\s+/g, " ").trim().toLowerCase();
  const wanted = norm(arg.wanted);
  const hit =
    options.find((o) => o.value === arg.wanted) ??
    options.find((o) => o.label.trim() === arg.wanted.trim()) ??
    options.find((o) => norm(o.value) === wanted || norm(o.label) === wanted);
  if (!hit) {
    const names = options.slice(0, 15).map((o) => JSON.stringify(o.label.trim() || o.value));
    return { error: `no option ${JSON.stringify(arg.wanted)} in the dropdown (options: ${names.join(", ")})` };
  }
  return { index: hit.index, label: hit.label.trim(), inner: select !== el && !(el instanceof HTMLLabelElement) };
}
