export { createAuthClient } from './create-auth-client.js';
export { AuthClientError, type FieldError } from './errors.js';
export { decodeJwtHeader, decodeJwtPayload } from './decode-jwt.js';
export type {
  AuthClient,
  AuthClientOptions,
  AuthEventMap,
  AuthUser,
  DeviceSession,
  LoginMode,
  MeResult,
} from './types.js';
