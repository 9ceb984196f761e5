/** Per-tag bookkeeping for the egress proxy: what was refused and how many bytes moved. */

export interface BlockedTarget {
  target: string;
  reason: string;
}

export interface ByteCount {
  /** Bytes written to targets (what the browser sent out). */
  sent: number;
  /** Bytes read from targets (what the browser downloaded). */
  received: number;
}

interface LiveSource {
  read: () => ByteCount;
}

// A hostile page can trigger thousands of refusals; the worker only needs a sample.
const MAX_BLOCKED_PER_TAG = 200;

export class EgressLedger {
  private readonly blockedByTag = new Map<string, BlockedTarget[]>();
  private readonly totals = new Map<string, ByteCount>();
  private readonly live = new Map<string, Set<LiveSource>>();

  recordBlocked(tag: string, target: string, reason: string): void {
    let list = this.blockedByTag.get(tag);
    if (list === undefined) {
      list = [];
      this.blockedByTag.set(tag, list);
    }
    if (list.length < MAX_BLOCKED_PER_TAG) list.push({ target, reason });
  }

  /**
   * Registers an open connection whose counters are still moving, so bytes()
   * is accurate while keep-alive sockets stay open after a page load.
   * Returns a function to call on close with the final counts.
   */
  track(tag: string, read: () => ByteCount): (final?: ByteCount) => void {
    const source: LiveSource = { read };
    let set = this.live.get(tag);
    if (set === undefined) {
      set = new Set();
      this.live.set(tag, set);
    }
    set.add(source);
    return (final) => {
      const current = this.live.get(tag);
      // forget(tag) already dropped this source: its bytes must not resurrect the tag.
      if (current === undefined || !current.delete(source)) return;
      if (current.size === 0) this.live.delete(tag);
      this.add(tag, final ?? read());
    };
  }

  private add(tag: string, b: ByteCount): void {
    const t = this.totals.get(tag) ?? { sent: 0, received: 0 };
    t.sent += b.sent;
    t.received += b.received;
    this.totals.set(tag, t);
  }

  blocked(tag: string): BlockedTarget[] {
    return (this.blockedByTag.get(tag) ?? []).map((b) => ({ ...b }));
  }

  bytes(tag: string): ByteCount {
    const t = this.totals.get(tag) ?? { sent: 0, received: 0 };
    const out = { sent: t.sent, received: t.received };
    for (const s of this.live.get(tag) ?? []) {
      const b = s.read();
      out.sent += b.sent;
      out.received += b.received;
    }
    return out;
  }

  forget(tag: string): void {
    this.blockedByTag.delete(tag);
    this.totals.delete(tag);
    this.live.delete(tag);
  }
}
