/**
 * A JSON page document walked from a stream of text pieces, keeping only one element at a time: the objects on
 * the way to the records list (the "spine", from the records paths) are walked key by key, the lists the paths
 * name are handed out element by element, every other value is skipped (or, on the spine, kept to resolve the
 * path). It applies the rules of the whole-document reader (readers.ts `parseTolerant`) to the spine and refuses
 * (`NotWalkable`) any document where the spine is not perfectly formed, so that the reader can fall back to the
 * whole-document rules there: what a stream yields is exactly what the whole document would give.
 */

/** Where the records paths go: keys of objects walked, and whether the list at this place is read element by element. */
export interface SpineNode {
  children: Map<string, SpineNode>;
  list: boolean;
}

export function spineOf(paths: readonly string[]): SpineNode {
  const node = (): SpineNode => ({ children: new Map(), list: false });
  const root = node();
  for (const p of paths) {
    if (p === '$') {
      root.list = true;
      continue;
    }
    let at = root;
    for (const seg of p.split('.')) {
      const isArr = seg.endsWith('[]');
      const key = isArr ? seg.slice(0, -2) : seg;
      if (key !== '') {
        if (!at.children.has(key)) at.children.set(key, node());
        at = at.children.get(key)!;
      }
      if (isArr) {
        at.list = true;
        break;
      }
    }
  }
  return root;
}

/** The document's shape as the walk saw it: spine objects hold only their spine keys; a streamed list is a LazyList. */
export class LazyList {
  constructor(readonly node: SpineNode, readonly depth: number) {}
}

/** Why a document cannot be streamed exactly: the reader then applies the whole-document rules (or, over the cap, quarantines it). */
export class NotWalkable extends Error {
  constructor(
    message: string,
    readonly tooLarge = false,
  ) {
    super(message);
  }
}

/** A value's text as scanned: whole when at most `limit` characters, else its first 1025 characters and its length. */
export interface Scanned {
  text: string | null;
  head: string;
  chars: number;
}

const isWs = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;
const SCALAR_END = /[,\]}\s]/;

/** Text pieces read as characters; only the current piece (and what a caller keeps) is held. */
export class Chars {
  buf = '';
  i = 0;
  /** Characters before buf[0]. */
  base = 0;
  /** The document's first 1025 characters. */
  head = '';
  private done = false;
  constructor(private readonly it: AsyncIterator<string>) {}

  /** True when a character is available at buf[i]. */
  async more(): Promise<boolean> {
    while (this.i >= this.buf.length) {
      if (this.done) return false;
      const n = await this.it.next();
      if (n.done) {
        this.done = true;
        return false;
      }
      this.base += this.buf.length;
      this.buf = n.value;
      this.i = 0;
      if (this.head.length <= 1024) this.head += n.value.slice(0, 1025 - this.head.length);
    }
    return true;
  }

  get at(): number {
    return this.base + this.i;
  }

  async skipWs(): Promise<void> {
    while (await this.more()) {
      while (this.i < this.buf.length && isWs(this.buf.charCodeAt(this.i))) this.i++;
      if (this.i < this.buf.length) return;
    }
  }

  /** The current character, or undefined at the end. */
  async peek(): Promise<string | undefined> {
    return (await this.more()) ? this.buf[this.i] : undefined;
  }

  /** Everything left, as a Scanned (for trailing data and the document's size). */
  async rest(limit: number): Promise<Scanned> {
    const keep = new Keeper(limit);
    while (await this.more()) {
      keep.add(this.buf, this.i, this.buf.length);
      this.i = this.buf.length;
    }
    return keep.done();
  }

  /**
   * Scans one JSON value from the current position by the whole-document reader's `valueEnd` rules (a string, a
   * bracket-balanced container, or a scalar token); null when the document ends before the value does. A scalar
   * holding a quote or an opening bracket is refused: the whole-document rules would read it differently.
   */
  async value(limit: number): Promise<Scanned | null> {
    if (!(await this.more())) return null;
    const keep = new Keeper(limit);
    const first = this.buf[this.i]!;
    if (first === '"' || first === '{' || first === '[') {
      let depth = 0;
      let inStr = false;
      let esc = false;
      const quoted = first === '"';
      for (;;) {
        const b = this.buf;
        const from = this.i;
        let j = this.i;
        let end = -1;
        for (; j < b.length; j++) {
          const c = b.charCodeAt(j);
          if (inStr) {
            if (esc) esc = false;
            else if (c === 92) esc = true;
            else if (c === 34) {
              inStr = false;
              if (quoted) {
                end = j + 1;
                break;
              }
            }
          } else if (c === 34) inStr = true;
          else if (c === 123 || c === 91) depth++;
          else if (c === 125 || c === 93) {
            if (--depth === 0) {
              end = j + 1;
              break;
            }
          }
        }
        if (end >= 0) {
          keep.add(b, from, end);
          this.i = end;
          return keep.done();
        }
        keep.add(b, from, b.length);
        this.i = b.length;
        if (!(await this.more())) return null;
      }
    }
    for (;;) {
      const b = this.buf;
      const from = this.i;
      let j = this.i;
      while (j < b.length && !SCALAR_END.test(b[j]!)) {
        const c = b.charCodeAt(j);
        if (c === 34 || c === 123 || c === 91) throw new NotWalkable(`a value holds ${JSON.stringify(b[j])} outside a string`);
        j++;
      }
      keep.add(b, from, j);
      this.i = j;
      if (j < b.length || !(await this.more())) break;
    }
    const s = keep.done();
    return s.chars > 0 ? s : null;
  }
}

