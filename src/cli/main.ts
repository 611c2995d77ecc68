#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, readConfig } from '../server/config.js';
import { unknownVariableWarnings } from '../server/unknown-variables.js';
import { runServe } from './serve-command.js';
import { runUsers } from './users-command.js';
import { runKeys } from './keys-command.js';
import { runDecode } from './decode-command.js';
import { runMigrate } from './migrate-command.js';
import { operatorMessage } from './operator-message.js';

const HELP = `coatcheck: sessions, tokens and everything after the password check

Usage:
  coatcheck serve                         start the server (auth routes, demo API, landing page)
  coatcheck users add --email E [--role R] [--name N]
                                          create a user; the password is read from stdin,
                                          or asked for when stdin is a terminal
  coatcheck users set-role --email E --role R
                                          change a role (cookie sessions and strict routes see
                                          it at once; other routes once the user's access
                                          token is renewed)
  coatcheck users list [--json]           list users
  coatcheck keys list [--json]            the signing keys and their state
  coatcheck keys rotate                   start signing with a new key; older keys keep
                                          verifying until their tokens have expired
  coatcheck keys rotate --replace-unreadable [--yes]
                                          changing COATCHECK_SECRET: run with the new secret
                                          before restarting the instances with it; rotates even
                                          though the old secret's keys cannot be unsealed, once
                                          "replace" is typed (--yes where there is no terminal)
  coatcheck keys rotate --change-algorithm
                                          changing COATCHECK_JWT_ALG: run with the new one, then
                                          restart the instances with it (instances refuse to start
                                          on another algorithm than the store's current key)
  coatcheck migrate                       bring the database (DATABASE_URL, or the SQLite file)
                                          to this version's schema
  coatcheck decode <jwt> [--jwks URL [--issuer I] [--audience A]]
                                          show a token's header, payload, expiry and warnings;
                                          verifies it only when --jwks is given, against the
                                          issuer I and audience A (without them, iss and aud are
                                          only compared with the token's own: not checked);
                                          exits 0 verified (or not asked to), 1 not a JWT or
                                          not valid (the reason is printed), 3 the JWKS could
                                          not be fetched, so the token was not checked
  coatcheck help                          this text (also: coatcheck <command> --help)

Configuration is read from the environment (PORT, COATCHECK_DATA_DIR, COATCHECK_ORIGIN, ...);
see the README.`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${HELP}\n`);
    return command === undefined ? 2 : 0;
  }
  if (asksForHelp(rest)) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (command === 'decode') return runDecode(rest);
  const config = readConfig();
  for (const warning of unknownVariableWarnings(process.env)) process.stderr.write(`coatcheck: warning: ${warning}\n`);
  switch (command) {
    case 'serve':
      parseArgs({ args: rest, options: {}, strict: true });
      return runServe(config);
    case 'users':
      return runUsers(config, rest);
    case 'keys':
      return runKeys(config, rest);
    case 'migrate':
      parseArgs({ args: rest, options: {}, strict: true });
      return runMigrate(config);
    default:
      process.stderr.write(`coatcheck: unknown command "${command}"\n\n${HELP}\n`);
      return 2;
  }
}

/** `--help` or `-h` among a command's options (not after `--`, where it is an argument). */
function asksForHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== -1) process.exitCode = code;
  },
  (error: unknown) => {
    // Operator mistakes get one clear line, not a stack trace.
    const known =
      error instanceof ConfigError ||
      error instanceof TypeError ||
      (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION';
    const message = operatorMessage(error);
    process.stderr.write(`${message.startsWith('coatcheck') ? message : `coatcheck: ${message}`}\n`);
    if (!known && error instanceof Error && process.env.DEBUG) process.stderr.write(`${error.stack}\n`);
    process.exitCode = 1;
  },
);
