/**
 * Several foremen for one worker (`--foreman ws://a:9000,ws://b:9000*2`): which one to dial first and
 * which next when a dial fails or a session is lost. A worker holds one session at a time; on
 * whichever foreman it lands it resumes its running tasks and delivers its held results.
 * - `failover` (default): the first reachable foreman in list order; when it is lost, the next one.
 * - `round-robin`: a random start, in proportion to the weights (`*N` after a URL, default 1), so
 *   that a fleet spreads over the foremen; when lost, the next one in the list.
 */
import { toWsUrl } from '../shared/foreman-url.js';

export type ForemanMode = 'failover' | 'round-robin';

export interface ForemanAddress {
  url: string;
  weight: number;
}

const WEIGHT = /\*(\d+)$/;

/**
 * Parses a comma-separated list of foreman URLs, each optionally followed by `*weight`; each URL is
 * normalised to its worker endpoint (ws:// or wss://, path /ws/worker).
 * @throws TypeError naming the bad entry.
 */
export function parseForemanList(list: string): ForemanAddress[] {
  const out: ForemanAddress[] = [];
  for (const raw of list.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const m = WEIGHT.exec(entry);
    const weight = m ? Number(m[1]) : 1;
    let url = m ? entry.slice(0, m.index) : entry;
    if (!/^(wss?|https?):\/\/[^/]/i.test(url)) throw new TypeError(`option foreman must be a ws://, wss://, http:// or https:// URL, got ${entry}`);
    if (!Number.isSafeInteger(weight) || weight < 1 || weight > 1000) throw new TypeError(`option foreman: the weight of ${url} must be 1-1000`);
    // The API's http(s) address works too: the worker endpoint is on the same port.
    url = toWsUrl(url);
    if (!url.replace(/^wss?:\/\/[^/]+/, '').startsWith('/ws/')) url = `${url.replace(/\/$/, '')}/ws/worker`;
    out.push({ url, weight });
  }
  if (out.length === 0) throw new TypeError('option foreman must name at least one foreman');
  return out;
}

/** Writes a list back in the form `parseForemanList` reads. */
export function formatForemanList(list: readonly ForemanAddress[]): string {
  return list.map((f) => (f.weight === 1 ? f.url : `${f.url}*${f.weight}`)).join(',');
}

/** The foreman to dial now, and the next one when that one fails. */
export class ForemanPicker {
  private index: number;

  constructor(
    readonly foremen: readonly ForemanAddress[],
    readonly mode: ForemanMode,
    random: () => number = Math.random,
  ) {
    this.index = mode === 'round-robin' ? weightedPick(foremen, random()) : 0;
  }

  /** The URL to dial now. */
  get current(): string {
    return this.foremen[this.index].url;
  }

  /** Moves to the next foreman in list order (the current one failed or was lost). */
  advance(): void {
    this.index = (this.index + 1) % this.foremen.length;
  }
}

/** Index chosen by `r` in [0, 1), each foreman in proportion to its weight. */
export function weightedPick(foremen: readonly ForemanAddress[], r: number): number {
  const total = foremen.reduce((sum, f) => sum + f.weight, 0);
  let at = r * total;
  for (let i = 0; i < foremen.length; i++) {
    at -= foremen[i].weight;
    if (at < 0) return i;
  }
  return foremen.length - 1;
}
