import { ConfigError } from './config.js';

/**
 * createAuth's option names and the variables `coatcheck serve` sets them from. An operator of
 * `serve` never writes `tokens.dangerouslyAllowLongAccessTokens`; a refusal must name what to set.
 */
const VARIABLE_OF_OPTION: readonly [RegExp, string][] = [
  [/\btokens\.dangerouslyAllowLongAccessTokens\b/g, 'COATCHECK_DANGEROUSLY_ALLOW_LONG_ACCESS_TOKENS=1'],
  [/\btokens\.accessTokenTtl\b/g, 'COATCHECK_ACCESS_TOKEN_TTL'],
  [/\btokens\.refreshGrace\b/g, 'COATCHECK_REFRESH_GRACE'],
  [/\btokens\.algorithm\b/g, 'COATCHECK_JWT_ALG'],
  [/\btokens\.secret\b/g, 'COATCHECK_SECRET'],
  [/\btokens\.issuer\b/g, 'COATCHECK_ISSUER'],
  [/\btokens\.audience\b/g, 'COATCHECK_AUDIENCE'],
  [/\bsession\.idleTtl\b/g, 'COATCHECK_SESSION_IDLE_TTL'],
  [/\bsession\.absoluteTtl\b/g, 'COATCHECK_SESSION_ABSOLUTE_TTL'],
  [/\ballowedOrigins\[\]/g, 'COATCHECK_ALLOWED_ORIGINS'],
  [/\ballowInsecureHttp\b/g, 'COATCHECK_ALLOW_INSECURE_HTTP=1'],
  // Only as the subject: "an origin (scheme, host and port only)" is English, not the option.
  [/^coatcheck: origin\b/, 'coatcheck: COATCHECK_ORIGIN'],
];

/** createAuth's refusal of `serve`'s configuration, as a ConfigError in the variables' names. */
export function inServeTerms(error: unknown): unknown {
  if (!(error instanceof TypeError) || !error.message.startsWith('coatcheck:')) return error;
  let message = error.message;
  for (const [option, variable] of VARIABLE_OF_OPTION) message = message.replace(option, variable);
  return new ConfigError(message, { cause: error });
}
