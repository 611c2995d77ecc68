import type { UserProfile } from '../../store/types.js';

/**
 * The user columns a session read joins, as both SQL stores name them: everything but
 * `password_hash`, which no request needs (see `UserProfile`).
 */
export const PROFILE_COLUMNS = ['id', 'email', 'name', 'role', 'created_at', 'updated_at'] as const;

type ProfileColumn = (typeof PROFILE_COLUMNS)[number];

/** A joined row's user half: the profile columns prefixed `u_`, beside the session's own. */
export type PrefixedProfile = {
  [K in ProfileColumn as `u_${K}`]: K extends 'name'
    ? string | null
    : K extends `${string}_at`
      ? number | string
      : string;
};

/**
 * The select list of a session joined with its user (aliases `s` and `u`): the session's columns as
 * they are, then the user's profile columns prefixed `u_`, in `PROFILE_COLUMNS` order.
 */
export function sessionWithUserColumns(sessionColumns: string): string {
  return [
    ...sessionColumns.split(', ').map((column) => `s.${column}`),
    ...PROFILE_COLUMNS.map((column) => `u.${column} AS u_${column}`),
  ].join(', ');
}

/** The user half of a joined row. Timestamps may come as strings (Postgres BIGINT). */
export function profileOf(row: PrefixedProfile): UserProfile {
  return {
    id: row.u_id,
    email: row.u_email,
    name: row.u_name,
    role: row.u_role,
    createdAt: Number(row.u_created_at),
    updatedAt: Number(row.u_updated_at),
  };
}
