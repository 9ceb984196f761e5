import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

/**
 * Counts every request gathered in one turn of the event loop in one command: reads the key epoch
 * once, then for each request, in arrival order, counts it (INCR; the first hit opens the window
 * with PEXPIRE, whose time left is then the whole window) and reads the client IP's count of unknown
 * keys (its time left only when there is one). Three commands a request in the usual case, where a
 * SET NX PX before every INCR and a PTTL of a missing key made five: the script's commands are most
 * of what the limiter costs Redis. Answer: [epoch, then 4 values per request].
 */
const COUNT_SCRIPT = `
local out = { redis.call("GET", KEYS[1]) }
for i = 2, #KEYS, 2 do
  local hits = redis.call("INCR", KEYS[i])
  out[#out + 1] = hits
  if hits == 1 then
    redis.call("PEXPIRE", KEYS[i], ARGV[1])
    out[#out + 1] = tonumber(ARGV[1])
  else
    out[#out + 1] = redis.call("PTTL", KEYS[i])
  end
  local bad = redis.call("GET", KEYS[i + 1])
  out[#out + 1] = bad
  out[#out + 1] = bad and redis.call("PTTL", KEYS[i + 1]) or -2
end
return out
`;
const COUNT_SHA = createHash("sha1").update(COUNT_SCRIPT).digest("hex");

/** Most requests counted in one command. */
const MAX_GROUP = 256;

/** One request's count, as the counter saw it. */
export interface RateCount {
  /** Hits in the request's window, this one included. */
  hits: number;
  /** Time left in that window. */
  ttlMs: number;
  /** The key epoch (`none` when never set). */
  epoch: string;
  /** Unknown keys counted for the client's IP in its own window, and that window's time left. */
  badHits: number;
  badTtlMs: number;
}

export interface RateCounter {
  /** Counts one hit on `counterKey` and reads `badKeysKey`; rejects when Redis cannot answer. */
  count(counterKey: string, badKeysKey: string): Promise<RateCount>;
}

type Waiting = { counter: string; badKeys: string; resolve(c: RateCount): void; reject(e: unknown): void };

/**
 * The rate limiter's Redis round trip, shared: requests that arrive in the same turn of the event
 * loop (a burst of connections read in one poll) are counted by one script call — one write and one
 * read on the Redis connection instead of one each — and each still gets its own count, in order.
 */
export function createRateCounter(opts: { redis: Redis; epochKey: string; windowMs: number }): RateCounter {
  let gathering: Waiting[] | null = null;

  async function send(group: Waiting[]): Promise<void> {
    const keys = [opts.epochKey, ...group.flatMap((w) => [w.counter, w.badKeys])];
    try {
      const out = (await opts.redis
        .evalsha(COUNT_SHA, keys.length, ...keys, opts.windowMs)
        .catch(async (err: Error) => {
          if (!err.message.includes("NOSCRIPT")) throw err;
          return opts.redis.eval(COUNT_SCRIPT, keys.length, ...keys, opts.windowMs);
        })) as Array<string | number | null>;
      const epoch = out[0] == null ? "none" : String(out[0]);
      group.forEach((w, i) => {
        const at = 1 + i * 4;
        w.resolve({
          hits: Number(out[at]),
          ttlMs: Math.max(0, Number(out[at + 1])),
          epoch,
          badHits: Number(out[at + 2] ?? 0),
          badTtlMs: Math.max(0, Number(out[at + 3])),
        });
      });
    } catch (err) {
      for (const w of group) w.reject(err);
    }
  }

  return {
    count(counter, badKeys) {
      return new Promise<RateCount>((resolve, reject) => {
        if (gathering && gathering.length < MAX_GROUP) {
          gathering.push({ counter, badKeys, resolve, reject });
          return;
        }
        const group: Waiting[] = [{ counter, badKeys, resolve, reject }];
        gathering = group;
        setImmediate(() => {
          if (gathering === group) gathering = null;
          void send(group);
        });
      });
    },
  };
}
