DROP INDEX "jobs_pending_scrapes_idx";--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "pending_scrapes" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- The pending-job limit of scrape submits read in O(1): accounts.pending_scrapes counts the
-- account's unfinished single scrapes (kind scrape, no batch, status waiting | delayed | active),
-- kept by the triggers below in the same transaction as every change of a job's membership, so it
-- is exact whatever code path inserts, finishes or deletes a job. It replaces counting the jobs
-- (the partial index dropped above), which grew with the queue: ~7 ms at 20,000 pending jobs.
UPDATE "accounts" a SET pending_scrapes = (
  SELECT count(*) FROM "jobs" j
   WHERE j.account_id = a.id AND j.kind = 'scrape' AND j.batch_id IS NULL
     AND j.status IN ('waiting', 'delayed', 'active'));
--> statement-breakpoint
-- Inserts: one update per account and statement (a group of submits adds all its jobs at once).
CREATE OR REPLACE FUNCTION "orbweaver_pending_scrapes_inserted"() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  UPDATE "accounts" a SET pending_scrapes = a.pending_scrapes + c.n
    FROM (SELECT account_id, count(*)::int AS n FROM inserted
           WHERE kind = 'scrape' AND batch_id IS NULL AND status IN ('waiting', 'delayed', 'active')
           GROUP BY account_id) c
   WHERE a.id = c.account_id;
  RETURN NULL;
