/** Durations for people: `45s`, `1m05s`, `2h03m` (never `1m60s`). */

/** Formats a number of seconds; `?` when it is not finite (no rate yet). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  // Round once, to whole seconds, before splitting: rounding the parts separately is what gave 1m60s.
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (h > 0) return `${h}h${pad(m)}m`;
  if (m > 0) return `${m}m${pad(s)}s`;
  return `${s}s`;
}
