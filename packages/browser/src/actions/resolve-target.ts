import { type ElementHandle, type Frame, type Locator, type Page } from "playwright-core";
import { ResolveError } from "./action-error.ts";
import type { ElementChooser } from "./action-types.ts";
import { askChooser } from "./ask-chooser.ts";
import { CANDIDATE_SELECTOR, collectCandidates, type RawCandidate } from "./collect-candidates.ts";
import { evaluateInPage } from "./evaluate-script.ts";
import {
  ACCEPT_SCORE,
  CLEAR_MARGIN,
  decide,
  describeCandidate,
  rankCandidates,
  type Scored,
} from "./score-candidates.ts";
import { isTagOnlySelector, looksLikeDescription, looksLikeSelector, toPlaywrightSelector } from "./selector-syntax.ts";
import { parseDescription } from "./text-match.ts";

/** What an action names: `selector` (CSS/XPath, or words by mistake) or `value` (plain English). */
export interface TargetSpec {
  selector?: string;
  value?: string;
}

export interface ResolveOptions {
  /** How long a selector may take to appear. */
  timeoutMs: number;
  /** Consulted when a description is ambiguous or matches nothing. Default: none (fail). */
  chooseElement?: ElementChooser;
  /** Roles the action works on (e.g. checkbox for `check`), a tie-breaker when the description names none. */
  preferRoles?: readonly string[];
  /** Time the chooser may take. Default: `timeoutMs` × 3 (model calls are slower than the page). */
  chooserTimeoutMs?: number;
  /**
   * How long an unmatched description is re-tried while the page may still be rendering the
   * element (late cookie banners). Default min(timeoutMs / 2, 5000) ms; 0 for a settled page.
   */
  settleMs?: number;
  /** Only elements of these roles can be the target (`type` needs a text field, not a button). */
  onlyRoles?: readonly string[];
  /**
   * A forEach item: a selector or description is looked for inside it first, so each item's own
   * "Read more" is the one clicked; the whole page is searched when the item holds no match.
   */
  within?: Locator;
}

export interface ResolvedTarget {
  locator: Locator;
  /** How the element was found, for the action log. */
  how: string;
}

/** Longest a description is re-tried while the page may still be rendering the element. */
const DESCRIPTION_SETTLE_MS = 5000;
const POLL_MS = 250;
const SELECTOR_POLL_MS = 100;
/** A selector is looked for in the page's iframes after this long at most. */
const FRAMES_AFTER_MS = 2000;
const MAX_CANDIDATES_PER_FRAME = 1500;
const MAX_FRAMES = 8;
const CHOOSER_LIST = 40;

type FramedCandidate = RawCandidate & { frame: Frame };

/** The description's word stems as plain substrings, for collectCandidates' `hints`. */
function hintsOf(description: string): string[] {
  return parseDescription(description)
    .words.map((w) => w.replace(/i$/, ""))
    .filter((w) => w.length >= 3);
}

/**
 * First match of a CSS/XPath selector, preferring a visible one (pages often keep hidden copies of
 * buttons for mobile layouts), in the page or, failing that, in one of its frames (consent
 * managers live in iframes): frames are searched once the page has had half the time (at most
 * {@link FRAMES_AFTER_MS}) to render its own match. Waits up to `timeoutMs` for it to be attached.
 */
