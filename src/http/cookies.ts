/**
 * Cookie header parsing that keeps every occurrence of a name, so a request carrying two cookies
 * of one auth name can be refused instead of silently resolved first-wins or last-wins.
 */
export function parseCookieHeader(header: string | null | undefined): Map<string, string[]> {
  const cookies = new Map<string, string[]>();
  if (!header) return cookies;
  for (const part of header.split(';')) {
    const pair = pairOf(part);
    if (pair === null) continue;
    const values = cookies.get(pair.name);
    if (values) values.push(pair.value);
    else cookies.set(pair.name, [pair.value]);
  }
  return cookies;
}

/**
 * Every value of the cookie `name`, in header order: `parseCookieHeader(header).get(name) ?? []`
 * (a property test holds the two equal), without taking apart the other cookies. A browser on a
 * real site sends many (analytics, consent, preferences) on every request, and auth reads one.
 */
export function cookieValues(header: string | null | undefined, name: string): string[] {
  const values: string[] = [];
  if (!header || name === '') return values;
  // Only a segment that contains the name somewhere can be named by it; each is read once.
  let at = header.indexOf(name);
  while (at !== -1) {
    const start = header.lastIndexOf(';', at) + 1;
    const semicolon = header.indexOf(';', at);
    const end = semicolon === -1 ? header.length : semicolon;
    const pair = pairOf(header.slice(start, end));
    if (pair !== null && pair.name === name) values.push(pair.value);
    at = semicolon === -1 ? -1 : header.indexOf(name, semicolon + 1);
  }
  return values;
}

/** One `;`-separated segment as a name and its value, or `null` when it names nothing. */
function pairOf(part: string): { name: string; value: string } | null {
  const eq = part.indexOf('=');
  if (eq === -1) return null;
  const name = trimSpaceAndTab(part.slice(0, eq));
  if (name === '') return null;
  let value = trimSpaceAndTab(part.slice(eq + 1));
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
  return { name, value };
}

/**
 * Strips only the header's own whitespace, SP and HTAB (RFC 6265). `String.prototype.trim` also
 * strips U+00A0, which is how Node reads a raw 0xA0 byte: a cookie a sibling subdomain planted as
 * `\xA0__Host-coatcheck.sid` (no `__Host-` prefix to the browser, so no protection) would be read
 * as the real one.
 */
function trimSpaceAndTab(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isSpaceOrTab(text.charCodeAt(start))) start += 1;
  while (end > start && isSpaceOrTab(text.charCodeAt(end - 1))) end -= 1;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

const isSpaceOrTab = (code: number): boolean => code === 0x20 || code === 0x09;

export interface CookieAttributes {
  path: string;
  maxAge: number;
  httpOnly: boolean;
  secure: boolean;
  sameSite: 'Strict' | 'Lax';
}

export function serializeCookie(name: string, value: string, attributes: CookieAttributes): string {
  let cookie = `${name}=${value}; Path=${attributes.path}; Max-Age=${Math.max(0, Math.floor(attributes.maxAge))}`;
  if (attributes.httpOnly) cookie += '; HttpOnly';
  if (attributes.secure) cookie += '; Secure';
  cookie += `; SameSite=${attributes.sameSite}`;
  return cookie;
}
