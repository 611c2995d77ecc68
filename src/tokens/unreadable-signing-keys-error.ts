/**
 * The store holds keys still signing that this ring's secret cannot unseal: most likely this
 * instance was given another secret than its siblings'. A key made here would retire theirs, and
 * they could neither sign with it nor verify what it signed.
 */
export class UnreadableSigningKeysError extends Error {
  override readonly name = 'UnreadableSigningKeysError';

  constructor(readonly count: number) {
    super(
      `${count} signing key(s) in the store, not retired, cannot be unsealed with this secret ` +
        '(COATCHECK_SECRET, or the tokens.secret option): is it the one the other instances use? ' +
        'Refusing, so as not to retire their keys. To change the secret on purpose, run ' +
        '`coatcheck keys rotate --replace-unreadable` (in code, `rotate({ replaceUnreadable: true })`) ' +
        'with the new one, then restart every instance with it',
    );
  }
}
