/** The algorithms coatcheck signs with; a stored key of any other is neither loaded nor counted. */
export const JWT_ALGORITHMS = ['ES256', 'EdDSA', 'RS256', 'HS256'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

export function isAlgorithm(value: string): value is JwtAlgorithm {
  return (JWT_ALGORITHMS as readonly string[]).includes(value);
}
