import type { SigningKeyRecord, SigningKeyStore } from '../../store/types.js';
import type { Run } from './create-memory-store.js';

export function createMemorySigningKeyStore(run: Run): SigningKeyStore {
  const keysByKid = new Map<string, SigningKeyRecord>();

  return {
    list: () => run(() => [...keysByKid.values()].sort(byCreatedAtThenKid).map((key) => ({ ...key }))),
    create: (key) =>
      run(() => {
        if (keysByKid.has(key.kid)) throw new Error('A signing key with this kid already exists');
        keysByKid.set(key.kid, { ...key });
      }),
    retireOlderThan: (newest, retiredAt, expiresAt) =>
      run(() => {
        const retiring = [...keysByKid.values()].filter(
          (key) => key.retiredAt === null && byCreatedAtThenKid(key, newest) < 0,
        );
        for (const key of retiring) Object.assign(key, { retiredAt, expiresAt });
        return retiring.map((key) => key.kid);
      }),
    deleteExpired: (now) =>
      run(() => {
        const expired = [...keysByKid.values()].filter((key) => key.expiresAt !== null && key.expiresAt <= now);
        for (const key of expired) keysByKid.delete(key.kid);
        return expired.length;
      }),
  };
}

function byCreatedAtThenKid(
  a: Pick<SigningKeyRecord, 'kid' | 'createdAt'>,
  b: Pick<SigningKeyRecord, 'kid' | 'createdAt'>,
): number {
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  return a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0;
}
