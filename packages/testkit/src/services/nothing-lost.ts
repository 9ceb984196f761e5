// The "nothing lost" figure of the fault tests, read from Postgres: every job acknowledged with 202
// reaches a terminal state exactly once, with exactly one result and one ledger entry per charge.
// A trigger records terminal transitions, so "exactly once" is observed rather than assumed.

/** The part of a pg Pool or Client these helpers use. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
}

const TERMINAL = ["completed", "failed", "cancelled"];

/**
 * Installs (idempotently) a trigger on `jobs` that writes a row to `test_job_transitions` each time
 * a job is written into a terminal state: once when it first ends, and again if anything ever
 * re-finishes it (a second terminal write changes `finished_at`). For private test databases only.
 */
export async function installJobAudit(db: Queryable): Promise<void> {
  await db.query(`
    create table if not exists test_job_transitions (
      id bigserial primary key,
      job_id uuid not null,
      from_status text,
      to_status text not null,
      at timestamptz not null default clock_timestamp()
    )`);
  await db.query(`
    create or replace function test_audit_job_transition() returns trigger language plpgsql as $$
    begin
      if new.status in ('completed', 'failed', 'cancelled')
         and (old.status not in ('completed', 'failed', 'cancelled')
              or new.finished_at is distinct from old.finished_at) then
        insert into test_job_transitions (job_id, from_status, to_status) values (new.id, old.status, new.status);
      end if;
      return new;
    end $$`);
  await db.query(`drop trigger if exists test_audit_job_transition on jobs`);
  await db.query(`
    create trigger test_audit_job_transition after update on jobs
    for each row execute function test_audit_job_transition()`);
}

/** What Postgres holds about one job. */
export interface JobAudit {
  id: string;
  status: string;
  attempts: number;
  hasResult: boolean;
  error: string | null;
  reserved: number;
  used: number;
  /** Terminal writes recorded by {@link installJobAudit}. */
  terminalWrites: number;
  /** Ledger rows of the job by reason (`reserve`, `refund`, `charge`). */
  ledger: Record<string, { rows: number; sum: number }>;
}

export async function auditJobs(db: Queryable, jobIds: string[]): Promise<JobAudit[]> {
  if (jobIds.length === 0) return [];
  const { rows } = await db.query(
    `select j.id, j.status, j.attempts, j.result is not null as has_result, j.error,
            j.credits_reserved::float as reserved, j.credits_used::float as used,
            (select count(*)::int from test_job_transitions t where t.job_id = j.id) as terminal_writes,
            coalesce((select json_object_agg(reason, json_build_object('rows', n, 'sum', total))
                        from (select reason, count(*)::int as n, sum(delta)::float as total
                                from credit_ledger l where l.job_id = j.id group by reason) r), '{}') as ledger
       from jobs j where j.id = any($1::uuid[]) order by j.created_at`,
    [jobIds],
  );
  return rows.map((r) => ({
    id: r.id as string,
    status: r.status as string,
    attempts: r.attempts as number,
    hasResult: r.has_result as boolean,
    error: (r.error as string | null) ?? null,
    reserved: r.reserved as number,
    used: r.used as number,
    terminalWrites: r.terminal_writes as number,
    ledger: r.ledger as JobAudit["ledger"],
  }));
}

/**
 * Every way the "nothing lost" figure can fail for the given jobs, as readable sentences (an empty
 * list is a pass). `acknowledged` are jobs answered 202: each must be terminal, written terminal
 * exactly once, completed with a result (or failed with an error), with exactly one reservation,
 * at most one row of any other reason, and a ledger that nets to what the job says it used.
 * With `accountId` and `openingCredits`, the account's balance must equal its ledger and the opening
 * credits less everything its jobs used. `expectCompleted` additionally requires status `completed`.
 */
export async function nothingLostProblems(
  db: Queryable,
  opts: { acknowledged: string[]; accountId?: string; openingCredits?: number; expectCompleted?: boolean },
): Promise<string[]> {
  const problems: string[] = [];
  const audits = await auditJobs(db, opts.acknowledged);
  const found = new Set(audits.map((a) => a.id));
  for (const id of opts.acknowledged) if (!found.has(id)) problems.push(`${id}: no row in jobs`);
  for (const a of audits) {
    const p = (what: string) => problems.push(`${a.id} (${a.status}, attempt ${a.attempts}): ${what}`);
    if (!TERMINAL.includes(a.status)) p("not terminal");
    else if (a.terminalWrites !== 1) p(`written terminal ${a.terminalWrites} times`);
    if (opts.expectCompleted && a.status !== "completed") p(`expected completed (error: ${a.error ?? "none"})`);
    if (a.status === "completed" && !a.hasResult) p("completed without a result");
    if (a.status === "failed" && !a.error) p("failed without an error");
    if (a.reserved > 0 && a.ledger.reserve?.rows !== 1) p(`${a.ledger.reserve?.rows ?? 0} reserve rows`);
    for (const [reason, entry] of Object.entries(a.ledger)) {
      if (entry.rows !== 1) p(`${entry.rows} ledger rows for ${reason}`);
    }
    const net = Object.values(a.ledger).reduce((s, e) => s + e.sum, 0);
    if (TERMINAL.includes(a.status) && Math.abs(-net - a.used) > 1e-6) p(`ledger nets ${-net}, job used ${a.used}`);
  }
  if (opts.accountId !== undefined) {
    const { rows } = await db.query(
      `select a.credits_balance::float as balance,
              coalesce((select sum(delta) from credit_ledger l where l.account_id = a.id), 0)::float as ledger,
              coalesce((select sum(credits_used) from jobs j where j.account_id = a.id), 0)::float as used,
              (select count(*)::int from jobs j where j.account_id = a.id
                  and j.status not in ('completed', 'failed', 'cancelled')) as open
         from accounts a where a.id = $1`,
      [opts.accountId],
    );
    const acc = rows[0] as { balance: number; ledger: number; used: number; open: number } | undefined;
    if (!acc) problems.push(`account ${opts.accountId} not found`);
    else {
      if (Math.abs(acc.balance - acc.ledger) > 1e-6) problems.push(`balance ${acc.balance} != ledger ${acc.ledger}`);
      if (
        opts.openingCredits !== undefined &&
        acc.open === 0 &&
        Math.abs(opts.openingCredits - acc.used - acc.balance) > 1e-6
      ) {
        problems.push(`balance ${acc.balance} != opening ${opts.openingCredits} - used ${acc.used}`);
      }
      if (acc.open > 0) problems.push(`${acc.open} jobs of the account are not terminal`);
    }
  }
  return problems;
}
