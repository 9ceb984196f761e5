-- A retried batch has run already: its status is `running` until it is done again, never `pending` (§7.3).
ALTER TABLE "batches" ADD COLUMN "retried_at" timestamp with time zone;