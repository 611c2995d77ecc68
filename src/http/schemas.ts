import { z } from 'zod';
import { AuthError, type FieldError } from '../core/errors.js';

// Strict objects: an unexpected field is a client bug worth hearing about, not something to ignore.
export const registerBody = z.strictObject({
  email: z.string(),
  password: z.string(),
  name: z.string().nullable().optional(),
});

export const loginBody = z.strictObject({
  email: z.string(),
  password: z.string(),
  mode: z.enum(['session', 'token', 'native']).optional(),
});

export const refreshBody = z.strictObject({
  refreshToken: z.string(),
});

export const changePasswordBody = z.strictObject({
  currentPassword: z.string(),
  newPassword: z.string(),
});

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.message.endsWith('received undefined') ? 'Required.' : `Must be ${issue.expected}.`;
    case 'unrecognized_keys':
      return 'Unknown field.';
    case 'invalid_value':
      return 'Not one of the allowed values.';
    default:
      return 'Invalid value.';
  }
}

/** Parses `input` with `schema`, or throws `invalid_request` naming each bad field (never its value). */
export function parseBody<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const errors: FieldError[] = [];
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) errors.push({ path: key.slice(0, 64), message: describeIssue(issue) });
    } else {
      errors.push({ path: issue.path.join('.'), message: describeIssue(issue) });
    }
  }
  throw new AuthError('invalid_request', 'The request is invalid.', { errors });
}
