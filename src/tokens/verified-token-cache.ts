interface Node<Entry> {
  /** The map key: the token's last characters. */
  key: string;
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
 * The map is keyed by the token's last 32 characters (192 bits of its signature), which is quick
 * to hash, and a hit counts only when the whole text is the same: two tokens that end alike only
 * share a slot (the newer one keeps it), and only a token that verified is ever put in one.
 * Recency is a linked list beside it: re-inserting into a `Map` to move a key to the end, the
 * usual shortcut, leaves holes that V8 scans over, and costs tens of microseconds per hit. Once
 * full, the oldest node is reused for the newest entry.
 *
 * `offer` admits a token on its second verification, not its first: a table of fingerprints (31
 * bits of the token's last characters, in at least twice as many slots as entries) remembers the
 * tokens verified once. A token seen only once (a client that makes one call per token, a stream
 * of distinct tokens) then stores nothing and evicts no token already kept. Another token's
 * fingerprint written into the same slot between two verifications makes a token wait for a later
 * one; a fingerprint that matches by chance keeps a token seen once. Either way a fingerprint
 * decides only whether a verified token is kept, and never lets any text pass unverified.
 */
export class VerifiedTokenCache<Entry> {
  readonly #nodes = new Map<string, Node<Entry>>();
  readonly #maxEntries: number;
  readonly #seenOnce: Uint32Array;
  #newest: Node<Entry> | null = null;
  #oldest: Node<Entry> | null = null;

  constructor(maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0) {
      throw new TypeError('coatcheck: the verified-token cache size must be a whole number >= 0');
    }
    this.#maxEntries = maxEntries;
    this.#seenOnce = new Uint32Array(maxEntries === 0 ? 0 : 2 ** Math.ceil(Math.log2(2 * maxEntries)));
  }

  get size(): number {
    return this.#nodes.size;
  }

  get(token: string): Entry | undefined {
    const node = this.#nodes.get(keyOf(token));
    if (node === undefined || node.token !== token) return undefined;
    if (node !== this.#newest) {
      this.#unlink(node);
      this.#pushNewest(node);
    }
    return node.entry;
  }

  /**
   * Keeps a token that just verified if it verified once before (its fingerprint is remembered);
   * otherwise remembers its fingerprint only.
   */
  offer(token: string, entry: Entry): void {
    if (this.#maxEntries === 0) return;
    const print = fingerprintOf(token);
    // Bit 0 of every fingerprint is set (0 marks an empty slot): the slot comes from the bits above.
    const slot = (print >>> 1) & (this.#seenOnce.length - 1);
    if (this.#seenOnce[slot] === print) this.set(token, entry);
    else this.#seenOnce[slot] = print;
  }

  /** Keeps a token, whether or not it was offered before. */
  set(token: string, entry: Entry): void {
    if (this.#maxEntries === 0) return;
    const key = keyOf(token);
    const known = this.#nodes.get(key);
    if (known !== undefined) {
      // Another token ending alike: the newer one takes the slot.
      known.token = token;
      known.entry = entry;
      return;
    }
    let node: Node<Entry>;
    if (this.#nodes.size >= this.#maxEntries && this.#oldest !== null) {
      node = this.#oldest;
      this.#unlink(node);
      this.#nodes.delete(node.key);
      node.key = key;
      node.token = token;
      node.entry = entry;
    } else {
      node = { key, token, entry, newer: null, older: null };
    }
    this.#pushNewest(node);
    this.#nodes.set(key, node);
  }

  delete(token: string): void {
    const key = keyOf(token);
    const node = this.#nodes.get(key);
    if (node === undefined || node.token !== token) return;
    this.#unlink(node);
    this.#nodes.delete(key);
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

const KEY_LENGTH = 32;
const PRINTED_CHARACTERS = 8;

function keyOf(token: string): string {
  return token.slice(-KEY_LENGTH);
}

/** FNV-1a over the token's last characters (its signature's), never 0 (an empty slot). */
function fingerprintOf(token: string): number {
  let hash = 0x811c9dc5;
  for (let i = Math.max(0, token.length - PRINTED_CHARACTERS); i < token.length; i++) {
    hash = Math.imul(hash ^ token.charCodeAt(i), 0x01000193);
  }
  return (hash | 1) >>> 0;
}
