import type { Config } from "@orbweaver/config";
import { createAccount, keyExists, type Db } from "@orbweaver/db";

/** With ORBWEAVER_BOOTSTRAP_KEY set, the first start creates an account owning that key. */
export async function ensureBootstrapAccount(db: Db, config: Config): Promise<"created" | "exists" | "disabled"> {
  const key = config.bootstrap.key;
  if (!key) return "disabled";
  if (await keyExists(db, key)) return "exists";
  try {
    await createAccount(db, { name: "bootstrap", credits: config.bootstrap.credits, key });
    return "created";
  } catch (err) {
    // Two replicas starting at once: the unique key hash lets exactly one win.
    if ((err as { cause?: { code?: string }; code?: string }).cause?.code === "23505") return "exists";
    if ((err as { code?: string }).code === "23505") return "exists";
    throw err;
  }
}
