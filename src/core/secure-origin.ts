// Its own module: `coatcheck/verify` needs it, and must not load the password hasher with the options.
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Browsers treat https and http on loopback as secure contexts: `Secure` cookies work there. */
export function isSecureOrigin(url: URL): boolean {
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && (LOOPBACK_HOSTS.has(url.hostname) || url.hostname.endsWith('.localhost'));
}
