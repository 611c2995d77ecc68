export {
  createRemoteVerifier,
  type RemoteVerification,
  type RemoteVerifier,
  type RemoteVerifierOptions,
  type VerifiedAccessToken,
} from './create-remote-verifier.js';
export { JwksUnavailableError } from './jwks-unavailable-error.js';
export type { InvalidTokenReason } from './invalid-token-reason.js';
