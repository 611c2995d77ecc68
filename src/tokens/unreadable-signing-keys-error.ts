/**
 * The store holds keys still signing that this ring's secret cannot unseal: most likely this
 * instance was given another secret than its siblings'. A key made here would retire theirs, and
 * they could neither sign with it nor verify what it signed.
 */
export class UnreadableSigningKeysError extends Error {
  override readonly name = 'UnreadableSigningKeysError';

  constructor(
    readonly count: number,
    { duringReplacement = false }: { duringReplacement?: boolean } = {},
  ) {
    super(
      duringReplacement
        ? `${count} signing key(s) sealed under another secret appeared while the old secret's keys were being ` +
            'replaced: an instance on the old secret started or rotated meanwhile. The new key is stored and ' +
            'the keys read before were retired; stop the instances on the old secret and run the replacement again'
        : `${count} signing key(s) in the store, not retired, cannot be unsealed with this secret ` +
            '(COATCHECK_SECRET, or the tokens.secret option): is it the one the other instances use? ' +
            'Refusing, so as not to retire their keys. To change the secret on purpose, run ' +
            '`coatcheck keys rotate --replace-unreadable` (in code, `rotate({ replaceUnreadable: true })`) ' +
            'with the new one, then restart every instance with it',
    );
  }
}
