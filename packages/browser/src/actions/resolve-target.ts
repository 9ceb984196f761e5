import { errors, type Frame, type Locator, type Page } from "playwright-core";
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
import { looksLikeDescription, looksLikeSelector, toPlaywrightSelector } from "./selector-syntax.ts";

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
   * element (late cookie banners). Default min(timeoutMs / 2, 2000) ms; 0 for a settled page.
   */
  settleMs?: number;
}

export interface ResolvedTarget {
  locator: Locator;
  /** How the element was found, for the action log. */
  how: string;
}

/** Longest a description is re-tried while the page may still be rendering the element. */
const DESCRIPTION_SETTLE_MS = 2000;
const POLL_MS = 250;
const MAX_CANDIDATES_PER_FRAME = 1500;
const MAX_FRAMES = 8;
const CHOOSER_LIST = 40;

type FramedCandidate = RawCandidate & { frame: Frame };

/**
 * First match of a CSS/XPath selector, preferring a visible one (pages often keep hidden copies of
 * buttons for mobile layouts). Waits up to `timeoutMs` for it to be attached.
 */
export async function locateSelector(page: Page, selector: string, timeoutMs: number): Promise<Locator> {
  const all = page.locator(toPlaywrightSelector(selector));
  try {
    await all.first().waitFor({ state: "attached", timeout: timeoutMs });
  } catch (err) {
    if (err instanceof errors.TimeoutError)
      throw new ResolveError(`nothing matches selector "${selector}" (waited ${timeoutMs} ms)`);
    const first = (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
    throw new ResolveError(`invalid selector "${selector}": ${first.replace(/^[a-zA-Z]+\.[a-zA-Z]+: /, "")}`);
  }
  const visible = all.visible();
  return (await visible.count()) > 0 ? visible.first() : all.first();
}

/** Locates the element an action names; throws ResolveError with a user-facing message. */
export async function resolveTarget(page: Page, spec: TargetSpec, opts: ResolveOptions): Promise<ResolvedTarget> {
  const selector = spec.selector?.trim();
  if (selector && !looksLikeDescription(selector)) {
    return { locator: await locateSelector(page, selector, opts.timeoutMs), how: `selector ${selector}` };
  }
  const description = selector || spec.value?.trim();
  if (!description) throw new ResolveError('needs "selector" or "value"');
  if (looksLikeSelector(description)) {
    // `value: "#accept"`: honour it as a selector if it matches, else read it as words.
    const quick = await quickSelector(page, description);
    if (quick) return { locator: quick, how: `selector ${description}` };
  }
  return describeTarget(page, description, opts);
}

async function quickSelector(page: Page, selector: string): Promise<Locator | null> {
  try {
    const all = page.locator(toPlaywrightSelector(selector));
    if ((await all.count()) === 0) return null;
    const visible = all.visible();
    return (await visible.count()) > 0 ? visible.first() : all.first();
  } catch {
    return null; // not valid CSS after all
  }
}

async function collectFramed(page: Page): Promise<FramedCandidate[]> {
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
    const candidates = await collectFramed(page);
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
  return { locator: c.frame.locator(c.path), how };
}
