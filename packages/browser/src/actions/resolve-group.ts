import { errors, type Page } from "playwright-core";
import { ResolveError } from "./action-error.ts";
import type { ElementChooser } from "./action-types.ts";
import { askChooser } from "./ask-chooser.ts";
import { collectGroups, type RawGroup } from "./collect-groups.ts";
import { evaluateInPage } from "./evaluate-script.ts";
import { decide, type Scored } from "./score-candidates.ts";
import { describeGroup, GROUP_ACCEPT, GROUP_MARGIN, rankGroups } from "./score-groups.ts";
import { looksLikeSelector, toPlaywrightSelector } from "./selector-syntax.ts";

/** The elements a forEach iterates, as one Playwright selector (re-queried per item and page). */
export interface ResolvedGroup {
  selector: string;
  /** For the action log. */
  how: string;
}

export interface GroupQuery {
  description?: string;
  selector?: string;
  mode: string;
  timeoutMs: number;
  chooseElement?: ElementChooser;
  chooserTimeoutMs: number;
}

const MIN_MEMBERS = 3;
const MAX_GROUPS = 400;
const SETTLE_MS = 2000;
const POLL_MS = 250;
const CHOOSER_LIST = 15;

/** Count of a selector's matches right now; 0 for invalid selectors. */
export async function countMatches(page: Page, selector: string): Promise<number> {
  try {
    return await page.locator(selector).count();
  } catch {
    return 0;
  }
}

/** Finds the forEach elements; throws ResolveError when there are none or the description is unclear. */
export async function resolveGroup(page: Page, q: GroupQuery): Promise<ResolvedGroup> {
  if (q.selector) {
    const selector = toPlaywrightSelector(q.selector);
    try {
      await page.locator(selector).first().waitFor({ state: "attached", timeout: q.timeoutMs });
    } catch (err) {
      if (err instanceof errors.TimeoutError)
        throw new ResolveError(`nothing matches selector "${q.selector}" (waited ${q.timeoutMs} ms)`);
      throw new ResolveError(`invalid selector "${q.selector}": ${String((err as Error).message).split("\n")[0]}`);
    }
    return { selector, how: `selector ${q.selector}` };
  }
  const description = q.description?.trim();
  if (!description) throw new ResolveError('needs "observe", "value" or "selector"');
  if (looksLikeSelector(description)) {
    const selector = toPlaywrightSelector(description);
    if ((await countMatches(page, selector)) > 0) return { selector, how: `selector ${description}` };
  }
  return describeGroupTarget(page, description, q);
}

async function describeGroupTarget(page: Page, description: string, q: GroupQuery): Promise<ResolvedGroup> {
  const settleUntil = Date.now() + Math.min(q.timeoutMs / 2, SETTLE_MS);
  let ranked: Array<Scored<RawGroup>> = [];
  let tied: RawGroup[] = [];
  for (;;) {
    const groups = await evaluateInPage(page, collectGroups, { maxGroups: MAX_GROUPS, minMembers: MIN_MEMBERS });
    ranked = rankGroups(description, groups, q.mode);
    const decision = decide(ranked, GROUP_ACCEPT, GROUP_MARGIN);
    if (decision.kind === "match")
      return { selector: decision.pick.selector, how: `"${description}" → ${describeGroup(decision.pick)}` };
    if (decision.kind === "ambiguous") {
      tied = decision.tied;
      break;
    }
    if (Date.now() + POLL_MS > settleUntil) break;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  if (!q.chooseElement) {
    if (tied.length > 0) {
      const examples = tied.slice(0, 3).map(describeGroup).join("; ");
      throw new ResolveError(
        `"${description}" fits ${tied.length} groups of elements equally well (${examples}); describe it more precisely or use "selector"`,
      );
    }
    const closest = ranked[0]
      ? ` (closest: ${describeGroup(ranked[0].item)})`
      : " (the page has no repeating elements)";
    throw new ResolveError(`no group of repeating elements matches "${description}"${closest}`);
  }
  const shortlist = [...tied, ...ranked.map((r) => r.item).filter((g) => !tied.includes(g))].slice(0, CHOOSER_LIST);
  const index = await askChooser(
    q.chooseElement,
    description,
    shortlist.map(describeGroup),
    "group of repeating elements",
    q.chooserTimeoutMs,
  );
  const pick = shortlist[index] as RawGroup;
  return { selector: pick.selector, how: `"${description}" → chooser picked #${index}: ${describeGroup(pick)}` };
}
