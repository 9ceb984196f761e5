// `pattern` in a user schema is a regular expression that Ajv runs against model output inside the
// worker. V8's backtracking engine can take exponential time (`^(a+)+$` on "aaaa…!"), so patterns are
// guarded twice: at submit, the shapes known to backtrack catastrophically are refused with a
// readable reason; at validation, every match runs under a time budget and a pattern that exceeds it
// counts as "does not match" from then on (the job then repairs or falls back, it never hangs).
import vm from "node:vm";
import retModule, { types as T } from "ret";
import type { Repetition, Token, Tokens } from "ret";

// ret is CommonJS with `module.exports = tokenizer`: at run time the default import is the
// tokenizer itself, while its types describe an ES module whose `default` it is.
const ret = retModule as unknown as (source: string) => Tokens;

/** Longest `pattern` accepted, in characters. */
export const MAX_PATTERN_LENGTH = 512;
/** Wall time one pattern match may take, in milliseconds, before it is retried once with more. */
export const PATTERN_TIME_BUDGET_MS = 100;
/** Wall time of the retry; a pattern that exceeds this too is given up on (never matches again). */
export const PATTERN_CONFIRM_BUDGET_MS = 1000;

interface Walk {
  /** Inside a repetition of variable length (`*`, `+`, `{1,5}`). */
  inVariable: boolean;
}

function hasVariableRepetition(token: Tokens): boolean {
  if (token.type === T.REPETITION) {
    const rep = token as Repetition;
    return (rep.max > 1 && rep.min !== rep.max) || hasVariableRepetition(rep.value);
  }
  const node = token as { stack?: Token[]; options?: Token[][] };
  return [...(node.stack ?? []), ...(node.options ?? []).flat()].some(hasVariableRepetition);
}

function walk(token: Tokens, state: Walk): string | undefined {
  if (token.type === T.REFERENCE) return "uses a backreference";
  if (token.type === T.REPETITION) {
    const rep = token as Repetition;
    const variable = rep.max > 1 && rep.min !== rep.max;
    if (variable && state.inVariable) return "nests a repeated part inside another repetition (like (a+)+)";
    if (!variable && rep.max > 1 && hasVariableRepetition(rep.value)) {
      return "repeats a variable-length part a fixed number of times (like (a+){5})";
    }
    return walk(rep.value, { inVariable: state.inVariable || variable });
  }
  const node = token as { stack?: Token[]; options?: Token[][] };
  if (node.options && state.inVariable) return "repeats an alternation (like (a|ab)*)";
  for (const child of [...(node.stack ?? []), ...(node.options ?? []).flat()]) {
    const problem = walk(child, state);
    if (problem) return problem;
  }
  return undefined;
}

function countVariableRepetitions(token: Tokens): number {
  let own = 0;
  let children: Token[];
  if (token.type === T.REPETITION) {
    const rep = token as Repetition;
    own = rep.max > 1 && rep.min !== rep.max ? 1 : 0;
    children = [rep.value];
  } else {
    const node = token as { stack?: Token[]; options?: Token[][] };
    children = [...(node.stack ?? []), ...(node.options ?? []).flat()];
  }
  return children.reduce((n, child) => n + countVariableRepetitions(child), own);
}

/**
 * Inputs a pattern may be matched against directly (no sandbox): for a pattern of an accepted shape
 * (see patternProblem) with k variable-length repetitions, backtracking is bounded by about
 * length^k steps, so inputs with length^k ≤ 10^5 are matched natively; 0 means never.
 */
function nativeInputLimit(pattern: string): number {
  if (patternProblem(pattern) !== undefined) return 0;
  const k = Math.max(1, countVariableRepetitions(ret(pattern)));
  return Math.floor(Math.pow(NATIVE_MATCH_STEPS, 1 / k));
}

/** Backtracking steps (length^k) below which a pattern of a safe shape is matched without the sandbox. */
const NATIVE_MATCH_STEPS = 100_000;

