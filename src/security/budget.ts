// A cost budget per API key per minute: a bucket of `capacity` points that refills
// continuously at capacity/60 points a second. A query takes its cost from the bucket;
// when the bucket holds less than the cost, the query is refused with when to retry.
// Per process by default; with Redis, one bucket per key shared by every process.
import type { Redis } from 'ioredis';

export interface BudgetDecision {
  allowed: boolean;
  /** Points left after this query (or before it, when refused). */
  remaining: number;
  capacity: number;
  /** When refused: milliseconds until the bucket holds enough. */
  retryAfterMs: number;
}

export interface Budget {
  /** Points a key may spend per minute. */
  readonly capacity: number;
  take(key: string, cost: number, now?: number): Promise<BudgetDecision>;
}

function decide(level: number, cost: number, capacity: number, perMs: number) {
  if (cost <= level) return { allowed: true, level: level - cost, retryAfterMs: 0 };
  return { allowed: false, level, retryAfterMs: Math.ceil((cost - level) / perMs) };
}

export class MemoryBudget implements Budget {
  private readonly buckets = new Map<string, { level: number; at: number }>();
  constructor(readonly capacity: number) {}

  async take(key: string, cost: number, now = Date.now()): Promise<BudgetDecision> {
    const perMs = this.capacity / 60_000;
    const bucket = this.buckets.get(key) ?? { level: this.capacity, at: now };
    const level = Math.min(this.capacity, bucket.level + (now - bucket.at) * perMs);
    const d = decide(level, cost, this.capacity, perMs);
    this.buckets.set(key, { level: d.level, at: now });
    if (this.buckets.size > 100_000) this.buckets.delete(this.buckets.keys().next().value!); // bounded memory
    return { allowed: d.allowed, remaining: Math.floor(d.level), capacity: this.capacity, retryAfterMs: d.retryAfterMs };
  }
}

// Refill, decide and store atomically in Redis; the key expires once the bucket would be full.
const TAKE = `
local capacity = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local per_ms = capacity / 60000
local level = capacity
local at = now
local stored = redis.call('HMGET', KEYS[1], 'level', 'at')
if stored[1] then
  level = math.min(capacity, tonumber(stored[1]) + (now - tonumber(stored[2])) * per_ms)
end
local allowed = 0
local retry = 0
if cost <= level then
  level = level - cost
  allowed = 1
else
  retry = math.ceil((cost - level) / per_ms)
end
redis.call('HSET', KEYS[1], 'level', tostring(level), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], 60000)
return { allowed, tostring(level), retry }
`;

export class RedisBudget implements Budget {
  constructor(
    private readonly redis: Redis,
    readonly capacity: number,
  ) {}

  async take(key: string, cost: number, now = Date.now()): Promise<BudgetDecision> {
    const [allowed, level, retry] = (await this.redis.eval(TAKE, 1, `parley:budget:${key}`, this.capacity, cost, now)) as [number, string, number];
    return { allowed: allowed === 1, remaining: Math.floor(Number(level)), capacity: this.capacity, retryAfterMs: Number(retry) };
  }
}
