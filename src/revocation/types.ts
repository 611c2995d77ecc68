/**
 * A revocation event, as broadcast between instances: sessions that ended, and users whose
 * earlier access tokens must no longer pass strict routes (a role change).
 */
export interface RevocationEvent {
  sessionIds: string[];
  /**
   * Strict routes refuse this user's access tokens issued before `notBefore` (Unix ms, whole
   * seconds as `iat`). A token issued in that very second passes only if it carries `role`, the
   * role the change made: it was minted after the change.
   */
  users: { userId: string; notBefore: number; role?: string }[];
  /** When the event stops mattering: no access token it affects can still be valid (Unix ms). */
  expiresAt: number;
}

export interface RevocationFeedHandlers {
  onEvent(event: RevocationEvent): void;
  /** The subscription is live (again): the list resynchronises from `loadActive`. */
  onConnected(): void;
  onDisconnected(): void;
}

/**
 * How instances tell each other about revocations: Redis pub/sub, or Postgres LISTEN/NOTIFY.
 * Events are also kept (until they expire) so an instance that starts or reconnects can catch up.
 */
export interface RevocationFeed {
  /** Stores the event and broadcasts it to every instance, this one included. */
  publish(event: RevocationEvent): Promise<void>;
  /** Every stored event that has not expired. */
  loadActive(now: number): Promise<RevocationEvent[]>;
  subscribe(handlers: RevocationFeedHandlers): Promise<void>;
  close(): Promise<void>;
}