/**
 * Why `pattern` is refused, or undefined when it is accepted: longer than
 * {@link MAX_PATTERN_LENGTH}, not a valid (unicode) regular expression, a backreference, a
 * repetition nested in a variable-length repetition (star height above 1), a variable-length part
 * repeated a fixed number of times, or an alternation inside a variable-length repetition. These
 * are the shapes that make a backtracking engine exponential; optional parts (`?`) and fixed counts
 * of fixed-length parts (`(\d{3}-){2}`) are fine. Polynomial cases that remain (`\d*\d*\d*x`) are
 * caught by the time budget of {@link boundedRegExp}.
 */
export function patternProblem(pattern: string): string | undefined {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    return `is ${pattern.length} characters long; the maximum is ${MAX_PATTERN_LENGTH}`;
  }
  try {
    new RegExp(pattern, "u");
  } catch {
    return "is not a valid regular expression";
  }
  let tokens: Tokens;
  try {
    tokens = ret(pattern);
  } catch {
    return "could not be analysed";
  }
  const problem = walk(tokens, { inVariable: false });
  return problem ? `${problem}, which can take exponential time to match` : undefined;
}

// One sandbox for every bounded match: the pattern and the input are handed in per call.
const sandbox = vm.createContext({ re: null as RegExp | null, input: "" });
const matchScript = new vm.Script("re.test(input)");

/** `re.test(input)` within `timeoutMs` of wall time; undefined when it ran out of time. */
function testWithin(re: RegExp, input: string, timeoutMs: number): boolean | undefined {
  re.lastIndex = 0;
  sandbox.re = re;
  sandbox.input = input;
  try {
    return matchScript.runInContext(sandbox, { timeout: timeoutMs }) === true;
  } catch (err) {
    if ((err as { code?: string }).code !== "ERR_SCRIPT_EXECUTION_TIMEOUT") throw err;
    return undefined;
  } finally {
    sandbox.re = null;
    sandbox.input = "";
  }
}

/** What Ajv calls instead of `new RegExp` for `pattern` (its `code.regExp` option). */
export interface BoundedRegExp {
  test(input: string): boolean;
  /** `/pattern/flags`, like a RegExp: Ajv keys its per-compiler pattern cache by it. */
  toString(): string;
}

/**
 * A RegExp whose `test` runs under a wall-clock budget (a vm timeout interrupts V8's backtracking).
 * The budget is wall time, and a busy host or a GC pause can stall even a trivial match past
 * {@link PATTERN_TIME_BUDGET_MS}, so a match that runs out is tried once more with
 * {@link PATTERN_CONFIRM_BUDGET_MS}; only when that runs out too is the pattern hostile: the match
 * answers false, and so does every later one at once (one hostile pattern costs one confirmation,
 * not one per string; Ajv shares one instance per pattern text within a compiler generation).
 */
export function boundedRegExp(pattern: string, flags: string): BoundedRegExp {
  const re = new RegExp(pattern, flags);
  const nativeUpTo = nativeInputLimit(pattern);
  let hostile = false;
  return {
    toString: () => re.toString(),
    test(input: string): boolean {
      if (hostile) return false;
      // The sandbox costs a watchdog thread per call; short inputs of safe patterns cannot blow up.
      if (input.length <= nativeUpTo) {
        re.lastIndex = 0;
        return re.test(input);
      }
      const quick = testWithin(re, input, PATTERN_TIME_BUDGET_MS);
      if (quick !== undefined) return quick;
      const confirmed = testWithin(re, input, PATTERN_CONFIRM_BUDGET_MS);
      if (confirmed !== undefined) return confirmed;
      hostile = true;
      return false;
    },
  };
}
// Ajv's RegExpEngine carries the name used in standalone code; it is never emitted here.
boundedRegExp.code = "boundedRegExp";
