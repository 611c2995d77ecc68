/**
 * The spellings of an issuer or audience that name the same thing. An origin with and without its
 * trailing slash are one URI (RFC 3986, 6.2.3), and `new URL(origin).href` adds the slash while
 * coatcheck issues the origin without it: compared as strings, every valid token would be refused.
 * Anything else (a path, a non-URL name) must match exactly: `https://a.example/x/` and
 * `https://a.example/x` are different resources.
 */
export function equivalentSpellings(name: string): string[] {
  let url: URL;
  try {
    url = new URL(name);
  } catch {
    return [name];
  }
  const originOnly =
    (url.protocol === 'https:' || url.protocol === 'http:') &&
    url.pathname === '/' &&
    url.search === '' &&
    url.hash === '' &&
    url.username === '' &&
    url.password === '';
  if (!originOnly || !(name === url.origin || name === `${url.origin}/`)) return [name];
  return [url.origin, `${url.origin}/`];
}
