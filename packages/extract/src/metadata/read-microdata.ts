// Basic HTML microdata (itemscope/itemprop) reader. itemref is not followed:
// it is rare in the wild and would need cycle detection across the page.

/** The slice of the DOM Element API we use (linkedom elements satisfy it). */
export interface MicrodataElement {
  tagName: string;
  textContent: string | null;
  parentElement: MicrodataElement | null;
  hasAttribute(name: string): boolean;
  getAttribute(name: string): string | null;
}

/** Nested items deeper than this are cut off (pathological or malicious pages). */
const MAX_ITEM_DEPTH = 8;
/** Long text values are clipped: metadata is context for the model, the Markdown carries the content. */
const MAX_TEXT_CHARS = 500;

const URL_ATTRIBUTE: Record<string, string> = {
  A: "href",
  AREA: "href",
  LINK: "href",
  AUDIO: "src",
  EMBED: "src",
  IFRAME: "src",
  IMG: "src",
  SOURCE: "src",
  TRACK: "src",
  VIDEO: "src",
  OBJECT: "data",
};

function clip(text: string): string {
  const collapsed = text.replace(/\s+/g, " ").trim();
  return collapsed.length > MAX_TEXT_CHARS ? `${collapsed.slice(0, MAX_TEXT_CHARS)}…` : collapsed;
}

/** The closest itemscope ancestor (excluding the element itself). */
function owningScope(el: MicrodataElement): MicrodataElement | null {
  for (let p = el.parentElement; p; p = p.parentElement) if (p.hasAttribute("itemscope")) return p;
  return null;
}

function propertyValue(el: MicrodataElement): string {
  const tag = el.tagName.toUpperCase();
  if (tag === "META") return el.getAttribute("content") ?? "";
  const urlAttr = URL_ATTRIBUTE[tag];
  if (urlAttr) return el.getAttribute(urlAttr) ?? "";
  if (tag === "DATA" || tag === "METER") return el.getAttribute("value") ?? clip(el.textContent ?? "");
  if (tag === "TIME") return el.getAttribute("datetime") ?? clip(el.textContent ?? "");
  return clip(el.textContent ?? "");
}

function addProperty(item: Record<string, unknown>, name: string, value: unknown): void {
  const existing = item[name];
  if (existing === undefined) item[name] = value;
  else if (Array.isArray(existing)) existing.push(value);
  else item[name] = [existing, value];
}

/**
 * Reads microdata items: one record per top-level itemscope (an itemscope
 * that is not itself an itemprop), with `@type` from itemtype and one key per
 * itemprop name; repeated properties become arrays, nested items nested
 * records.
 */
export function readMicrodata(all: MicrodataElement[]): Array<Record<string, unknown>> {
  const props = new Map<MicrodataElement, MicrodataElement[]>();
  for (const el of all) {
    if (!el.hasAttribute("itemprop")) continue;
    const scope = owningScope(el);
    if (!scope) continue;
    const list = props.get(scope) ?? [];
    list.push(el);
    props.set(scope, list);
  }

  const build = (scope: MicrodataElement, depth: number): Record<string, unknown> => {
    const item: Record<string, unknown> = {};
    const type = scope.getAttribute("itemtype")?.trim();
    if (type) item["@type"] = type;
    for (const el of props.get(scope) ?? []) {
      const names = (el.getAttribute("itemprop") ?? "").split(/\s+/).filter(Boolean);
      const nested = el.hasAttribute("itemscope");
      if (nested && depth >= MAX_ITEM_DEPTH) continue;
      const value = nested ? build(el, depth + 1) : propertyValue(el);
      for (const name of names) addProperty(item, name, value);
    }
    return item;
  };

  return all
    .filter((el) => el.hasAttribute("itemscope") && !el.hasAttribute("itemprop"))
    .map((scope) => build(scope, 1));
}
