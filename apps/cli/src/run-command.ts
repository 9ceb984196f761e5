import { parseArgs } from "node:util";
import type { Config } from "@orbweaver/config";
import {
  addCredits,
  createAccount,
  createDb,
  ensureDatabase,
  ensureWebhookSecret,
  revokeApiKey,
  runMigrations,
  setAccountLimits,
} from "@orbweaver/db";
import { announceKeyChange, createRedisConnection } from "@orbweaver/queue";

const USAGE = `Usage:
  orbweaver start [--role all|api|worker]
  orbweaver migrate
  orbweaver keys create --name NAME --credits N [--json]
  orbweaver keys revoke (--key KEY | --id KEY_ID)
  orbweaver credits add --account ACCOUNT_ID --credits N
  orbweaver webhooks secret --account ACCOUNT_ID [--json]
  orbweaver accounts set-limits --account ACCOUNT_ID [--rate-limit N] [--pending-scrapes N]
                                [--pending-batches N] [--pending-crawls N]   (N or "default")
`;

class UsageError extends Error {}

const out = (line: string) => process.stdout.write(`${line}\n`);

/** Runs one CLI command; returns an exit code, or undefined for a long-running `start`. */
export async function runCommand(config: Config, argv: string[]): Promise<number | undefined> {
  const [command, sub] = argv;
  try {
    if (command === "start") {
      const { values } = parseArgs({ args: argv.slice(1), options: { role: { type: "string", default: "all" } } });
      const role = values.role;
      if (role !== "all" && role !== "api" && role !== "worker") throw new UsageError(`unknown role "${role}"`);
      // Imported lazily so admin commands start fast (no browser or server code to load).
      const { startServices } = await import("./start-services.ts");
      await startServices(config, role);
      return undefined;
    }
    if (command === "migrate") {
      // No options: a stray argument is a usage error rather than silently ignored.
      parseArgs({ args: argv.slice(1), options: {} });
      await ensureDatabase(config.databaseUrl);
      await runMigrations(config.databaseUrl);
      out("migrations applied");
      return 0;
    }
    if (command === "keys" || command === "credits" || command === "webhooks" || command === "accounts")
      return await withDb(config, async (db) => {
        const code = await adminCommand(db, argv);
        // Gateways cache key lookups: a revoked key or new limits must reach every one of them now.
        if (code === 0 && ((command === "keys" && sub === "revoke") || command === "accounts"))
          await tellGateways(config);
        return code;
      });
    throw new UsageError(
      command ? `unknown command "${[command, sub].filter(Boolean).join(" ")}"` : "no command given",
    );
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
      return 64;
    }
    throw err;
  }
}

async function withDb<T>(config: Config, fn: (db: ReturnType<typeof createDb>["db"]) => Promise<T>): Promise<T> {
  const handle = createDb({ url: config.databaseUrl, max: 1 });
  try {
    return await fn(handle.db);
  } finally {
    await handle.close();
  }
}

async function tellGateways(config: Config): Promise<void> {
  const redis = createRedisConnection(config.redisUrl, "producer");
  try {
    await new Promise<void>((resolve, reject) => {
      if (redis.status === "ready") return resolve();
      redis.once("ready", resolve);
      setTimeout(() => reject(new Error("no connection within 3 s")), 3000).unref();
    });
    await announceKeyChange(redis, config.queuePrefix);
  } catch (err) {
    process.stderr.write(
      `warning: could not reach Redis to tell the gateways (${(err as Error).message}); ` +
        "they may go on accepting what they cached for up to 30 s\n",
    );
  } finally {
    redis.disconnect();
  }
}

/** Largest amount a balance column (numeric(14,4)) holds; beyond it Postgres refuses the write. */
const MAX_CREDITS = 9_999_999_999;

function credits(value: string | undefined, min = -MAX_CREDITS): number {
  const n = Number(value);
  if (value === undefined || value.trim() === "" || !Number.isFinite(n))
    throw new UsageError("--credits must be a number");
  if (n < min || n > MAX_CREDITS)
    throw new UsageError(`--credits must be a number from ${min} to ${MAX_CREDITS}, got ${value}`);
  return n;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * parseArgs reads `--credits -5` as an option missing its value followed by an unknown option, so
 * the documented way to remove credits would be refused: a negative number after an option that
 * takes a value is that option's value.
 */
function joinNegativeValues(args: string[], valued: ReadonlySet<string>): string[] {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i]!;
    const next = args[i + 1];
    if (valued.has(arg) && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      joined.push(`${arg}=${next}`);
      i += 1;
    } else joined.push(arg);
  }
  return joined;
}

