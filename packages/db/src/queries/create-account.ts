import { generateApiKey, hashApiKey } from "../api-key.ts";
import type { Db } from "../client.ts";
import { accounts, apiKeys, creditLedger } from "../schema/index.ts";

/** Options for {@link createAccount}. */
export interface CreateAccountOptions {
  name: string;
  /** Opening balance, recorded as a `grant` ledger row. Default 0. */
  credits?: number;
  /** Use this key instead of generating one (bootstrap key). */
  key?: string;
}

/** Creates an account with one API key; the plain key is returned once and only its hash is stored. */
export async function createAccount(
  db: Db,
  opts: CreateAccountOptions,
): Promise<{ accountId: string; keyId: string; key: string }> {
  const key = opts.key ?? generateApiKey();
  const credits = opts.credits ?? 0;
  return db.transaction(async (tx) => {
    const [account] = await tx.insert(accounts).values({ name: opts.name, creditsBalance: credits }).returning();
    if (!account) throw new Error("account insert returned nothing");
    const [apiKey] = await tx
      .insert(apiKeys)
      .values({ accountId: account.id, name: opts.name, keyHash: hashApiKey(key), keyPrefix: key.slice(0, 8) })
      .returning();
    if (!apiKey) throw new Error("api key insert returned nothing");
    if (credits !== 0) {
      await tx
        .insert(creditLedger)
        .values({ accountId: account.id, delta: credits, reason: "grant", note: "opening balance" });
    }
    return { accountId: account.id, keyId: apiKey.id, key };
  });
}
