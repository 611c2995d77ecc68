/** Methods that may change state: the ones CSRF defence applies to. */
export function isUnsafeMethod(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';
}

/**
 * The CSRF rule of API.md, from the browser's own headers (no token to manage):
 * refuse when `Sec-Fetch-Site` is present and not `same-origin`/`none`, or `Origin` is present and
 * not allowed (`null` never is); with `requireHeader`, also refuse when neither is present.
 */
export function passesCsrfCheck(
  header: (name: string) => string | null,
  allowedOrigins: ReadonlySet<string>,
  options: { requireHeader: boolean },
): boolean {
  const site = header('sec-fetch-site');
  const origin = header('origin');
  if (site !== null && site !== 'same-origin' && site !== 'none') return false;
  if (origin !== null && !allowedOrigins.has(origin)) return false;
  if (options.requireHeader && site === null && origin === null) return false;
  return true;
}
