-- Scrape submits in one statement (createScrapeJobs): the gateway sends a group of submits, of one
-- account or several, as one JSON array and gets one answer per item, in order. Everything the
-- transaction did in seven round trips happens here in one: the accounts' advisory locks (the same
-- lock batches, batch retries and crawls take: hashtextextended of the account id), then — each
-- statement of a function reads after the ones before it, so after the locks — the balances and the
-- pending single scrapes, the decision item by item in order (accepted while the account's pending
-- count stays under its limit and its balance covers the item), one guarded debit per account (an
-- account that a debit from elsewhere left short has all its items of the group refused), the job
-- rows and their `reserve` ledger entries.
--
-- items: [{ "id": uuid, "accountId": uuid, "request": {...}, "credits": number, "maxPending": int,
--           "warnings": [text] | null, "channel": text | null }]
-- returns: [{ "ok": true, "jobId": uuid } | { "ok": false, "reason": "TOO_MANY_PENDING_JOBS" | "INSUFFICIENT_CREDITS" }]
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

  -- Balances and pending single scrapes, counted on the partial index jobs_pending_scrapes_idx.
  FOR r IN
    SELECT a.id::text AS id, a.credits_balance AS balance,
           (SELECT count(*) FROM "jobs" j
             WHERE j.account_id = a.id AND j.kind = 'scrape' AND j.batch_id IS NULL
               AND j.status IN ('waiting', 'delayed', 'active'))::int AS waiting
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
