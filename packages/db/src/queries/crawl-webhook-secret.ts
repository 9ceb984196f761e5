import { randomBytes } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import type { Db } from "../client.ts";
import { accounts } from "../schema/index.ts";

/**
 * The account's webhook signing secret, created on first need (the first crawl with a webhookUrl,
 * or `orbweaver webhooks secret`). Concurrent callers agree: the first stored value wins.
 * Returns null for an unknown account.
 */
export async function ensureWebhookSecret(db: Db, accountId: string): Promise<string | null> {
  const fresh = `whsec_${randomBytes(24).toString("base64url")}`;
  const [row] = await db
    .update(accounts)
    .set({ webhookSecret: sql`coalesce(${accounts.webhookSecret}, ${fresh})` })
    .where(eq(accounts.id, accountId))
    .returning({ secret: accounts.webhookSecret });
  return row?.secret ?? null;
}
