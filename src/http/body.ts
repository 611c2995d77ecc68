import { AuthError } from '../core/errors.js';
import { hasDuplicateKeys } from '../tokens/duplicate-keys.js';

export const MAX_BODY_BYTES = 16 * 1024;

function isJsonContentType(value: string | null): boolean {
  if (value === null) return false;
  const mediaType = value.split(';', 1)[0]!.trim().toLowerCase();
  return mediaType === 'application/json';
}

/** True when the request carries a body at all (a length, or chunked transfer). */
export function hasBody(request: Request): boolean {
  const length = request.headers.get('content-length');
  if (length !== null) return length.trim() !== '0';
  return request.headers.has('transfer-encoding') || request.headers.has('content-type');
}

async function readLimited(request: Request, limit: number): Promise<Uint8Array> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limit)
    throw new AuthError('payload_too_large', `The body exceeds ${limit} bytes.`);
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw new AuthError('payload_too_large', `The body exceeds ${limit} bytes.`);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/**
 * The JSON object in the body of a JSON route. Another content type is 415, more than 16 KiB is
 * 413, bytes that are not UTF-8 JSON are 400 `invalid_json`, and JSON that is not an object, or
 * that names a key twice in one object, is 400 `invalid_request`.
 */
export async function readJsonObject(
  request: Request,
  options: { limit?: number } = {},
): Promise<Record<string, unknown>> {
  if (!isJsonContentType(request.headers.get('content-type'))) {
    throw new AuthError('unsupported_media_type', 'Send the body as application/json.');
  }
  const bytes = await readLimited(request, options.limit ?? MAX_BODY_BYTES);
  let text: string;
  let parsed: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    parsed = JSON.parse(text);
  } catch {
    throw new AuthError('invalid_json', 'The body is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AuthError('invalid_request', 'The body must be a JSON object.');
  }
  // `JSON.parse` keeps the last of two equal keys, and a proxy or firewall in front may have read
  // the first: `{"mode":"session","mode":"native"}` means two things. Refused, as in tokens.
  if (hasDuplicateKeys(text)) {
    throw new AuthError('invalid_request', 'The body names a field more than once.');
  }
  return parsed as Record<string, unknown>;
}
