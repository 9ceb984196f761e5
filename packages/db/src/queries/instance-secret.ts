import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import type { Db } from "../client.ts";
import { instanceSettings } from "../schema/index.ts";

/**
 * The secret that signs file links and seals short-lived secrets: ORBWEAVER_SECRET when set, else
 * one generated on first use and kept in Postgres, so every gateway and worker agrees without setup.
 */
export async function getInstanceSecret(db: Db, configured?: string): Promise<string> {
  if (configured) return configured;
  await db
    .insert(instanceSettings)
    .values({ key: "secret", value: randomBytes(32).toString("base64url") })
    .onConflictDoNothing();
  const [row] = await db.select().from(instanceSettings).where(eq(instanceSettings.key, "secret"));
  if (!row) throw new Error("instance secret missing after insert");
  return row.value;
}
