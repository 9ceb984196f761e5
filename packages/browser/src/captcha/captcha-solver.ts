import type { CaptchaKind } from "./captcha-types.ts";

/*
 * Client of the task API that Anti-Captcha introduced and 2Captcha (api.2captcha.com), CapMonster
 * Cloud and CapSolver implement: POST {base}/createTask {clientKey, task} -> {errorId, taskId},
 * then POST {base}/getTaskResult {clientKey, taskId} until status "ready" with a solution.
 * The base URL is an operator setting, so requests go straight out (not through the per-job
 * egress guard). The key is only ever in request bodies: reasons never contain it.
 */

/** Task types of the task API, per widget. */
export const CAPTCHA_TASK_TYPES: Record<CaptchaKind, string> = {
  "recaptcha-v2": "RecaptchaV2TaskProxyless",
  hcaptcha: "HCaptchaTaskProxyless",
  turnstile: "TurnstileTaskProxyless",
};

/** Options for {@link createCaptchaSolver}. */
export interface CaptchaSolverOptions {
  /** Base URL of the provider's API, e.g. `https://api.2captcha.com`. */
  baseUrl: string;
  /** The account key sent as `clientKey`. */
  apiKey: string;
  /** Give up on a task after this long. Default 120000 ms. */
  timeoutMs?: number;
  /** Wait between `getTaskResult` polls. Default 3000 ms. */
  pollIntervalMs?: number;
  /** Bound of one HTTP call to the provider. Default 30000 ms. */
  requestTimeoutMs?: number;
  /** For tests; default the global fetch. */
  fetch?: typeof fetch;
}

/** One CAPTCHA to solve. */
export interface CaptchaTask {
  kind: CaptchaKind;
  /** The page showing the widget. */
  websiteURL: string;
  websiteKey: string;
  /** reCAPTCHA v2 invisible. */
  invisible?: boolean;
}

export type CaptchaSolveResult =
  { ok: true; token: string; taskId: string; elapsedMs: number } | { ok: false; reason: string; elapsedMs: number };

export interface CaptchaSolver {
  /** Solves one CAPTCHA; never throws. `deadline` (epoch ms) shortens the solver's own timeout. */
  solve(task: CaptchaTask, opts?: { deadline?: number }): Promise<CaptchaSolveResult>;
}

interface TaskApiReply {
  errorId?: number;
  errorCode?: string;
  errorDescription?: string;
  taskId?: string | number;
  status?: string;
  solution?: { gRecaptchaResponse?: unknown; token?: unknown };
}

class SolveFailure extends Error {
  override name = "SolveFailure";
}

/** The solve's own time ran out (its timeout or the caller's deadline). */
class OutOfTime extends Error {
  override name = "OutOfTime";
}

export function createCaptchaSolver(opts: CaptchaSolverOptions): CaptchaSolver {
  const base = opts.baseUrl.replace(/\/+$/, "");
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const pollIntervalMs = opts.pollIntervalMs ?? 3000;
  const requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
  const doFetch = opts.fetch ?? fetch;
  // Whatever a provider or the network echoes back, the key does not leave this module.
  const scrub = (text: string) => (opts.apiKey ? text.split(opts.apiKey).join("[redacted]") : text).slice(0, 300);

  const call = async (method: "createTask" | "getTaskResult", body: object, until: number): Promise<TaskApiReply> => {
    const left = until - Date.now();
    if (left < 50) throw new OutOfTime();
    const budget = Math.min(requestTimeoutMs, left);
    let res: Response;
    try {
      res = await doFetch(`${base}/${method}`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ clientKey: opts.apiKey, ...body }),
        signal: AbortSignal.timeout(budget),
      });
    } catch (err) {
      const e = err as Error;
      if (e.name === "TimeoutError" && budget < requestTimeoutMs) throw new OutOfTime();
      const why = e.name === "TimeoutError" ? `no answer within ${budget} ms` : e.message;
      throw new SolveFailure(`could not reach the solver (${method}): ${why}`);
    }
    const text = await res.text().catch(() => "");
    let reply: TaskApiReply;
    try {
      reply = JSON.parse(text) as TaskApiReply;
    } catch {
      throw new SolveFailure(`the solver answered ${method} with HTTP ${res.status} and no JSON`);
    }
    if (reply === null || typeof reply !== "object")
      throw new SolveFailure(`the solver's ${method} reply is not an object`);
    if ((reply.errorId ?? 0) !== 0) {
      const code = reply.errorCode ?? `errorId ${reply.errorId}`;
      const description = reply.errorDescription ? `: ${reply.errorDescription}` : "";
      throw new SolveFailure(`the solver refused ${method} (${code}${description})`);
    }
    if (!res.ok) throw new SolveFailure(`the solver answered ${method} with HTTP ${res.status}`);
    return reply;
  };

  return {
    async solve(task, solveOpts = {}) {
      const started = Date.now();
      const until = Math.min(started + timeoutMs, solveOpts.deadline ?? Number.POSITIVE_INFINITY);
      try {
        const created = await call(
          "createTask",
          {
            task: {
              type: CAPTCHA_TASK_TYPES[task.kind],
              websiteURL: task.websiteURL,
              websiteKey: task.websiteKey,
              ...(task.kind === "recaptcha-v2" && task.invisible ? { isInvisible: true } : {}),
            },
          },
          until,
        );
        if (created.taskId === undefined || created.taskId === null || created.taskId === "") {
          throw new SolveFailure("the solver's createTask reply has no taskId");
        }
        const taskId = created.taskId;
        for (;;) {
          // A poll needs some time left to be worth sending.
          if (until - Date.now() < pollIntervalMs + 50) throw new OutOfTime();
          await new Promise((r) => setTimeout(r, pollIntervalMs));
          const result = await call("getTaskResult", { taskId }, until);
          if (result.status === "ready") {
            const token = result.solution?.gRecaptchaResponse ?? result.solution?.token;
            if (typeof token !== "string" || token === "") throw new SolveFailure("the solver's solution has no token");
            return { ok: true, token, taskId: String(taskId), elapsedMs: Date.now() - started };
          }
          if (result.status !== "processing" && result.status !== undefined) {
            throw new SolveFailure(`the solver reported task status "${String(result.status).slice(0, 40)}"`);
          }
        }
      } catch (err) {
        const reason =
          err instanceof OutOfTime
            ? `no solution within ${until - started} ms`
            : err instanceof SolveFailure
              ? err.message
              : `solver client error: ${(err as Error).message}`;
        return { ok: false, reason: scrub(reason), elapsedMs: Date.now() - started };
      }
    },
  };
}
