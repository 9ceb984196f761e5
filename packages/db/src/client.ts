import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import pg from "pg";
import * as schema from "./schema/index.ts";

export type Db = NodePgDatabase<typeof schema>;
/** The handle inside `db.transaction(async (tx) => …)`. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
export type DbHandle = { db: Db; pool: pg.Pool; close(): Promise<void> };

/** Options for {@link createDb}. */
export interface CreateDbOptions {
  url: string;
  /** Pool size. Default 10. */
  max?: number;
  /**
   * Postgres cancels a statement that runs longer (error 57014, which `isDbUnavailable` counts as
   * the database being unavailable: 503 at the gateway, retried by workers). 0 or unset: no limit.
   */
  statementTimeoutMs?: number;
}

export function createDb(opts: CreateDbOptions): DbHandle {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.max ?? 10,
    connectionTimeoutMillis: 5000,
    ...(opts.statementTimeoutMs ? { statement_timeout: opts.statementTimeoutMs } : {}),
  });
  // A dropped idle connection must not crash the process; the pool replaces it.
  pool.on("error", () => {});
  // Nor one dropped while checked out (a transaction's): node-postgres fails its queries with the
  // error, and also emits it on the client, where the pool listens only while the client is idle.
  pool.on("connect", (client) => client.on("error", () => {}));
  const db = drizzle(pool, { schema });
  return { db, pool, close: () => pool.end() };
}
