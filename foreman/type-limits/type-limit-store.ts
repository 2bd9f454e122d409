/**
 * Where the type limits and handler pauses are kept: the seam between the one behaviour (type-limits.ts)
 * and the two stores. SQLite (sqlite-type-limits.ts) serves one foreman, whose dispatcher enforces the
 * limits; PostgreSQL (store/postgres/pg-type-limits.ts) serves several foremen, and enforces caps and
 * rates where tasks are claimed, under a lock on the type's row, so they hold across every foreman.
 */

/** A type's limits; null means no such limit. */
export interface TypeLimit {
  maxRunning: number | null;
  ratePerSecond: number | null;
}

/** A stored row: the limits, and until when a handler's RateLimitedError paused the type (epoch ms). */
export interface StoredTypeLimit extends TypeLimit {
  pausedUntil: number | null;
}

/** What the whole fleet is doing with a limited type, as a store with several foremen reads it. */
export interface FleetTypeState {
  /** Tasks of the type running, or claimed by a foreman to run, on every foreman. */
  running: number;
  /** The rate bucket as last spent: tokens (null: full, never spent) at `tokensAt` (epoch ms). */
  tokens: number | null;
  tokensAt: number;
}

export interface TypeLimitStore {
  /**
   * True when the store enforces `maxRunning` and `ratePerSecond` as tasks are claimed (several foremen
   * share it); the dispatcher then checks only pauses and its own workers' count. False: the
   * dispatcher enforces everything, with the bucket in memory.
   */
  readonly enforcedAtClaim: boolean;
  /** Every stored row, by type. */
  load(): Promise<Map<string, StoredTypeLimit>>;
  /** Sets (replaces) a type's limits, durably; a new rate starts with a full bucket. */
  set(type: string, limit: TypeLimit): Promise<void>;
  /** Removes a type's limits durably (a pause stays until it ends); false when it had none. */
  remove(type: string): Promise<boolean>;
  /** Pauses `type` for `ms` from now (never shortening a longer pause); resolves with the pause's end, epoch ms. */
  pause(type: string, ms: number): Promise<number>;
  /** The fleet's state of each of `types` (stores shared by several foremen only). */
  fleetState?(types: string[]): Promise<Map<string, FleetTypeState>>;
  /** A task of a capped type ended on this foreman: other foremen may now claim one. */
  roomFreed?(type: string): void;
  /** Calls `changed` with a type's row (null: none) whenever another foreman changed it. */
  follow?(changed: (type: string, row: StoredTypeLimit | null) => void, reloaded: (rows: Map<string, StoredTypeLimit>) => void): void;
}
