// The loop of the timeline-reading workers (webhook dispatcher, automation runner): a pass at
// start, then one every `pollMs`, at once again when a pass says more is waiting, and at once when
// woken (an event committed in this process). Passes never overlap: a wake during a pass asks for
// one more pass after it, not one per event that committed meanwhile.
export class PassLoop {
  private active = false;
  private timer: NodeJS.Timeout | null = null;
  private loop: Promise<void> = Promise.resolve();
  private passing = false;
  private wakeRequested = false;

  constructor(
    /** One pass; true when more is waiting. */
    private readonly pass: () => Promise<boolean>,
    private readonly pollMs: number,
    /** A pass that threw (the next goes on at the poll). */
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Between start() and stop(): passes check it to end early when the worker stops. */
  get running(): boolean {
    return this.active;
  }

  start() {
    this.active = true;
    this.schedule(0);
  }

  /** A pass now (or right after the one under way). */
  wake() {
    if (!this.active) return;
    if (this.passing) this.wakeRequested = true;
    else this.schedule(0);
  }

  private schedule(ms: number) {
    if (!this.active || (this.timer && ms > 0)) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.passing = true;
      this.wakeRequested = false;
      const run = this.loop
        .then(() => this.pass())
        .catch((err) => {
          this.onError(err);
          return false;
        })
        .finally(() => (this.passing = false));
      this.loop = run.then(() => {});
      void run.then((more) => this.schedule(more || this.wakeRequested ? 0 : this.pollMs));
    }, ms);
    this.timer.unref?.();
  }

  /** No further pass; resolves when the one under way has ended. */
  async stop() {
    this.active = false;
    if (this.timer) clearTimeout(this.timer);
    await this.loop.catch(() => {});
  }
}
