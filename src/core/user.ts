import type { UserProfile, UserRecord } from '../store/types.js';

/** What clients see of a user: never a hash or any other secret. */
export interface PublicUser {
  id: string;
  email: string;
  name: string | null;
  role: string;
  createdAt: string;
}

export function toPublicUser(user: UserProfile): PublicUser {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    createdAt: new Date(user.createdAt).toISOString(),
  };
}

/** The user as a request carries it (`req.auth.user`): everything but the password hash. */
export function withoutPasswordHash(user: UserRecord): UserProfile {
  const { passwordHash: _hash, ...profile } = user;
  return profile;
}