export async function locateSelector(
  page: Page,
  selector: string,
  timeoutMs: number,
): Promise<{ locator: Locator; frameUrl?: string }> {
  const css = toPlaywrightSelector(selector);
  const started = Date.now();
  const until = started + timeoutMs;
  const framesFrom = started + Math.min(timeoutMs / 2, FRAMES_AFTER_MS);
  for (;;) {
    try {
      const inPage = await firstShown(page.mainFrame().locator(css));
      if (inPage) return { locator: inPage };
    } catch (err) {
      const first = (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
      throw new ResolveError(`invalid selector "${selector}": ${first.replace(/^[a-zA-Z]+\.[a-zA-Z]+: /, "")}`);
    }
    const frames = Date.now() >= framesFrom ? page.mainFrame().childFrames().slice(0, MAX_FRAMES) : [];
    for (const frame of frames) {
      const inFrame = await firstShown(frame.locator(css)).catch(() => null); // detached or navigating
      if (inFrame) return { locator: inFrame, frameUrl: frame.url() };
    }
    if (Date.now() >= until) throw new ResolveError(`nothing matches selector "${selector}" (waited ${timeoutMs} ms)`);
    await new Promise((r) => setTimeout(r, Math.min(SELECTOR_POLL_MS, Math.max(0, until - Date.now()))));
  }
}

/** A visible match if there is one, else the first match, else null. */
async function firstShown(all: Locator): Promise<Locator | null> {
  if ((await all.count()) === 0) return null;
  const visible = all.visible();
  return (await visible.count()) > 0 ? visible.first() : all.first();
}

/** Locates the element an action names; throws ResolveError with a user-facing message. */
export async function resolveTarget(page: Page, spec: TargetSpec, opts: ResolveOptions): Promise<ResolvedTarget> {
  const selector = spec.selector?.trim();
  if (selector && !looksLikeDescription(selector) && !isTagOnlySelector(selector)) {
    const inItem = opts.within ? await quickSelector(opts.within, selector) : null;
    if (inItem) return { locator: inItem, how: `selector ${selector} in the item` };
    const { locator, frameUrl } = await locateSelector(page, selector, opts.timeoutMs);
    return { locator, how: `selector ${selector}${frameUrl ? ` in the frame ${frameUrl}` : ""}` };
  }
  const description = selector || spec.value?.trim();
  if (!description) throw new ResolveError('needs "selector" or "value"');
  if (looksLikeSelector(description)) {
    // `value: "#accept"`: honour it as a selector if it matches, else read it as words.
    const quick =
      (opts.within ? await quickSelector(opts.within, description) : null) ?? (await quickSelector(page, description));
    if (quick) return { locator: quick, how: `selector ${description}` };
  }
  if (opts.within) {
    const inItem = await describeInItem(opts.within, description, opts);
    if (inItem) return inItem;
  }
  return describeTarget(page, description, opts);
}

/** A match of `selector` now (inside `scope`: a page or a forEach item), preferring a visible one. */
async function quickSelector(scope: Page | Locator, selector: string): Promise<Locator | null> {
  try {
    return await firstShown(scope.locator(toPlaywrightSelector(selector)));
  } catch {
    return null; // not valid CSS after all
  }
}

/** The description's clear match among the item's own elements, or null (then the page is searched). */
async function describeInItem(
  item: Locator,
  description: string,
  opts: ResolveOptions,
): Promise<ResolvedTarget | null> {
  let root: ElementHandle | null = null;
  try {
    root = await item.elementHandle({ timeout: Math.min(opts.timeoutMs, 2000) });
    const frame = await root.ownerFrame();
    if (!frame) return null;
    const collected = await evaluateInPage(frame, collectCandidates, {
      max: MAX_CANDIDATES_PER_FRAME,
      selector: CANDIDATE_SELECTOR,
      root: root as unknown as Element,
      hints: hintsOf(description),
    });
    const candidates = only(
      collected.map((c) => ({ ...c, frame })),
      opts,
    );
    const ranked = rankCandidates(description, candidates, opts.preferRoles) as Array<Scored<FramedCandidate>>;
    const decision = decide(ranked, ACCEPT_SCORE, CLEAR_MARGIN);
    if (decision.kind !== "match") return null;
    // The item's own match only when nothing in the page fits better ("Save" is the dialog's Save
    // button, not the item's "Save for later"); the other items' equal matches do not count.
    const page = rankCandidates(
      description,
      only(await collectFramed(item.page(), description), opts),
      opts.preferRoles,
    );
    if ((page[0]?.score ?? 0) > decision.score) return null;
    return found(decision.pick, `"${description}" in the item → ${describeCandidate(decision.pick)}`);
  } catch {
    return null; // the item went away: look in the whole page
  } finally {
    await root?.dispose().catch(() => undefined);
  }
}

function only(candidates: FramedCandidate[], opts: ResolveOptions): FramedCandidate[] {
  const roles = opts.onlyRoles;
  return roles ? candidates.filter((c) => roles.includes(c.role)) : candidates;
}

async function collectFramed(page: Page, description: string): Promise<FramedCandidate[]> {
  const out: FramedCandidate[] = [];
  const frames = [page.mainFrame(), ...page.mainFrame().childFrames().slice(0, MAX_FRAMES)];
  for (const frame of frames) {
    try {
      if (frame !== page.mainFrame()) {
        // Consent managers often live in iframes; only visible ones can hold the target.
        const owner = await frame.frameElement();
        const shown = await owner.isVisible();
        await owner.dispose();
        if (!shown) continue;
      }
      const found = await evaluateInPage(frame, collectCandidates, {
        max: MAX_CANDIDATES_PER_FRAME,
        selector: CANDIDATE_SELECTOR,
        hints: hintsOf(description),
      });
      out.push(...found.map((c) => ({ ...c, frame })));
    } catch {
      // Detached or navigating frame: its elements cannot be the target right now.
    }
  }
  return out;
}

async function describeTarget(page: Page, description: string, opts: ResolveOptions): Promise<ResolvedTarget> {
  const settleUntil = Date.now() + (opts.settleMs ?? Math.min(opts.timeoutMs / 2, DESCRIPTION_SETTLE_MS));
  let ranked: Array<Scored<FramedCandidate>> = [];
  let tied: FramedCandidate[] = [];
  for (;;) {
    const candidates = only(await collectFramed(page, description), opts);
    ranked = rankCandidates(description, candidates, opts.preferRoles) as Array<Scored<FramedCandidate>>;
    const decision = decide(ranked, ACCEPT_SCORE, CLEAR_MARGIN);
    if (decision.kind === "match")
      return found(decision.pick, `"${description}" → ${describeCandidate(decision.pick)}`);
    // Ambiguity will not resolve itself by waiting; absence might (late banners, lazy widgets).
    if (decision.kind === "ambiguous") {
      tied = decision.tied;
      break;
    }
    if (Date.now() + POLL_MS > settleUntil) break;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  if (!opts.chooseElement) {
    if (tied.length > 0) {
      const examples = tied.slice(0, 3).map(describeCandidate).join("; ");
      throw new ResolveError(
        `"${description}" matches ${tied.length} elements equally well (${examples}); describe it more precisely or use a CSS selector`,
      );
    }
    const closest = ranked[0] && ranked[0].score > 0 ? ` (closest: ${describeCandidate(ranked[0].item)})` : "";
    throw new ResolveError(`no element matches "${description}"${closest}`);
  }
  // Tied candidates first, then the rest by score, so the model sees the likely ones.
  const shortlist = [...tied, ...ranked.map((r) => r.item).filter((c) => !tied.includes(c))].slice(0, CHOOSER_LIST);
  const index = await askChooser(
    opts.chooseElement,
    description,
    shortlist.map(describeCandidate),
    "element",
    opts.chooserTimeoutMs ?? opts.timeoutMs * 3,
  );
  const pick = shortlist[index] as FramedCandidate;
  return found(pick, `"${description}" → chooser picked #${index}: ${describeCandidate(pick)}`);
}

function found(c: FramedCandidate, how: string): ResolvedTarget {
  const all = c.frame.locator(c.path);
  return { locator: c.nth === undefined ? all : all.nth(c.nth), how };
}
