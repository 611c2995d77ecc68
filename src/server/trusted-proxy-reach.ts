import express from 'express';

/** Trusting more than this share of the public IPv4 or IPv6 space is trusting anyone. */
const MOST_A_PROXY_LIST_COVERS = 1 / 16;

/**
 * One address in every /12 of the public IPv4 space (first octets 1 to 223, but 10 and 127), and
 * one in every /14 of 2000::/3, where every public IPv6 address is. A range of a /12 (IPv4) or /14
 * (IPv6) or wider is always sampled, so a share counted here is the share the list trusts, give or
 * take ranges narrower than that (which no real list gathers into a sixteenth of the space). About
 * 5,500 calls of Express's trust function: under 0.1 s, once, when the list is read.
 */
const PUBLIC_IPV4_SAMPLES = Array.from({ length: 4096 }, (_, block) => block)
  .map((block) => [block >> 4, ((block & 15) << 4) | 5, 90, 165])
  .filter(([first]) => first! >= 1 && first! <= 223 && first !== 10 && first !== 127)
  .map((octets) => octets.join('.'));
const PUBLIC_IPV6_SAMPLES = Array.from({ length: 2048 }, (_, block) => `${(0x2000 + block * 4).toString(16)}:5a5a::1`);

export type TrustProxyFunction = (address: string, hop: number) => boolean;

/** Express's own reading of a `trust proxy` value; throws its TypeError for an unreadable entry. */
export function compileTrustProxy(value: string): TrustProxyFunction {
  const app = express();
  app.set('trust proxy', value);
  return app.get('trust proxy fn') as TrustProxyFunction;
}

/**
 * Whether a list trusts more than a sixteenth of the public IPv4 or IPv6 space: `::ffff:0:0/96`
 * (every IPv4 client, as Express maps it), `0.0.0.0/1`, `2000::/4` or many wide ranges together
 * are `true` in disguise, letting any client choose its address. Real proxy lists (a CDN's
 * ranges, private networks) cover a tiny share.
 */
export function trustsTooMuchOfTheInternet(trusts: TrustProxyFunction): boolean {
  return [PUBLIC_IPV4_SAMPLES, PUBLIC_IPV6_SAMPLES].some(
    (samples) => samples.filter((address) => trusts(address, 0)).length > samples.length * MOST_A_PROXY_LIST_COVERS,
  );
}