const ADMIN_OPTIONS = {
  name: { type: "string" },
  "rate-limit": { type: "string" },
  "pending-scrapes": { type: "string" },
  "pending-batches": { type: "string" },
  "pending-crawls": { type: "string" },
  credits: { type: "string" },
  json: { type: "boolean", default: false },
  key: { type: "string" },
  id: { type: "string" },
  account: { type: "string" },
} as const;

const VALUED_OPTIONS = new Set(
  Object.entries(ADMIN_OPTIONS)
    .filter(([, o]) => o.type === "string")
    .map(([name]) => `--${name}`),
);

async function adminCommand(db: ReturnType<typeof createDb>["db"], argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  const { values } = parseArgs({ args: joinNegativeValues(rest, VALUED_OPTIONS), options: ADMIN_OPTIONS });
  if (command === "keys" && sub === "create") {
    if (!values.name) throw new UsageError("--name is required");
    const created = await createAccount(db, { name: values.name, credits: credits(values.credits ?? "0", 0) });
    // The key's id is what `keys revoke --id` takes; nothing else shows it.
    if (values.json) out(JSON.stringify({ key: created.key, accountId: created.accountId, keyId: created.keyId }));
    else {
      out(`API key (shown once, store it now): ${created.key}`);
      out(`Account: ${created.accountId}`);
      out(`Key id (for keys revoke --id): ${created.keyId}`);
    }
    return 0;
  }
  if (command === "keys" && sub === "revoke") {
    if (!values.key && !values.id) throw new UsageError("--key or --id is required");
    // An id that is not a UUID matches no key (Postgres would refuse it as a uuid).
    const keyId = values.id !== undefined && UUID.test(values.id.trim()) ? values.id.trim() : undefined;
    const n = await revokeApiKey(db, { key: values.key, keyId });
    out(n > 0 ? "key revoked" : "no active key matched");
    return n > 0 ? 0 : 1;
  }
  if (command === "credits" && sub === "add") {
    if (!values.account) throw new UsageError("--account is required");
    const balance = await addCredits(db, { accountId: values.account, credits: credits(values.credits) }).catch(
      (err: { cause?: { code?: string } }) => {
        if (err.cause?.code === "22P02" || err.cause?.code === "23514")
          return "unknown account, or the balance would go below zero";
        if (err.cause?.code === "22003") return `the balance would go above ${MAX_CREDITS}`;
        throw err;
      },
    );
    if (balance === null || typeof balance === "string") {
      process.stderr.write(`${balance ?? "unknown account, or the balance would go below zero"}\n`);
      return 1;
    }
    out(`balance: ${balance}`);
    return 0;
  }
  if (command === "webhooks" && sub === "secret") {
    if (!values.account) throw new UsageError("--account is required");
    const secret = await ensureWebhookSecret(db, values.account).catch((err: { cause?: { code?: string } }) => {
      if (err.cause?.code === "22P02") return null;
      throw err;
    });
    if (secret === null) {
      process.stderr.write("unknown account\n");
      return 1;
    }
    if (values.json) out(JSON.stringify({ accountId: values.account, secret }));
    else out(`Webhook secret (verifies X-Spidra-Signature: sha256=HMAC-SHA256 of the raw body): ${secret}`);
    return 0;
  }
  if (command === "accounts" && sub === "set-limits") {
    if (!values.account) throw new UsageError("--account is required");
    const limits = await setAccountLimits(db, {
      accountId: values.account,
      limits: {
        rateLimitMax: limitValue("--rate-limit", values["rate-limit"]),
        maxPendingScrapeJobs: limitValue("--pending-scrapes", values["pending-scrapes"]),
        maxPendingBatches: limitValue("--pending-batches", values["pending-batches"]),
        maxPendingCrawls: limitValue("--pending-crawls", values["pending-crawls"]),
      },
    }).catch((err: { cause?: { code?: string } }) => {
      if (err.cause?.code === "22P02") return null;
      throw err;
    });
    if (limits === null) {
      process.stderr.write("unknown account\n");
      return 1;
    }
    out(JSON.stringify({ accountId: values.account, ...limits }));
    return 0;
  }
  throw new UsageError(`unknown command "${[command, sub].filter(Boolean).join(" ")}"`);
}

/** A limit option: a positive integer, or "default" to clear the override; undefined leaves it as is. */
function limitValue(flag: string, value: string | undefined): number | null | undefined {
  if (value === undefined) return undefined;
  if (value.trim().toLowerCase() === "default") return null;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer or "default"`);
  return n;
}
