/** A binary min-heap ordered by a comparator: O(log n) push and pop, O(1) peek. */
export class BinaryHeap<T> {
  private readonly items: T[] = [];

  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const items = this.items;
    // Sift up by moving parents down into the hole, and write the item once at the end.
    let i = items.length;
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(item, items[parent])) break;
      items[i] = items[parent];
      i = parent;
    }
    items[i] = item;
  }

  pop(): T | undefined {
    const items = this.items;
    if (items.length === 0) return undefined;
    const top = items[0];
    const last = items.pop() as T;
    const n = items.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const m = r < n && this.before(items[r], items[l]) ? r : l;
        if (!this.before(items[m], last)) break;
        items[i] = items[m];
        i = m;
      }
      items[i] = last;
    }
    return top;
  }

  /** Keeps only the items `keep` accepts, and restores heap order (O(n)). */
  retain(keep: (item: T) => boolean): void {
    const items = this.items;
    let n = 0;
    for (let i = 0; i < items.length; i++) if (keep(items[i])) items[n++] = items[i];
    items.length = n;
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private siftDown(start: number): void {
    const items = this.items;
    const n = items.length;
    const item = items[start];
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const m = r < n && this.before(items[r], items[l]) ? r : l;
      if (!this.before(items[m], item)) break;
      items[i] = items[m];
      i = m;
    }
    items[i] = item;
  }

  clear(): void {
    this.items.length = 0;
  }
}
