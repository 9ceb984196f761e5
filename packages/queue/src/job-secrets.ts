import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import type { Redis } from "ioredis";

/**
 * Secrets a job needs but that must never be stored (cookies): sealed with AES-256-GCM under the
 * instance secret and kept in Redis beside — not inside — the job data, with an expiry. Postgres,
 * job data, logs and results never see them; the worker deletes them when the job ends.
 */
export interface JobSecretsStore {
  put(jobId: string, value: unknown): Promise<void>;
  get<T>(jobId: string): Promise<T | undefined>;
  delete(jobId: string): Promise<void>;
}

export function createJobSecretsStore(opts: {
  redis: Redis;
  prefix: string;
  secret: string;
  /** Lifetime of a sealed secret; a job sent with cookies and not run by then fails. Default 24 h. */
  ttlSeconds?: number;
}): JobSecretsStore {
  const key = createHash("sha256").update(`orbweaver-job-secrets\n${opts.secret}`).digest();
  const redisKey = (jobId: string) => `${opts.prefix}:job-secret:${jobId}`;
  return {
    async put(jobId, value) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const body = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
      const sealed = Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64");
      await opts.redis.set(redisKey(jobId), sealed, "EX", opts.ttlSeconds ?? 24 * 3600);
    },
    async get<T>(jobId: string) {
      const sealed = await opts.redis.get(redisKey(jobId));
      if (!sealed) return undefined;
      const raw = Buffer.from(sealed, "base64");
      const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      const text = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
      return JSON.parse(text) as T;
    },
    async delete(jobId) {
      await opts.redis.del(redisKey(jobId));
    },
  };
}
