import { isUtf8 } from 'node:buffer';
import { hasDuplicateKeys } from './duplicate-keys.js';

/** What the checks before any cryptography read from a token. */
export interface TokenShape {
  /** Which of our keys it names, with which algorithm. */
  kid: string;
  alg: string;
  /** The payload as UTF-8 text, for the caller's repeated-key check (see `readTokenShape`). */
  payloadJson: string;
}

/** Tokens over this size are refused before any parsing. */
export const MAX_TOKEN_BYTES = 8 * 1024;

const SEGMENT = /^[A-Za-z0-9_-]+$/;
// What jose's base64url decoding tolerates and fast-jwt's refuses: padding and whitespace.
const TOLERATED = ['=', ' ', '\t', '\n', '\r', '\f'];
// Headers that would let a token name its own key: we never use them, so a token carrying one is forged or confused.
const FORBIDDEN_HEADERS = ['jku', 'x5u', 'jwk', 'x5c', 'x5t', 'x5t#S256', 'crit', 'b64'];
const KID = /^[A-Za-z0-9_-]{1,64}$/;

// Every token one key signs has the same header text: its checks are done once per header. A short
// list compared by prefix, not a map: hashing the header of every token costs more than this.
const HEADER_MEMO_SIZE = 16;
const headerMemo: { prefix: string; kid: string; alg: string }[] = [];
let nextMemoSlot = 0;

/**
 * Decodes a base64url segment to UTF-8 text, or `null`. A segment whose length leaves a lone
 * character (4n + 1) is not base64url (jose refuses it; `Buffer` would drop the character); bytes
 * that are not UTF-8 and a byte-order mark are refused (jose drops a BOM, other parsers choke on it).
 */
function decodeText(segment: string): string | null {
  if (segment.length % 4 === 1) return null;
  const bytes = Buffer.from(segment, 'base64url');
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return null;
  if (!isUtf8(bytes)) return null;
  return bytes.toString('utf8');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readHeader(segment: string): { kid: string; alg: string } | null {
  if (!SEGMENT.test(segment)) return null;
  const json = decodeText(segment);
  if (json === null) return null;
  let header: unknown;
  try {
    header = JSON.parse(json);
  } catch {
    return null;
  }
  if (!isPlainObject(header) || hasDuplicateKeys(json)) return null;
  if (FORBIDDEN_HEADERS.some((name) => name in header)) return null;
  const { kid, alg } = header;
  if (typeof kid !== 'string' || !KID.test(kid) || typeof alg !== 'string') return null;
  return { kid, alg };
}

function headerOf(token: string, firstDot: number): { kid: string; alg: string } | null {
  for (const entry of headerMemo) {
    if (entry.prefix.length === firstDot + 1 && token.startsWith(entry.prefix)) return entry;
  }
  const header = readHeader(token.slice(0, firstDot));
  if (header === null) return null;
  headerMemo[nextMemoSlot] = { prefix: token.slice(0, firstDot + 1), ...header };
  nextMemoSlot = (nextMemoSlot + 1) % HEADER_MEMO_SIZE;
  return header;
}

/**
 * The checks coatcheck makes before any key is touched, on the token text alone: at most 8 KiB;
 * three non-empty segments without padding or whitespace (jose tolerates both; any other character
 * outside base64url, jose and fast-jwt both refuse); header and payload UTF-8 without a
 * byte-order mark; a header that is a JSON object without a repeated key, with a well-formed `kid`
 * and a string `alg`, and none of the headers that let a token choose its own key (`jku`, `x5u`,
 * `jwk`, `x5c`, `x5t`, `crit`, `b64`). Returns what the header names and the payload text, or `null`.
 *
 * A repeated key in the payload is refused too, but by the caller: once the JWS library has parsed
 * the payload, `repeatsAKey(payloadJson, payload)` decides for less than `hasDuplicateKeys`.
 * Everything else (signature, `typ`, claims) is the JWS library's job.
 */
export function readTokenShape(token: string): TokenShape | null {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_BYTES) return null;
  const firstDot = token.indexOf('.');
  const secondDot = token.indexOf('.', firstDot + 1);
  if (firstDot < 1 || secondDot < firstDot + 2 || secondDot > token.length - 2) return null;
  if (token.includes('.', secondDot + 1) || TOLERATED.some((character) => token.includes(character))) return null;
  if ((token.length - secondDot - 1) % 4 === 1) return null;
  const header = headerOf(token, firstDot);
  if (header === null) return null;
  const payloadJson = decodeText(token.slice(firstDot + 1, secondDot));
  if (payloadJson === null) return null;
  return { kid: header.kid, alg: header.alg, payloadJson };
}
