interface Node<Entry> {
  token: string;
  entry: Entry;
  newer: Node<Entry> | null;
  older: Node<Entry> | null;
}

/**
 * A bounded map from token text to what verifying it found, least recently used out first. Only
 * tokens that verified are kept, so the text an entry is found by is exactly the text that was
 * verified: a re-encoded token (another ECDSA signature, other base64url slack) is another entry
 * and is verified on first sight. Entries carry no verdict on time or key: the caller checks those
 * on every hit.
 *
 * Recency is a linked list beside the `Map`: re-inserting into a `Map` to move a key to the end,
 * the usual shortcut, leaves holes that V8 scans over, and costs tens of microseconds per hit. Once
 * full, the oldest node is reused for the newest entry, so a stream of new tokens allocates nothing here.
 */
export class VerifiedTokenCache<Entry> {
  readonly #nodes = new Map<string, Node<Entry>>();
  readonly #maxEntries: number;
  #newest: Node<Entry> | null = null;
  #oldest: Node<Entry> | null = null;

  constructor(maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0) {
      throw new TypeError('coatcheck: the verified-token cache size must be a whole number >= 0');
    }
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#nodes.size;
  }

  get(token: string): Entry | undefined {
    const node = this.#nodes.get(token);
    if (node === undefined) return undefined;
    if (node !== this.#newest) {
      this.#unlink(node);
      this.#pushNewest(node);
    }
    return node.entry;
  }

  set(token: string, entry: Entry): void {
    if (this.#maxEntries === 0) return;
    const known = this.#nodes.get(token);
    if (known !== undefined) {
      known.entry = entry;
      return;
    }
    let node: Node<Entry>;
    if (this.#nodes.size >= this.#maxEntries && this.#oldest !== null) {
      node = this.#oldest;
      this.#unlink(node);
      this.#nodes.delete(node.token);
      node.token = token;
      node.entry = entry;
    } else {
      node = { token, entry, newer: null, older: null };
    }
    this.#pushNewest(node);
    this.#nodes.set(token, node);
  }

  delete(token: string): void {
    const node = this.#nodes.get(token);
    if (node === undefined) return;
    this.#unlink(node);
    this.#nodes.delete(token);
  }

  #unlink(node: Node<Entry>): void {
    if (node.newer) node.newer.older = node.older;
    else this.#newest = node.older;
    if (node.older) node.older.newer = node.newer;
    else this.#oldest = node.newer;
    node.newer = null;
    node.older = null;
  }

  #pushNewest(node: Node<Entry>): void {
    node.older = this.#newest;
    if (this.#newest) this.#newest.newer = node;
    this.#newest = node;
    this.#oldest ??= node;
  }
}
