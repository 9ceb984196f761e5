/**
 * SQLSTATE class 08 (connection exception), 57P01–57P03 (shutdown, crash, not accepting yet) and
 * 57014 (a statement cancelled: DB_STATEMENT_TIMEOUT_MS passed, or an operator cancelled it).
 */
const UNAVAILABLE_SQLSTATE = /^(08[0-9A-Z]{3}|57P0[1-3]|57014)$/;

/** Socket errors of a server that is down, restarting or unreachable. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "ENOTFOUND",
]);

/**
 * node-postgres reports a dropped connection and a connect timeout with plain Errors that carry no
 * code; these exact messages are the only marker it gives (pg/lib/client.js, pg-pool/index.js).
 */
const DRIVER_CONNECTION_MESSAGES = new Set([
  "Connection terminated unexpectedly",
  "Connection terminated due to connection timeout",
  "timeout exceeded when trying to connect",
  "Client has encountered a connection error and is not queryable",
]);

/**
 * True when an error (or one of its causes; drizzle wraps driver errors in `cause`) means Postgres
 * could not be reached or went away, as opposed to a query it refused. Such a failure is worth
 * retrying once the database is back, and the gateway answers it with 503 rather than 500.
 */
export function isDbUnavailable(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 8 && current instanceof Error; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && (UNAVAILABLE_SQLSTATE.test(code) || NETWORK_CODES.has(code))) return true;
    if (code === undefined && DRIVER_CONNECTION_MESSAGES.has(current.message)) return true;
    // A host with several addresses (localhost) fails with one error per address.
    if (current instanceof AggregateError && current.errors.some((e) => isDbUnavailable(e))) return true;
    current = current.cause;
  }
  return false;
}

/**
 * SQLSTATE 22P05 (a `\u0000` escape in jsonb, or a character the encoding lacks) and 22021 (a NUL
 * or invalid byte in text): a value Postgres cannot store, which a request's content can bring.
 */
const VALUE_REFUSED_SQLSTATE = new Set(["22P05", "22021"]);

/**
 * True when Postgres refused a written value it cannot store (see VALUE_REFUSED_SQLSTATE), or JSON
 * it cannot read (22P02 on type json: an unpaired surrogate escape). Other 22P02s (a failed cast)
 * are the server's own faults and stay errors.
 */
export function isDbValueRefused(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 8 && current instanceof Error; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (VALUE_REFUSED_SQLSTATE.has(code as string)) return true;
    if (code === "22P02" && /type json/.test(current.message)) return true;
    current = current.cause;
  }
  return false;
}

/** Failures of a connection that had a statement on its way: the statement may have run, its answer lost. */
const ANSWER_LOST_CODES = new Set(["ECONNRESET", "EPIPE", "ETIMEDOUT"]);

/**
 * True when a write failed with its connection in a way that leaves its outcome unknown: Postgres may
 * have committed it and the answer was lost with the connection ("Connection terminated
 * unexpectedly", a reset). False for a statement Postgres refused (it rolled back), for a connection
 * that was never made (refused, a connect timeout) and for any other error: those wrote nothing.
 */
export function mayHaveCommitted(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 8 && current instanceof Error; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && ANSWER_LOST_CODES.has(code)) return true;
    if (code === undefined && current.message === "Connection terminated unexpectedly") return true;
    current = current.cause;
  }
  return false;
}
