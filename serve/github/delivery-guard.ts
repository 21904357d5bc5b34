/** GitHub lets anyone with access redeliver a delivery from the past 3 days, with the same `X-GitHub-Delivery`. */
export const DELIVERY_MEMORY_MS = 72 * 60 * 60 * 1000;

/** What {@link DeliveryGuard.begin} says about a delivery. */
export type DeliveryAdmission = 'new' | 'duplicate' | 'in-progress';

/**
 * Remembers verified deliveries, so a repeated one is answered without signalling again. A GitHub
 * signature has no timestamp and covers only the body (not `X-GitHub-Delivery`): a captured delivery
 * stays valid forever, and could be sent again under a new delivery id. So each delivery is known by
 * two keys, its delivery id and its signature (the body's HMAC), and a repeat of either is a
 * duplicate. (GitHub's redelivery keeps the delivery id.)
 *
 * A delivery is `pending` while it is handled and stays remembered only when it was handled (a 2xx
 * answer); one that failed (Temporal down: 503) is forgotten, so its redelivery, which keeps the
 * same id, is handled again.
 *
 * Bounded and in memory, per process: ids are kept {@link DELIVERY_MEMORY_MS}, at most `maxEntries`
 * of them (the oldest handled one is forgotten first when full). A restart, a second replica
 * behind the same URL, or a replay older than the window passes this guard, so the lifecycle must
 * treat a second `pullRequestClosed` for the same PR as nothing new. A shared store (PostgreSQL,
 * unique keys on the delivery id and the signature) would close that gap.
 */
export class DeliveryGuard {
  private readonly seen = new Map<string, { at: number; state: 'pending' | 'done' }>();
  constructor(
    private readonly maxEntries = 50_000,
    private readonly memoryMs = DELIVERY_MEMORY_MS,
  ) {}

  /**
   * Starts handling a delivery known by `keys` (its delivery id and its signature): `new` (go on),
   * `duplicate` (one of them was handled before), `in-progress` (one is being handled now).
   */
  begin(keys: readonly string[], nowMs: number): DeliveryAdmission {
    this.expire(nowMs);
    const known = keys.map((k) => this.seen.get(k)).filter((e) => e !== undefined);
    if (known.some((e) => e.state === 'done')) return 'duplicate';
    if (known.length > 0) return 'in-progress';
    for (const k of keys) {
      if (this.seen.size >= this.maxEntries) this.forgetOldestDone();
      this.seen.set(k, { at: nowMs, state: 'pending' });
    }
    return 'new';
  }

  /** Ends handling: remembered when `handled`, forgotten otherwise (so a redelivery is handled again). */
  finish(keys: readonly string[], handled: boolean): void {
    for (const k of keys) {
      const known = this.seen.get(k);
      if (!known || known.state !== 'pending') continue;
      if (handled) known.state = 'done';
      else this.seen.delete(k);
    }
  }

  get size(): number {
    return this.seen.size;
  }

  private expire(nowMs: number): void {
    // Insertion order is arrival order, so expired entries are at the front.
    for (const [id, e] of this.seen) {
      if (nowMs - e.at <= this.memoryMs) break;
      if (e.state === 'done') this.seen.delete(id);
    }
  }

  private forgetOldestDone(): void {
    for (const [id, e] of this.seen) {
      if (e.state === 'done') {
        this.seen.delete(id);
        return;
      }
    }
  }
}
