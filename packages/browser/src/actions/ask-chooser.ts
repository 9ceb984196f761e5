import { ResolveError } from "./action-error.ts";
import type { ElementChooser } from "./action-types.ts";

/**
 * Asks the model to pick one of `lines` for `description`. Returns the index, or throws a
 * ResolveError worded for users: a model that answers null, nonsense or fails never crashes the run.
 * `what` names the thing looked for ("element", "group of elements").
 */
export async function askChooser(
  chooser: ElementChooser,
  description: string,
  lines: string[],
  what: string,
  timeoutMs: number,
): Promise<number> {
  const prefix = `no ${what} matches "${description}"`;
  if (lines.length === 0) throw new ResolveError(`${prefix} (the page has no candidates)`);
  let answer: unknown;
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${Math.round(timeoutMs)} ms`)), timeoutMs);
    });
    answer = await Promise.race([chooser(description, [...lines]), timeout]);
  } catch (err) {
    throw new ResolveError(
      `${prefix} (the element chooser failed: ${err instanceof Error ? err.message : String(err)})`,
    );
  } finally {
    clearTimeout(timer);
  }
  if (answer === null || answer === undefined)
    throw new ResolveError(`${prefix} (the element chooser found none of ${lines.length} candidates suitable)`);
  if (typeof answer !== "number" || !Number.isInteger(answer) || answer < 0 || answer >= lines.length) {
    const shown = JSON.stringify(answer)?.slice(0, 40) ?? String(answer);
    throw new ResolveError(
      `${prefix} (the element chooser answered ${shown}, not a candidate number from 0 to ${lines.length - 1})`,
    );
  }
  return answer;
}
