// Requests before background work. The workers (webhook dispatch and delivery) run in the
// server's process, on the cores and the database pool the requests use: at full write speed
// they took about half of sendMessage's throughput. Before each batch a worker asks `wait()`,
// which returns once fewer than `threshold` HTTP requests are in flight, or after `maxWaitMs`
// (so that background work always moves on, at least a batch per `maxWaitMs`). Under ordinary
// load (a few requests in flight) it returns at once.

/** How often a waiting worker looks again. */
const LOOK_EVERY_MS = 10;

export class RequestPressure {
  constructor(
    private readonly inFlight: () => number,
    /** Requests in flight from which workers wait; 0 turns waiting off. */
    private readonly threshold: number,
    private readonly maxWaitMs: number,
  ) {}

  /** Whether requests are waiting for the machine now. */
  get high(): boolean {
    return this.threshold > 0 && this.inFlight() >= this.threshold;
  }

  async wait(): Promise<void> {
    if (!this.high) return;
    const until = Date.now() + this.maxWaitMs;
    while (this.high && Date.now() < until) await new Promise((r) => setTimeout(r, LOOK_EVERY_MS));
  }
}
