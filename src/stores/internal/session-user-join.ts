/** The user table's columns, as both SQL stores name them. */
type UserColumn = 'id' | 'email' | 'name' | 'role' | 'password_hash' | 'created_at' | 'updated_at';

/** A user row's columns as they come back from the join: prefixed `u_`, beside the session's own. */
export type PrefixedUser<UserRow extends Record<UserColumn, unknown>> = {
  [K in UserColumn as `u_${K}`]: UserRow[K];
};

/**
 * The select list of a session joined with its user (aliases `s` and `u`): the session's columns as
 * they are, the user's prefixed `u_`, so each half maps with its store's own row mapper.
 */
export function sessionWithUserColumns(sessionColumns: string, userColumns: string): string {
  return [
    ...sessionColumns.split(', ').map((column) => `s.${column}`),
    ...userColumns.split(', ').map((column) => `u.${column} AS u_${column}`),
  ].join(', ');
}

/** The user's half of a joined row, under the user table's own column names. */
export function userHalf<UserRow extends Record<UserColumn, unknown>>(row: PrefixedUser<UserRow>): UserRow {
  return {
    id: row.u_id,
    email: row.u_email,
    name: row.u_name,
    role: row.u_role,
    password_hash: row.u_password_hash,
    created_at: row.u_created_at,
    updated_at: row.u_updated_at,
  } as UserRow;
}