END
$fn$;
--> statement-breakpoint
-- Updates that move a job in or out of the pending set (the trigger's WHEN picks them), and deletes.
CREATE OR REPLACE FUNCTION "orbweaver_pending_scrapes_changed"() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  was boolean := false;
  is_now boolean := false;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    was := OLD.kind = 'scrape' AND OLD.batch_id IS NULL AND OLD.status IN ('waiting', 'delayed', 'active');
  END IF;
  IF TG_OP = 'UPDATE' THEN
    is_now := NEW.kind = 'scrape' AND NEW.batch_id IS NULL AND NEW.status IN ('waiting', 'delayed', 'active');
  END IF;
  IF was AND NOT is_now THEN
    UPDATE "accounts" SET pending_scrapes = pending_scrapes - 1 WHERE id = OLD.account_id;
  END IF;
  IF is_now AND NOT was THEN
    UPDATE "accounts" SET pending_scrapes = pending_scrapes + 1 WHERE id = NEW.account_id;
  END IF;
  RETURN NULL;
END
$fn$;
--> statement-breakpoint
CREATE TRIGGER "jobs_pending_scrapes_insert" AFTER INSERT ON "jobs"
  REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION "orbweaver_pending_scrapes_inserted"();
--> statement-breakpoint
CREATE TRIGGER "jobs_pending_scrapes_update" AFTER UPDATE OF status, kind, batch_id ON "jobs"
  FOR EACH ROW
  WHEN ((OLD.kind = 'scrape' AND OLD.batch_id IS NULL AND OLD.status IN ('waiting', 'delayed', 'active'))
        IS DISTINCT FROM (NEW.kind = 'scrape' AND NEW.batch_id IS NULL AND NEW.status IN ('waiting', 'delayed', 'active')))
  EXECUTE FUNCTION "orbweaver_pending_scrapes_changed"();
--> statement-breakpoint
CREATE TRIGGER "jobs_pending_scrapes_delete" AFTER DELETE ON "jobs"
  FOR EACH ROW
  WHEN (OLD.kind = 'scrape' AND OLD.batch_id IS NULL AND OLD.status IN ('waiting', 'delayed', 'active'))
  EXECUTE FUNCTION "orbweaver_pending_scrapes_changed"();
--> statement-breakpoint
-- Scrape submits read the pending count kept above instead of counting (otherwise as in 0007).
CREATE OR REPLACE FUNCTION "orbweaver_create_scrape_jobs"(items jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  acct text;
  r record;
  balances jsonb := '{}';
  pending jsonb := '{}';
  debits jsonb := '{}';
  decided jsonb := '[]';
  refused text[];
  credits numeric;
BEGIN
  -- One at a time per account, locks taken in a fixed (byte) order so two groups cannot deadlock.
  FOR acct IN
    SELECT DISTINCT (i ->> 'accountId')::uuid::text COLLATE "C" AS a FROM jsonb_array_elements(items) AS i ORDER BY a
  LOOP
    PERFORM pg_advisory_xact_lock(hashtextextended(acct, 0));
  END LOOP;

  -- Balances and pending single scrapes (kept by the triggers on jobs).
  FOR r IN
    SELECT a.id::text AS id, a.credits_balance AS balance, a.pending_scrapes AS waiting
      FROM "accounts" a
     WHERE a.id IN (SELECT (i ->> 'accountId')::uuid FROM jsonb_array_elements(items) AS i)
  LOOP
    balances := balances || jsonb_build_object(r.id, r.balance);
    pending := pending || jsonb_build_object(r.id, r.waiting);
  END LOOP;

  -- The decision, item by item in order.
  FOR r IN
    SELECT i.value AS v, (i.value ->> 'accountId')::uuid::text AS account
      FROM jsonb_array_elements(items) WITH ORDINALITY AS i(value, n) ORDER BY i.n
  LOOP
    credits := (r.v ->> 'credits')::numeric;
    IF coalesce((pending ->> r.account)::int, 0) >= (r.v ->> 'maxPending')::bigint THEN
      decided := decided || jsonb_build_array(jsonb_build_object('ok', false, 'reason', 'TOO_MANY_PENDING_JOBS'));
    ELSIF balances -> r.account IS NULL OR (balances ->> r.account)::numeric < credits THEN
      decided := decided || jsonb_build_array(jsonb_build_object('ok', false, 'reason', 'INSUFFICIENT_CREDITS'));
    ELSE
      pending := jsonb_set(pending, ARRAY[r.account], to_jsonb((pending ->> r.account)::int + 1));
      balances := jsonb_set(balances, ARRAY[r.account], to_jsonb((balances ->> r.account)::numeric - credits));
      debits := jsonb_set(debits, ARRAY[r.account], to_jsonb(coalesce((debits ->> r.account)::numeric, 0) + credits));
      decided := decided || jsonb_build_array(jsonb_build_object('ok', true, 'jobId', r.v ->> 'id', 'account', r.account));
    END IF;
  END LOOP;

  -- Guarded debit: a debit from elsewhere (token charges) since the read cannot overdraw.
  WITH d AS (
    SELECT key::uuid AS id, value::numeric AS total FROM jsonb_each_text(debits) WHERE value::numeric <> 0
  ), debited AS (
    UPDATE "accounts" SET credits_balance = "accounts".credits_balance - d.total
      FROM d WHERE "accounts".id = d.id AND "accounts".credits_balance >= d.total
    RETURNING "accounts".id
  )
  SELECT coalesce(array_agg(d.id::text), '{}') INTO refused FROM d WHERE d.id NOT IN (SELECT id FROM debited);

  IF cardinality(refused) > 0 THEN
    SELECT jsonb_agg(
             CASE WHEN (x.e ->> 'ok')::boolean AND x.e ->> 'account' = ANY (refused)
                  THEN jsonb_build_object('ok', false, 'reason', 'INSUFFICIENT_CREDITS') ELSE x.e END
             ORDER BY x.n)
      INTO decided
      FROM jsonb_array_elements(decided) WITH ORDINALITY AS x(e, n);
  END IF;

  INSERT INTO "jobs" (id, account_id, kind, channel, request, credits_reserved, schema_warnings, progress, dispatched_at)
  SELECT (i.v ->> 'id')::uuid, (i.v ->> 'accountId')::uuid, 'scrape', coalesce(i.v ->> 'channel', 'api'), i.v -> 'request',
         (i.v ->> 'credits')::numeric,
         CASE WHEN jsonb_typeof(i.v -> 'warnings') = 'array' AND jsonb_array_length(i.v -> 'warnings') > 0
              THEN i.v -> 'warnings' END,
         '{"message": "Waiting in queue", "progress": 0}'::jsonb, now()
    FROM jsonb_array_elements(items) WITH ORDINALITY AS i(v, n)
    JOIN jsonb_array_elements(decided) WITH ORDINALITY AS x(e, n) ON x.n = i.n
   WHERE (x.e ->> 'ok')::boolean;

  INSERT INTO "credit_ledger" (account_id, delta, reason, job_id)
  SELECT (i.v ->> 'accountId')::uuid, -(i.v ->> 'credits')::numeric, 'reserve', (i.v ->> 'id')::uuid
    FROM jsonb_array_elements(items) WITH ORDINALITY AS i(v, n)
    JOIN jsonb_array_elements(decided) WITH ORDINALITY AS x(e, n) ON x.n = i.n
   WHERE (x.e ->> 'ok')::boolean AND (i.v ->> 'credits')::numeric <> 0;

  RETURN (SELECT coalesce(jsonb_agg(x.e - 'account' ORDER BY x.n), '[]')
            FROM jsonb_array_elements(decided) WITH ORDINALITY AS x(e, n));
END
$fn$;
