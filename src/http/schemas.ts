import { AuthError, type FieldError } from '../core/errors.js';

// Four flat JSON bodies of strings need no schema library. One (zod) put 3 MB on every server's
// heap, and on this workload the young-generation GC of a busy server grows with the heap.

interface FieldRule {
  /** The allowed strings; any string when absent. */
  oneOf?: readonly string[];
  optional?: boolean;
  nullable?: boolean;
}

/** A JSON object body: the named fields, and no others (an unexpected field is a client bug worth hearing about). */
export interface BodySchema<T> {
  readonly fields: Readonly<Record<string, FieldRule>>;
  /** Only carries `T` for `parseBody`'s return type. */
  readonly parses?: T;
}

function body<T>(fields: { [K in keyof T & string]-?: FieldRule }): BodySchema<T> {
  return { fields };
}

const text: FieldRule = {};

export const registerBody = body<{ email: string; password: string; name?: string | null }>({
  email: text,
  password: text,
  name: { optional: true, nullable: true },
});

export const loginBody = body<{ email: string; password: string; mode?: 'session' | 'token' | 'native' }>({
  email: text,
  password: text,
  mode: { oneOf: ['session', 'token', 'native'], optional: true },
});

export const refreshBody = body<{ refreshToken: string }>({ refreshToken: text });

export const changePasswordBody = body<{ currentPassword: string; newPassword: string }>({
  currentPassword: text,
  newPassword: text,
});

/** What is wrong with one field's value, or `null`. */
function problemWith(rule: FieldRule, value: unknown): string | null {
  if (value === undefined) return rule.optional ? null : 'Required.';
  if (value === null && rule.nullable) return null;
  if (rule.oneOf)
    return typeof value === 'string' && rule.oneOf.includes(value) ? null : 'Not one of the allowed values.';
  return typeof value === 'string' ? null : 'Must be string.';
}

/** Parses `input` with `schema`, or throws `invalid_request` naming each bad field (never its value). */
export function parseBody<T>(schema: BodySchema<T>, input: unknown): T {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    const message = input === undefined ? 'Required.' : 'Must be object.';
    throw new AuthError('invalid_request', 'The request is invalid.', { errors: [{ path: '', message }] });
  }
  const given = input as Record<string, unknown>;
  const parsed: Record<string, unknown> = {};
  const errors: FieldError[] = [];
  for (const [name, rule] of Object.entries(schema.fields)) {
    const value = Object.hasOwn(given, name) ? given[name] : undefined;
    const problem = problemWith(rule, value);
    if (problem !== null) errors.push({ path: name, message: problem });
    else if (value !== undefined) parsed[name] = value;
  }
  for (const name of Object.keys(given)) {
    if (!Object.hasOwn(schema.fields, name)) errors.push({ path: name.slice(0, 64), message: 'Unknown field.' });
  }
  if (errors.length > 0) throw new AuthError('invalid_request', 'The request is invalid.', { errors });
  return parsed as T;
}
