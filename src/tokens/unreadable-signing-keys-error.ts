/**
 * The store holds keys still signing that this ring's secret cannot unseal: most likely this
 * instance was given another secret than its siblings'. A key made here would retire theirs, and
 * they could neither sign with it nor verify what it signed.
 */
export class UnreadableSigningKeysError extends Error {
  override readonly name = 'UnreadableSigningKeysError';

  constructor(readonly count: number) {
    super(
      `${count} signing key(s) still signing in the store cannot be unsealed with this secret ` +
        '(COATCHECK_SECRET, or the tokens.secret option): is it the one the other instances use? ' +
        'Not making a key that would retire theirs. To change the secret on purpose, run ' +
        '`coatcheck keys rotate --replace-unreadable` with the new one, then restart every instance with it',
    );
  }
}
