import { describe, expect, it } from 'vitest';
import { AuthError, type ErrorCode } from '../../src/core/errors.js';
import { hasBody, MAX_BODY_BYTES, readJsonObject } from '../../src/http/body.js';

const URL_ = 'https://app.example.com/auth/login';
const JSON_TYPE = { 'content-type': 'application/json' };

function post(body: BodyInit | null, headers: Record<string, string> = JSON_TYPE): Request {
  return new Request(URL_, { method: 'POST', headers, body });
}

/** A request whose body arrives as a stream, so it has no Content-Length. */
function streamed(chunks: Uint8Array[], headers: Record<string, string> = JSON_TYPE): Request {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  return new Request(URL_, { method: 'POST', headers, body, duplex: 'half' } as RequestInit);
}

/** `{"a":"xxx…"}` of exactly `size` bytes. */
function jsonOfSize(size: number): string {
  const text = `{"a":"${'x'.repeat(size - 8)}"}`;
  expect(Buffer.byteLength(text)).toBe(size);
  return text;
}

async function codeOf(promise: Promise<unknown>): Promise<ErrorCode> {
  const error: unknown = await promise.then(
    () => expect.unreachable('expected an AuthError'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AuthError);
  return (error as AuthError).code;
}

describe('readJsonObject', () => {
  it('returns the parsed object', async () => {
    await expect(readJsonObject(post('{"email":"a@b.c","n":1}'))).resolves.toEqual({ email: 'a@b.c', n: 1 });
  });

  it.each([
    'application/json',
    'application/json; charset=utf-8',
    'Application/JSON;charset=UTF-8',
    ' application/json ',
  ])('accepts content type %j', async (contentType) => {
    await expect(readJsonObject(post('{"a":1}', { 'content-type': contentType }))).resolves.toEqual({ a: 1 });
  });

  it.each([
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/jsonx',
    'application/json-patch+json',
    'text/json',
    '',
  ])('refuses content type %j with unsupported_media_type', async (contentType) => {
    expect(await codeOf(readJsonObject(post('{"a":1}', { 'content-type': contentType })))).toBe(
      'unsupported_media_type',
    );
  });

  it('refuses a body without content type with unsupported_media_type', async () => {
    const request = post(new TextEncoder().encode('{"a":1}'), {});
    expect(request.headers.get('content-type')).toBeNull();
    expect(await codeOf(readJsonObject(request))).toBe('unsupported_media_type');
  });

  it('refuses a string body (sent as text/plain by default) with unsupported_media_type', async () => {
    expect(await codeOf(readJsonObject(post('{"a":1}', {})))).toBe('unsupported_media_type');
  });

  it.each([
    ['malformed JSON', '{"a":'],
    ['single quotes', "{'a':1}"],
    ['trailing comma', '{"a":1,}'],
    ['empty body', ''],
    ['bare word', 'undefined'],
  ])('refuses %s with invalid_json', async (_label, text) => {
    expect(await codeOf(readJsonObject(post(text)))).toBe('invalid_json');
  });

  it.each([
    '{"mode":"session","mode":"native"}',
    '{"mode":"session","m\\u006fde":"native"}',
    '{"email":"a@b.c", "email" :"c@d.e"}',
    '{"a":{"b":1,"b":2}}',
    '{"__proto__":1,"__proto__":2}',
  ])('refuses %s, which names a key twice, with invalid_request', async (text) => {
    expect(await codeOf(readJsonObject(post(text)))).toBe('invalid_request');
  });

  it('accepts equal keys in different objects, and keys that only look alike', async () => {
    await expect(readJsonObject(post('{"a":{"b":1},"c":{"b":2},"B":3,"b ":4}'))).resolves.toEqual({
      a: { b: 1 },
      c: { b: 2 },
      B: 3,
      'b ': 4,
    });
  });

  it('refuses bytes that are not UTF-8 with invalid_json', async () => {
    const bytes = new Uint8Array([
      ...new TextEncoder().encode('{"a":"'),
      0xff,
      0xfe,
      ...new TextEncoder().encode('"}'),
    ]);
    expect(await codeOf(readJsonObject(post(bytes)))).toBe('invalid_json');
  });

  it('refuses an overlong UTF-8 encoding with invalid_json', async () => {
    // 0xC0 0xAF is an overlong "/": a lenient decoder would turn it into U+FFFD and parse.
    const bytes = new Uint8Array([
      ...new TextEncoder().encode('{"a":"'),
      0xc0,
      0xaf,
      ...new TextEncoder().encode('"}'),
    ]);
    expect(await codeOf(readJsonObject(post(bytes)))).toBe('invalid_json');
  });

  it('does not let an error message carry the body', async () => {
    const error = await readJsonObject(post('{"password":"hunter2-secret"')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).message).not.toContain('hunter2');
  });

  it.each([
    ['an array', '[{"a":1}]'],
    ['null', 'null'],
    ['a number', '42'],
    ['a string', '"text"'],
    ['a boolean', 'true'],
  ])('refuses %s with invalid_request', async (_label, text) => {
    expect(await codeOf(readJsonObject(post(text)))).toBe('invalid_request');
  });

  it('has a 16 KiB limit', () => {
    expect(MAX_BODY_BYTES).toBe(16 * 1024);
  });

  it('accepts exactly 16 KiB with a Content-Length', async () => {
    const text = jsonOfSize(16 * 1024);
    const request = post(text, { ...JSON_TYPE, 'content-length': String(text.length) });
    const parsed = await readJsonObject(request);
    expect(parsed.a).toHaveLength(16 * 1024 - 8);
  });

  it('refuses 16 KiB + 1 with a Content-Length, with payload_too_large', async () => {
    const text = jsonOfSize(16 * 1024 + 1);
    const request = post(text, { ...JSON_TYPE, 'content-length': String(text.length) });
    expect(await codeOf(readJsonObject(request))).toBe('payload_too_large');
  });

  it('refuses a declared 1 MiB body before reading it', async () => {
    const request = post('{}', { ...JSON_TYPE, 'content-length': String(1024 * 1024) });
    expect(await codeOf(readJsonObject(request))).toBe('payload_too_large');
  });

  it('accepts exactly 16 KiB streamed without a Content-Length', async () => {
    const bytes = new TextEncoder().encode(jsonOfSize(16 * 1024));
    const request = streamed([bytes.subarray(0, 5000), bytes.subarray(5000, 12000), bytes.subarray(12000)]);
    expect(request.headers.get('content-length')).toBeNull();
    const parsed = await readJsonObject(request);
    expect(parsed.a).toBe('x'.repeat(16 * 1024 - 8));
  });

  it('refuses 16 KiB + 1 streamed without a Content-Length, with payload_too_large', async () => {
    const bytes = new TextEncoder().encode(jsonOfSize(16 * 1024 + 1));
    const request = streamed([bytes.subarray(0, 8192), bytes.subarray(8192)]);
    expect(request.headers.get('content-length')).toBeNull();
    expect(await codeOf(readJsonObject(request))).toBe('payload_too_large');
  });

  it('refuses a 1 MiB stream without reading it all', async () => {
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        if (pulled > 64) controller.close();
        else controller.enqueue(new Uint8Array(16 * 1024).fill(0x20));
      },
    });
    const request = new Request(URL_, { method: 'POST', headers: JSON_TYPE, body, duplex: 'half' } as RequestInit);
    expect(await codeOf(readJsonObject(request))).toBe('payload_too_large');
    expect(pulled).toBeLessThan(64);
  });

  it('does not trust a Content-Length smaller than the body', async () => {
    const text = jsonOfSize(16 * 1024 + 1);
    const request = post(text, { ...JSON_TYPE, 'content-length': '10' });
    expect(await codeOf(readJsonObject(request))).toBe('payload_too_large');
  });

  it('honours a smaller limit', async () => {
    expect(await codeOf(readJsonObject(post('{"a":"xxxx"}'), { limit: 8 }))).toBe('payload_too_large');
    await expect(readJsonObject(post('{"a":1}'), { limit: 8 })).resolves.toEqual({ a: 1 });
  });
});

describe('hasBody', () => {
  it('is false for a request without body headers', () => {
    expect(hasBody(new Request(URL_, { method: 'POST' }))).toBe(false);
  });

  it('is false for Content-Length 0', () => {
    expect(hasBody(post('', { ...JSON_TYPE, 'content-length': '0' }))).toBe(false);
  });

  it('is true for a Content-Length, a content type or a streamed body with a content type', () => {
    expect(hasBody(post('{}', { ...JSON_TYPE, 'content-length': '2' }))).toBe(true);
    expect(hasBody(post('{}'))).toBe(true);
    expect(hasBody(streamed([new Uint8Array([0x7b, 0x7d])]))).toBe(true);
  });
});
