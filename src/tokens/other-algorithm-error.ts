/**
 * The store's current key is of another algorithm than this ring's: most likely this instance was
 * given another algorithm (COATCHECK_JWT_ALG, `tokens.algorithm`) than its siblings'. Starting, it
 * would make a key of its own and retire theirs, and once that key expired they could not sign.
 */
export class OtherAlgorithmError extends Error {
  override readonly name = 'OtherAlgorithmError';

  constructor(
    readonly stored: string,
    readonly configured: string,
  ) {
    super(
      `the store's keys sign with ${stored}, and this ring is configured for ${configured} ` +
        '(COATCHECK_JWT_ALG, or the tokens.algorithm option): is it the one the other instances use? ' +
        'Refusing, so as not to retire their key. To change the algorithm on purpose, run ' +
        '`coatcheck keys rotate --change-algorithm` (in code, `rotate()` before `ready()`) with the new ' +
        'one, then restart every instance with it',
    );
  }
}
