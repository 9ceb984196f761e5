/**
 * The one line an operator sees when a command or a start fails. A failed query's own message
 * ("Failed query: insert … params: …") would print the statement's parameters, among them the
 * instance secret a first start generates or an API key's hash: only Postgres's reason is shown,
 * with what to do about the usual ones.
 */
export function describeError(err: unknown): string {
  type PgLike = { code?: unknown; message?: unknown; cause?: PgLike } | undefined;
  const isPg = (e: PgLike) => typeof e?.code === "string" && /^[0-9A-Z]{5}$/.test(e.code);
  // drizzle wraps Postgres's error as the cause of its own; a connection error comes bare.
  const pg = [(err as PgLike)?.cause, err as PgLike].find(isPg);
  if (pg !== undefined) {
    const pgCode = pg.code as string;
    const reason = typeof pg.message === "string" ? pg.message : "unknown reason";
    if (pgCode === "42P01" || pgCode === "42883")
      return `database error: ${reason}: the database is not migrated; run \`pnpm db:migrate\` (or \`orbweaver migrate\`) first`;
    if (pgCode === "3D000")
      return `database error: ${reason}: run \`pnpm db:migrate\` (or \`orbweaver migrate\`), which creates it`;
    return `database error: ${reason} (${pgCode})`;
  }
  const message = err instanceof Error ? err.message : String(err);
  // A failed query whose cause is no Postgres answer: the database could not be reached.
  const cause = (err as PgLike)?.cause;
  if (message.startsWith("Failed query") && typeof cause?.message === "string")
    return `database error: ${cause.message} (DATABASE_URL)`;
  // Never the parameters of a failed statement, whatever shape the error has.
  return message.replace(/\nparams:[\s\S]*$/, "");
}
