export {
  createRemoteVerifier,
  type RemoteVerifierOptions,
  type VerifiedAccessToken,
} from './create-remote-verifier.js';
