/** Foreman flags that make liveness decisions happen in test time (hundreds of ms instead of seconds). */
export const FAST_LIVENESS = [
  '--heartbeat-interval-ms', '100',
  '--stale-after-ms', '600',
  '--lease-ms', '1500',
  '--grace-ms', '4000',
  '--restart-grace-ms', '4000',
  '--sweep-interval-ms', '50',
  '--retry-backoff-ms', '10',
  '--retry-backoff-max-ms', '50',
  // PostgreSQL: a killed foreman is found dead (and its claims requeued) within a second.
  '--foreman-ttl-ms', '1000',
];