/** Keeps a value's text up to `limit` characters, then only its head and its length. */
class Keeper {
  private parts: string[] = [];
  private head = '';
  private chars = 0;
  constructor(private readonly limit: number) {}
  add(b: string, from: number, to: number): void {
    if (to <= from) return;
    const n = to - from;
    if (this.head.length <= 1024) this.head += b.slice(from, Math.min(to, from + 1025 - this.head.length));
    this.chars += n;
    if (this.chars <= this.limit) this.parts.push(b.slice(from, to));
    else this.parts = [];
  }
  done(): Scanned {
    return { text: this.chars <= this.limit ? this.parts.join('') : null, head: this.head, chars: this.chars };
  }
}

/** An element of a streamed list: its text (null when over the cap), head and length, and the list it belongs to. */
export interface ListElement {
  list: LazyList;
  value: Scanned;
}

/**
 * Walks the top value of a document (from its first non-whitespace character): yields the elements of streamed
 * lists (with their text only when `keep` says so) and returns the shape. Spine values that are not the object or
 * list the paths expect are kept (up to `cap` characters) and given to `parse`.
 */
export async function* walkDocument(c: Chars, root: SpineNode, cap: number, keep: (l: LazyList) => boolean, parse: (text: string, depth: number) => unknown): AsyncGenerator<ListElement, unknown> {
  async function* walk(node: SpineNode, depth: number): AsyncGenerator<ListElement, unknown> {
    const ch = await c.peek();
    if (ch === '[' && node.list) return yield* list(new LazyList(node, depth));
    if (ch === '{' && node.children.size) return yield* object(node, depth);
    const v = await c.value(cap);
    if (v === null) throw new NotWalkable('a value on the records path is cut');
    if (v.text === null) throw new NotWalkable(`a value on the records path is ${v.chars} characters, more than the cap`, true);
    return parse(v.text, depth);
  }
  async function* list(l: LazyList): AsyncGenerator<ListElement, unknown> {
    c.i++; // [
    await c.skipWs();
    if ((await c.peek()) === ']') {
      c.i++;
      return l;
    }
    for (;;) {
      const v = await c.value(keep(l) ? cap : 0);
      if (v === null) throw new NotWalkable('a list element is cut or unbalanced');
      yield { list: l, value: v };
      if (!(await another(']', 'after a list element'))) return l;
    }
  }
  /** After a member: true at a comma (another follows), false at the container's `close`; anything else refuses the document. */
  async function another(close: string, where: string): Promise<boolean> {
    await c.skipWs();
    const ch = await c.peek();
    c.i++;
    if (ch === ',') {
      await c.skipWs();
      return true;
    }
    if (ch === close) return false;
    throw new NotWalkable(`unexpected ${JSON.stringify(ch ?? 'end')} ${where}`);
  }
  async function* object(node: SpineNode, depth: number): AsyncGenerator<ListElement, unknown> {
    c.i++; // {
    const out: Record<string, unknown> = {};
    const seen = new Set<string>();
    await c.skipWs();
    if ((await c.peek()) === '}') {
      c.i++;
      return out;
    }
    for (;;) {
      if ((await c.peek()) !== '"') throw new NotWalkable('expected a quoted key');
      const k = await c.value(cap);
      let key: string;
      try {
        key = JSON.parse(k?.text ?? '') as string;
      } catch {
        throw new NotWalkable('a key is not a valid JSON string');
      }
      if (seen.has(key)) throw new NotWalkable(`duplicate key ${JSON.stringify(key)}`);
      seen.add(key);
      await c.skipWs();
      if ((await c.peek()) !== ':') throw new NotWalkable(`expected ":" after key ${JSON.stringify(key)}`);
      c.i++;
      await c.skipWs();
      const child = node.children.get(key);
      if (child) Object.defineProperty(out, key, { value: yield* walk(child, depth + 1), enumerable: true, writable: true, configurable: true });
      else if ((await c.value(0)) === null) throw new NotWalkable(`the value of ${JSON.stringify(key)} is cut or unbalanced`);
      if (!(await another('}', 'in an object on the records path'))) return out;
    }
  }
  return yield* walk(root, 0);
}
