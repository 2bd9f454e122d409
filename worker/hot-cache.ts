/**
 * The models (or any other dependency) a worker has loaded. Handlers call
 * `ctx.hotCache.add('blip-large')` after loading a model and `remove()` after
 * unloading it; a task type is **hot** when every dependency the worker
 * declared for it (`skillDependencies`) is in the cache. The worker tells the
 * foreman its hot types in heartbeats, and at once (debounced) when they
 * change, so the foreman can send each task where its model is loaded.
 */

export class HotCache {
  private readonly loaded = new Set<string>();

  /**
   * @param skillDependencies dependencies of each task type; types not listed are never reported hot.
   * @param onChange called after every change (the worker debounces the update it sends).
   */
  constructor(
    private readonly skillDependencies: Readonly<Record<string, readonly string[]>>,
    private readonly onChange: () => void = () => {},
  ) {}

  /** Marks a dependency loaded. */
  add(name: string): void {
    if (this.loaded.has(name)) return;
    this.loaded.add(name);
    this.onChange();
  }

  /** Marks a dependency unloaded. */
  remove(name: string): void {
    if (this.loaded.delete(name)) this.onChange();
  }

  has(name: string): boolean {
    return this.loaded.has(name);
  }

  /** The loaded dependencies. */
  list(): string[] {
    return [...this.loaded];
  }

  /** Whether any task type declares dependencies (otherwise the worker reports nothing). */
  get tracked(): boolean {
    return Object.keys(this.skillDependencies).length > 0;
  }

  /** Task types whose every dependency is loaded. */
  hotSkills(): string[] {
    const hot: string[] = [];
    for (const [type, deps] of Object.entries(this.skillDependencies)) {
      if (deps.length > 0 && deps.every((d) => this.loaded.has(d))) hot.push(type);
    }
    return hot;
  }
}
