/**
 * Persistent maps and sets in buckets, for the table state (state.ts): an update makes a new value that copies
 * the index of buckets (one pointer a bucket) and the buckets it changes, and shares every other bucket with the
 * value before it. The state's buckets are a month of one table or of one source's loads (see the `*Bucket`
 * functions in state.ts), so a commit copies what a month holds, never the whole history; a bucket is also the
 * unit of a checkpoint (core.ts): a checkpoint rewrites only the buckets that are not the ones it last wrote.
 * No I/O here.
 */

/** What updates copied (entries of changed buckets, pointers of bucket indexes): tests compare young and old tables with it. */
export const bucketCopies = { entries: 0, pointers: 0 };

export type BucketOf = (key: string) => string;

export class BucketMap<V> implements ReadonlyMap<string, V> {
  private constructor(
    readonly bucketOf: BucketOf,
    /** Bucket id → its entries; a bucket object is never changed once made (checkpoints compare them by identity). */
    readonly buckets: ReadonlyMap<string, ReadonlyMap<string, V>>,
    readonly size: number,
  ) {}

  static empty<V>(bucketOf: BucketOf): BucketMap<V> {
    return new BucketMap<V>(bucketOf, new Map(), 0);
  }

  /** A map of the given entries (built once: no copy per entry). */
  static of<V>(bucketOf: BucketOf, entries: Iterable<readonly [string, V]>): BucketMap<V> {
    const buckets = new Map<string, Map<string, V>>();
    for (const [k, v] of entries) {
      const b = bucketOf(k);
      let m = buckets.get(b);
      if (!m) buckets.set(b, (m = new Map()));
      m.set(k, v);
    }
    return BucketMap.fromBuckets(bucketOf, buckets);
  }

  /** A map of whole buckets (a checkpoint's parts); the caller gives up the bucket objects. */
  static fromBuckets<V>(bucketOf: BucketOf, buckets: ReadonlyMap<string, ReadonlyMap<string, V>>): BucketMap<V> {
    let size = 0;
    for (const m of buckets.values()) size += m.size;
    return new BucketMap<V>(bucketOf, buckets, size);
  }

  get(key: string): V | undefined {
    return this.buckets.get(this.bucketOf(key))?.get(key);
  }

  has(key: string): boolean {
    return this.buckets.get(this.bucketOf(key))?.has(key) ?? false;
  }

  /** The value with `set` entries put and `remove` keys deleted; `this` is unchanged. */
  update(set: Iterable<readonly [string, V]>, remove: Iterable<string> = []): BucketMap<V> {
    const copies = new Map<string, Map<string, V>>();
    const own = (b: string): Map<string, V> => {
      let m = copies.get(b);
      if (!m) {
        const was = this.buckets.get(b);
        bucketCopies.entries += was?.size ?? 0;
        copies.set(b, (m = new Map(was ?? [])));
      }
      return m;
    };
    for (const [k, v] of set) own(this.bucketOf(k)).set(k, v);
    for (const k of remove) {
      const b = this.bucketOf(k);
      if (this.buckets.get(b)?.has(k) || copies.has(b)) own(b).delete(k);
    }
    if (copies.size === 0) return this;
    bucketCopies.pointers += this.buckets.size;
    const buckets = new Map(this.buckets);
    let size = this.size;
    for (const [b, m] of copies) {
      size += m.size - (this.buckets.get(b)?.size ?? 0);
      if (m.size === 0) buckets.delete(b);
      else buckets.set(b, m);
    }
    return new BucketMap<V>(this.bucketOf, buckets, size);
  }

  *entries(): MapIterator<[string, V]> {
    for (const m of this.buckets.values()) yield* m.entries();
  }

  *keys(): MapIterator<string> {
    for (const m of this.buckets.values()) yield* m.keys();
  }

  *values(): MapIterator<V> {
    for (const m of this.buckets.values()) yield* m.values();
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }

  forEach(fn: (value: V, key: string, map: ReadonlyMap<string, V>) => void): void {
    for (const [k, v] of this.entries()) fn(v, k, this);
  }
}

/** A persistent set of strings in buckets (a BucketMap whose values are unused). */
export class BucketSet implements ReadonlySet<string> {
  private constructor(readonly map: BucketMap<true>) {}

  static empty(bucketOf: BucketOf): BucketSet {
    return new BucketSet(BucketMap.empty(bucketOf));
  }

  static of(bucketOf: BucketOf, keys: Iterable<string>): BucketSet {
    return new BucketSet(BucketMap.of(bucketOf, [...keys].map((k) => [k, true] as const)));
  }

  static fromBuckets(bucketOf: BucketOf, buckets: ReadonlyMap<string, readonly string[]>): BucketSet {
    return new BucketSet(BucketMap.fromBuckets(bucketOf, new Map([...buckets].map(([b, keys]) => [b, new Map(keys.map((k) => [k, true as const]))]))));
  }

  get size(): number {
    return this.map.size;
  }

  get buckets(): ReadonlyMap<string, ReadonlyMap<string, true>> {
    return this.map.buckets;
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  /** The set with `keys` added; `this` is unchanged. */
  with(keys: readonly string[]): BucketSet {
    if (keys.length === 0) return this;
    const next = this.map.update(keys.map((k) => [k, true] as const));
    return next === this.map ? this : new BucketSet(next);
  }

  /** The keys of one bucket (empty when it has none). */
  bucket(id: string): Iterable<string> {
    return this.map.buckets.get(id)?.keys() ?? [];
  }

  *values(): SetIterator<string> {
    yield* this.map.keys();
  }

  keys(): SetIterator<string> {
    return this.values();
  }

  *entries(): SetIterator<[string, string]> {
    for (const k of this.map.keys()) yield [k, k];
  }

  [Symbol.iterator](): SetIterator<string> {
    return this.values();
  }

  forEach(fn: (value: string, value2: string, set: ReadonlySet<string>) => void): void {
    for (const k of this.map.keys()) fn(k, k, this);
  }
}
