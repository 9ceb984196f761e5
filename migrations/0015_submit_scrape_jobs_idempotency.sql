-- The submit function of 0009, which now also records a submit's Idempotency-Key beside its job,
-- in the same statement: a job whose commit the gateway never heard about (the connection dropped
-- after it) still holds its key, so the client's retry with that key gets this job instead of a
-- second one (and a second charge). An item may carry `"idem": {"kind", "key", "hash"}`; the keys of
-- the accepted items are inserted into `idempotency_keys` with the rule of recordIdempotentJob
-- (packages/db/src/queries/idempotency-keys.ts): a key whose 24 hours (IDEMPOTENCY_WINDOW_SECONDS)
-- are over is taken over, a live one is kept; of the same key twice in one group the first item's
-- job is recorded. A group without keys costs one count more in the pass over the items.
-- Inputs and answers are otherwise unchanged (see 0008 and packages/db/src/queries/create-scrape-job.ts).
CREATE OR REPLACE FUNCTION "orbweaver_create_scrape_jobs"(items jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  ids uuid[];
  accts uuid[];
  credits numeric[];
  max_pending bigint[];
  requests jsonb[];
  warnings jsonb[];
  channels text[];
  n int;
  ok boolean[];
  reasons text[];
  known uuid[];
  balance numeric[];
  pending int[];
  debit numeric[];
  refused uuid[];
  keyed int;
  acct text;
  i int;
  j int;
BEGIN
  SELECT array_agg((v ->> 'id')::uuid ORDER BY o), array_agg((v ->> 'accountId')::uuid ORDER BY o),
         array_agg((v ->> 'credits')::numeric ORDER BY o), array_agg((v ->> 'maxPending')::bigint ORDER BY o),
         array_agg(v -> 'request' ORDER BY o),
         array_agg(CASE WHEN jsonb_typeof(v -> 'warnings') = 'array' AND jsonb_array_length(v -> 'warnings') > 0
                        THEN v -> 'warnings' END ORDER BY o),
         array_agg(coalesce(v ->> 'channel', 'api') ORDER BY o),
         count(*) FILTER (WHERE v ? 'idem')
    INTO ids, accts, credits, max_pending, requests, warnings, channels, keyed
    FROM jsonb_array_elements(items) WITH ORDINALITY AS t(v, o);
  n := coalesce(cardinality(ids), 0);
  IF n = 0 THEN RETURN '[]'::jsonb; END IF;

  FOR acct IN SELECT DISTINCT a::text COLLATE "C" AS a FROM unnest(accts) AS a ORDER BY 1 LOOP
    PERFORM pg_advisory_xact_lock(hashtextextended(acct, 0));
  END LOOP;

  SELECT array_agg(a.id), array_agg(a.credits_balance), array_agg(a.pending_scrapes)
    INTO known, balance, pending
    FROM "accounts" a WHERE a.id = ANY (accts);
  debit := array_fill(0::numeric, ARRAY[coalesce(cardinality(known), 0)]);
  ok := array_fill(false, ARRAY[n]);
  reasons := array_fill(NULL::text, ARRAY[n]);

  FOR i IN 1..n LOOP
    j := array_position(known, accts[i]);
    IF coalesce(pending[j], 0) >= max_pending[i] THEN
      reasons[i] := 'TOO_MANY_PENDING_JOBS';
    ELSIF j IS NULL OR balance[j] < credits[i] THEN
      reasons[i] := 'INSUFFICIENT_CREDITS';
    ELSE
      ok[i] := true;
      pending[j] := pending[j] + 1;
      balance[j] := balance[j] - credits[i];
      debit[j] := debit[j] + credits[i];
    END IF;
  END LOOP;

  WITH d AS (
    SELECT u.id, u.total FROM unnest(known, debit) AS u(id, total) WHERE u.total <> 0
  ), debited AS (
    UPDATE "accounts" SET credits_balance = "accounts".credits_balance - d.total
      FROM d WHERE "accounts".id = d.id AND "accounts".credits_balance >= d.total
    RETURNING "accounts".id
  )
  SELECT coalesce(array_agg(d.id), '{}') INTO refused FROM d WHERE d.id NOT IN (SELECT id FROM debited);
  IF cardinality(refused) > 0 THEN
    FOR i IN 1..n LOOP
      IF ok[i] AND accts[i] = ANY (refused) THEN
        ok[i] := false;
        reasons[i] := 'INSUFFICIENT_CREDITS';
      END IF;
    END LOOP;
  END IF;

  INSERT INTO "jobs" (id, account_id, kind, channel, request, credits_reserved, schema_warnings, progress, dispatched_at)
  SELECT u.id, u.account_id, 'scrape', u.channel, u.request, u.credits, u.warnings,
         '{"message": "Waiting in queue", "progress": 0}'::jsonb, now()
    FROM unnest(ids, accts, channels, requests, credits, warnings, ok)
         AS u(id, account_id, channel, request, credits, warnings, accepted)
   WHERE u.accepted;

  INSERT INTO "credit_ledger" (account_id, delta, reason, job_id)
  SELECT u.account_id, -u.credits, 'reserve', u.id
    FROM unnest(ids, accts, credits, ok) AS u(id, account_id, credits, accepted)
   WHERE u.accepted AND u.credits <> 0;

  IF keyed > 0 THEN
    INSERT INTO "idempotency_keys" AS k (account_id, kind, key, job_id, request_hash)
    SELECT DISTINCT ON (u.account_id, e ->> 'kind', e ->> 'key')
           u.account_id, e ->> 'kind', e ->> 'key', u.id, e ->> 'hash'
      FROM unnest(ids, accts, ok) WITH ORDINALITY AS u(id, account_id, accepted, n)
           CROSS JOIN LATERAL (SELECT items -> (u.n::int - 1) -> 'idem') AS x(e)
     WHERE u.accepted AND jsonb_typeof(e) = 'object'
     ORDER BY u.account_id, e ->> 'kind', e ->> 'key', u.n
    ON CONFLICT (account_id, kind, key) DO UPDATE
       SET job_id = excluded.job_id, request_hash = excluded.request_hash, created_at = now()
     WHERE k.created_at <= now() - interval '24 hours';
  END IF;

  RETURN (SELECT jsonb_agg(CASE WHEN u.accepted THEN jsonb_build_object('ok', true, 'jobId', u.id)
                                ELSE jsonb_build_object('ok', false, 'reason', u.reason) END ORDER BY u.n)
            FROM unnest(ids, ok, reasons) WITH ORDINALITY AS u(id, accepted, reason, n));
END
$fn$;
