/**
 * When a worker sends heartbeats: every interval the foreman set in its welcome, and soon after a change
 * of the hot cache (a load or unload) so routing follows it without waiting for the next beat; several
 * changes in a row make one update.
 */

/** How long a burst of hot-cache changes is gathered into one update, in ms. */
const HOT_UPDATE_DEBOUNCE_MS = 20;

export class Heartbeats {
  private timer: NodeJS.Timeout | null = null;
  private updateTimer: NodeJS.Timeout | null = null;

  /**
   * @param beat runs at every interval (sends the heartbeat and checks on the running tasks).
   * @param update sends an out-of-turn heartbeat (it checks itself that a session is open).
   */
  constructor(
    private readonly beat: () => void,
    private readonly update: () => void,
  ) {}

  /** Beats every `intervalMs` from now (a new session's welcome), replacing any earlier rhythm. */
  start(intervalMs: number): void {
    this.stop();
    this.timer = setInterval(this.beat, intervalMs);
    this.timer.unref();
  }

  /** Stops the rhythm (the session is gone); a pending update still goes if a session is open then. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Sends an update soon, once for however many calls come within the debounce window. */
  soon(): void {
    if (this.updateTimer) return;
    this.updateTimer = setTimeout(() => {
      this.updateTimer = null;
      this.update();
    }, HOT_UPDATE_DEBOUNCE_MS);
    this.updateTimer.unref();
  }

  /** Stops everything (the worker is closing). */
  close(): void {
    this.stop();
    if (this.updateTimer) clearTimeout(this.updateTimer);
    this.updateTimer = null;
  }
}
