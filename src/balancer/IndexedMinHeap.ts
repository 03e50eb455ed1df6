/**
 * A binary min-heap over the items 0..n-1 (a node's eligible replicas by position) whose keys
 * change in place: the structure behind weighted round robin (virtual deadlines), the
 * performance strategy (expected latency) and the resource strategy (load score). Typed arrays
 * keep it compact and free of allocation on the call path.
 *
 * @module
 */
/* eslint-disable @typescript-eslint/no-non-null-assertion -- array indexes here are in range by construction; checking them would cost on every call */

/**
 * Min-heap of items 0..n-1 keyed by `keys[item]`, with each item's heap position indexed so a key
 * can change in O(log n). Equal keys order by item number, so choices are deterministic.
 * @internal
 */
export class IndexedMinHeap {
  /** Item at each heap position. */
  private readonly heap: Int32Array;
  /** Heap position of each item. */
  private readonly where: Int32Array;
  /** Scratch stack of {@link IndexedMinHeap.minWhere}. */
  private readonly stack: Int32Array;

  /**
   * Takes ownership of `keys` (one per item) and heapifies every item in O(n).
   * @param keys - the key of each item; read it through {@link IndexedMinHeap.keyOf} afterwards.
   */
  constructor(private readonly keys: Float64Array) {
    const n = keys.length;
    this.heap = new Int32Array(n);
    this.where = new Int32Array(n);
    this.stack = new Int32Array(n + 1);
    for (let i = 0; i < n; i += 1) {
      this.heap[i] = i;
      this.where[i] = i;
    }
    for (let p = (n >> 1) - 1; p >= 0; p -= 1) this.siftDown(p);
  }

  /** Number of items. */
  get size(): number {
    return this.heap.length;
  }

  /** The item with the smallest key, or -1 when empty. */
  peek(): number {
    return this.heap.length > 0 ? this.heap[0]! : -1;
  }

  /** The key of `item`. */
  keyOf(item: number): number {
    return this.keys[item]!;
  }

  /** Changes the key of `item` and restores the heap order, O(log n). */
  set(item: number, key: number): void {
    const old = this.keys[item]!;
    this.keys[item] = key;
    const p = this.where[item]!;
    if (key < old) this.siftUp(p);
    else if (key > old) this.siftDown(p);
  }

  /**
   * The smallest item for which `skip` is false, or -1. Explores only below skipped items (a
   * non-skipped item is smaller than its whole subtree), so the work is O(k) for k skipped items
   * met, not O(n). Skipped items met on the way are appended to `skipped` when given.
   */
  minWhere(skip: (item: number) => boolean, skipped?: number[]): number {
    const n = this.heap.length;
    if (n === 0) return -1;
    const stack = this.stack;
    let top = 0;
    let best = -1;
    stack[top++] = 0;
    while (top > 0) {
      const p = stack[--top]!;
      const item = this.heap[p]!;
      if (best >= 0 && !this.less(item, best)) continue; // its subtree cannot beat `best`
      if (!skip(item)) {
        best = item;
        continue;
      }
      skipped?.push(item);
      const l = 2 * p + 1;
      if (l < n) stack[top++] = l;
      if (l + 1 < n) stack[top++] = l + 1;
    }
    return best;
  }

  private less(a: number, b: number): boolean {
    const ka = this.keys[a]!;
    const kb = this.keys[b]!;
    return ka < kb || (ka === kb && a < b);
  }

  private siftUp(p: number): void {
    const heap = this.heap;
    const item = heap[p]!;
    while (p > 0) {
      const parent = (p - 1) >> 1;
      const other = heap[parent]!;
      if (!this.less(item, other)) break;
      heap[p] = other;
      this.where[other] = p;
      p = parent;
    }
    heap[p] = item;
    this.where[item] = p;
  }

  private siftDown(p: number): void {
    const heap = this.heap;
    const n = heap.length;
    const item = heap[p]!;
    for (;;) {
      let c = 2 * p + 1;
      if (c >= n) break;
      if (c + 1 < n && this.less(heap[c + 1]!, heap[c]!)) c += 1;
      const child = heap[c]!;
      if (!this.less(child, item)) break;
      heap[p] = child;
      this.where[child] = p;
      p = c;
    }
    heap[p] = item;
    this.where[item] = p;
  }
}
