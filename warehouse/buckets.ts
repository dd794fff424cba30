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

/**
 * A bucket of a BucketSet not read yet: the checkpoint part that holds it and the keys added to it since (a commit
 * adds to a bucket without reading it). Read on demand (`load`, by the caller that owns the I/O: core.ts); once read,
 * `loaded` holds the part's keys and `added`.
 */
export class UnreadBucket {
  loaded: ReadonlySet<string> | null = null;
  constructor(
    readonly file: string,
    readonly entries: number,
    readonly added: readonly string[] = [],
  ) {}

  /** Fills `loaded` from the part's keys (the same keys, whichever process reads them). */
  load(partKeys: readonly string[]): void {
    if (!this.loaded) this.loaded = new Set([...partKeys, ...this.added]);
  }
}

/** A bucket of the state was asked for before it was read: a program error (the caller must load it first), never an empty answer. */
export class UnreadBucketError extends Error {}

/**
 * A persistent set of strings in buckets (a BucketMap whose values are unused). Some buckets may be unread
 * (UnreadBucket: a checkpoint's part, read when asked for): asking a set for a key of an unread bucket throws.
 */
export class BucketSet implements ReadonlySet<string> {
  private constructor(
    readonly map: BucketMap<true>,
    /** Bucket id → an unread bucket (an id is in `map` or here, never both). */
    readonly unread: ReadonlyMap<string, UnreadBucket> = new Map(),
  ) {}

  static empty(bucketOf: BucketOf): BucketSet {
    return new BucketSet(BucketMap.empty(bucketOf));
  }

  static of(bucketOf: BucketOf, keys: Iterable<string>): BucketSet {
    return new BucketSet(BucketMap.of(bucketOf, [...keys].map((k) => [k, true] as const)));
  }

  static fromBuckets(bucketOf: BucketOf, buckets: ReadonlyMap<string, readonly string[]>, unread: ReadonlyMap<string, UnreadBucket> = new Map()): BucketSet {
    return new BucketSet(BucketMap.fromBuckets(bucketOf, new Map([...buckets].map(([b, keys]) => [b, new Map(keys.map((k) => [k, true as const]))]))), unread);
  }

  get size(): number {
    let n = this.map.size;
    for (const u of this.unread.values()) n += u.loaded ? u.loaded.size : u.entries + u.added.length;
    return n;
  }

  /** Every bucket by id: a read one's entries or an unread one (checkpoints compare them by identity). */
  get buckets(): ReadonlyMap<string, ReadonlyMap<string, true> | UnreadBucket> {
    return new Map<string, ReadonlyMap<string, true> | UnreadBucket>([...this.map.buckets, ...this.unread]);
  }

  /** The unread buckets among `ids` (all when `ids` is undefined) that are not loaded yet. */
  toRead(ids?: Iterable<string>): UnreadBucket[] {
    const out: UnreadBucket[] = [];
    for (const id of ids ?? this.unread.keys()) {
      const u = this.unread.get(id);
      if (u && !u.loaded) out.push(u);
    }
    return out;
  }

  private read(id: string): ReadonlySet<string> | ReadonlyMap<string, true> | undefined {
    const u = this.unread.get(id);
    if (!u) return this.map.buckets.get(id);
    if (!u.loaded) throw new UnreadBucketError(`internal: bucket ${id} of the table state was asked for before it was read`);
    return u.loaded;
  }

  has(key: string): boolean {
    return this.read(this.map.bucketOf(key))?.has(key) ?? false;
  }

  /** The set with `keys` added; `this` is unchanged. An unread bucket gets them as `added` (not read for it). */
  with(keys: readonly string[]): BucketSet {
    if (keys.length === 0) return this;
    const toUnread = new Map<string, string[]>();
    const toMap: string[] = [];
    for (const k of keys) {
      const b = this.map.bucketOf(k);
      const u = this.unread.get(b);
      if (!u || u.loaded) toMap.push(k);
      else toUnread.set(b, [...(toUnread.get(b) ?? []), k]);
    }
    let unread = this.unread;
    let map = this.map;
    // a read unread bucket becomes an ordinary one (copied once, like any changed bucket)
    const promoted = [...new Set(toMap.map((k) => this.map.bucketOf(k)))].filter((b) => this.unread.get(b)?.loaded);
    if (promoted.length > 0 || toUnread.size > 0) {
      const next = new Map(unread);
      for (const b of promoted) next.delete(b);
      for (const [b, ks] of toUnread) {
        const u = this.unread.get(b)!;
        bucketCopies.entries += u.added.length;
        next.set(b, new UnreadBucket(u.file, u.entries, [...u.added, ...ks]));
      }
      unread = next;
    }
    const set: (readonly [string, true])[] = [];
    for (const b of promoted) for (const k of this.unread.get(b)!.loaded!) set.push([k, true]);
    for (const k of toMap) set.push([k, true]);
    if (set.length > 0) map = map.update(set);
    return map === this.map && unread === this.unread ? this : new BucketSet(map, unread);
  }

  /** The keys of one bucket (empty when it has none). */
  bucket(id: string): Iterable<string> {
    return this.read(id)?.keys() ?? [];
  }

  *values(): SetIterator<string> {
    for (const id of this.unread.keys()) this.read(id);
    yield* this.map.keys();
    for (const u of this.unread.values()) yield* u.loaded!;
  }

  keys(): SetIterator<string> {
    return this.values();
  }

  *entries(): SetIterator<[string, string]> {
    for (const k of this.values()) yield [k, k];
  }

  [Symbol.iterator](): SetIterator<string> {
    return this.values();
  }

  forEach(fn: (value: string, value2: string, set: ReadonlySet<string>) => void): void {
    for (const k of this.values()) fn(k, k, this);
  }
}
