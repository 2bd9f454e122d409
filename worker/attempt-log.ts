/**
 * The last ctx.log() lines of one attempt, kept to send with its result so the foreman can show what a handler
 * said on a machine the user cannot reach. Bounded twice: at most `maxLines` lines and `maxBytes` characters;
 * the oldest lines go first, and the first line kept says how many were dropped.
 */

export class AttemptLog {
  private lines: string[] = [];
  private chars = 0;
  private dropped = 0;

  constructor(
    private readonly maxLines: number,
    private readonly maxBytes: number,
  ) {}

  /** Adds a line (time, message and fields as JSON), dropping the oldest ones past the bounds. */
  add(message: string, fields?: Record<string, unknown>): void {
    if (this.maxLines === 0 || this.maxBytes === 0) return;
    let line = `${new Date().toISOString()} ${message}`;
    if (fields && Object.keys(fields).length > 0) {
      try {
        line += ` ${JSON.stringify(fields)}`;
      } catch {
        line += ' [fields not serialisable]';
      }
    }
    if (line.length > this.maxBytes) line = line.slice(0, this.maxBytes);
    this.lines.push(line);
    this.chars += line.length;
    while (this.lines.length > this.maxLines || this.chars > this.maxBytes) {
      this.chars -= (this.lines.shift() as string).length;
      this.dropped++;
    }
  }

  /** The kept lines, with a first line saying how many older ones were dropped; undefined when there are none. */
  take(): string[] | undefined {
    if (this.lines.length === 0) return undefined;
    return this.dropped > 0 ? [`[${this.dropped} earlier lines dropped]`, ...this.lines] : this.lines;
  }
}
