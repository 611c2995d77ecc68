/**
 * Validates `users.list` paging the same way in every store. A bad page is the developer's mistake,
 * so it is a `TypeError`, not an empty result that would hide the bug.
 */
export function checkPage(options: { limit?: number; offset?: number }): {
  limit: number | undefined;
  offset: number;
} {
  const { limit, offset = 0 } = options;
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 0)) {
    throw new TypeError('options.limit must be a non-negative integer');
  }
  if (!(Number.isSafeInteger(offset) && offset >= 0)) {
    throw new TypeError('options.offset must be a non-negative integer');
  }
  return { limit, offset };
}
