// A CAPTCHA-solving provider standing in for 2Captcha / Anti-Captcha / CapSolver / CapMonster in
// tests: their shared task API (POST /createTask, POST /getTaskResult), answering "processing" a
// set number of times before "ready" with a fresh token. It records every request and every token
// it issued, so a fixture site can verify tokens the way a real site asks the CAPTCHA vendor.
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import { listenTracked } from "./listen.ts";

/** How the provider answers; switchable at any time with `setBehaviour`. */
export type CaptchaProviderBehaviour =
  /** Solve: "processing" `processingPolls` times, then "ready" with a token. */
  | "solve"
  /** createTask answers errorId 1 (`ERROR_ZERO_BALANCE`). */
  | "refuse"
  /** getTaskResult answers errorId 12 (`ERROR_CAPTCHA_UNSOLVABLE`). */
  | "unsolvable"
  /** getTaskResult stays "processing" forever. */
  | "never-ready";

export interface CaptchaProviderOptions {
  host?: string;
  port?: number;
  /** When set, other `clientKey`s get `ERROR_KEY_DOES_NOT_EXIST`. */
  clientKey?: string;
  /** "processing" answers before "ready". Default 1. */
  processingPolls?: number;
  behaviour?: CaptchaProviderBehaviour;
}

export interface CaptchaProviderRequest {
  path: string;
  body: Record<string, unknown> | undefined;
}

export interface CaptchaProviderTask {
  taskId: number;
  type: string;
  websiteURL: string;
  websiteKey: string;
  /** Every field of the task object as sent. */
  task: Record<string, unknown>;
  polls: number;
  /** Set when the task was answered "ready". */
  token?: string;
}

export interface CaptchaProvider {
  /** Base URL of the API, e.g. http://127.0.0.1:43122 (createTask and getTaskResult below it). */
  url: string;
  requests: CaptchaProviderRequest[];
  tasks: CaptchaProviderTask[];
  /** True for a token this provider handed out (what a site's verification call would check). */
  issued(token: string): boolean;
  setBehaviour(behaviour: CaptchaProviderBehaviour): void;
  /** Clears recorded requests and tasks and goes back to "solve". */
  reset(): void;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

const error = (errorId: number, errorCode: string, errorDescription: string) => ({
  errorId,
  errorCode,
  errorDescription,
});

export async function startCaptchaProvider(opts: CaptchaProviderOptions = {}): Promise<CaptchaProvider> {
  const requests: CaptchaProviderRequest[] = [];
  const tasks: CaptchaProviderTask[] = [];
  const tokens = new Set<string>();
  let behaviour: CaptchaProviderBehaviour = opts.behaviour ?? "solve";
  let nextTaskId = 1000;
  const processingPolls = opts.processingPolls ?? 1;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const raw = await readBody(req);
    let body: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = raw ? JSON.parse(raw) : undefined;
      body = parsed !== null && typeof parsed === "object" ? (parsed as Record<string, unknown>) : undefined;
    } catch {
      body = undefined;
    }
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    requests.push({ path, body });
    if (req.method !== "POST" || (path !== "/createTask" && path !== "/getTaskResult")) {
      return sendJson(res, 404, error(1, "ERROR_METHOD_NOT_FOUND", `No method ${req.method} ${path}`));
    }
    if (!body) return sendJson(res, 200, error(1, "ERROR_NO_REQUEST_BODY", "Request body is not JSON"));
    if (typeof body.clientKey !== "string" || (opts.clientKey !== undefined && body.clientKey !== opts.clientKey)) {
      return sendJson(res, 200, error(1, "ERROR_KEY_DOES_NOT_EXIST", "Account authorization key not found"));
    }
    if (path === "/createTask") {
      if (behaviour === "refuse")
        return sendJson(res, 200, error(10, "ERROR_ZERO_BALANCE", "Account has zero balance"));
      const task = body.task as Record<string, unknown> | undefined;
      if (!task || typeof task.type !== "string" || typeof task.websiteURL !== "string") {
        return sendJson(res, 200, error(1, "ERROR_TASK_ABSENT", "Task is missing or malformed"));
      }
      if (typeof task.websiteKey !== "string" || task.websiteKey === "") {
        return sendJson(res, 200, error(1, "ERROR_RECAPTCHA_INVALID_SITEKEY", "Site key is missing"));
      }
      const taskId = nextTaskId++;
      tasks.push({
        taskId,
        type: task.type,
        websiteURL: task.websiteURL,
        websiteKey: task.websiteKey,
        task,
        polls: 0,
      });
      return sendJson(res, 200, { errorId: 0, taskId });
    }
    const task = tasks.find((t) => String(t.taskId) === String(body.taskId));
    if (!task) return sendJson(res, 200, error(16, "ERROR_NO_SUCH_CAPCHA_ID", "Task not found"));
    task.polls++;
    if (behaviour === "unsolvable") {
      return sendJson(res, 200, error(12, "ERROR_CAPTCHA_UNSOLVABLE", "Workers could not solve the CAPTCHA"));
    }
    if (behaviour === "never-ready" || task.polls <= processingPolls) {
      return sendJson(res, 200, { errorId: 0, status: "processing" });
    }
    task.token ??= `testkit-${task.type.toLowerCase()}-${randomUUID()}`;
    tokens.add(task.token);
    // Turnstile answers carry `token`; reCAPTCHA and hCaptcha `gRecaptchaResponse`.
    const solution = /turnstile/i.test(task.type) ? { token: task.token } : { gRecaptchaResponse: task.token };
    return sendJson(res, 200, { errorId: 0, status: "ready", solution, cost: "0.00299", solveCount: 1 });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, error(1, "ERROR_INTERNAL", (err as Error).message));
    });
  });
  const listening = await listenTracked(server, opts.host, opts.port);
  return {
    url: listening.origin,
    requests,
    tasks,
    issued: (token) => tokens.has(token),
    setBehaviour: (b) => {
      behaviour = b;
    },
    reset: () => {
      requests.length = 0;
      tasks.length = 0;
      behaviour = "solve";
    },
    close: listening.close,
  };
}
