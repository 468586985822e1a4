/**
 * `herald auth`: what an operator needs to write the auth file without ever storing a secret in
 * it: `hash-password` (an scrypt hash of a password read from stdin), `token` (a new static token,
 * shown once, and the digest to store), and `login` (an access token from a server, for scripts).
 */
import { exitCodeOf } from './exit-codes.js';
import { Command, Option } from 'commander';
import { hashPassword, newToken } from '../auth/credentials.js';
import { AuthServiceClient, type LoginResponse } from '../gen/herald/v1/auth_service.js';
import { channelCredentialsOf } from '../client/connection-security.js';
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { firstAnswer, reason, securityFrom, serverOption, withSecurityOptions, type SecurityFlags } from './client-options.js';

/** Reads all of stdin, without its final newline. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

function login(address: string, flags: SecurityFlags): Promise<LoginResponse> {
  const security = securityFrom({ ...flags, token: undefined, user: undefined, password: undefined });
  const client = new AuthServiceClient(address, channelCredentialsOf(security));
  return new Promise((resolve, reject) => {
    client.login({ username: flags.user ?? '', password: flags.password ?? '' }, new Metadata(), { deadline: Date.now() + 5_000 }, (e: ServiceError | null, r: LoginResponse) => {
      client.close();
      if (e) reject(e);
      else resolve(r);
    });
  });
}

export function authCommand(): Command {
  const auth = new Command('auth').description('make password hashes and tokens for the auth file; log in');
  auth
    .command('hash-password')
    .description('print the scrypt hash of the password read from stdin, for a user\'s "password" in the auth file')
    .action(async (_flags: unknown, cmd: Command) => {
      const password = await readStdin();
      if (password === '') cmd.error('herald: no password on stdin (e.g. printf %s "$PASSWORD" | herald auth hash-password)', { exitCode: 2 });
      process.stdout.write(`${await hashPassword(password)}\n`);
    });
  auth
    .command('token')
    .description('make a new static token: prints the token (give it to the client, once) and the digest (put it in the auth file)')
    .option('--json', 'print {"token", "digest"} as JSON')
    .action((flags: { json?: boolean }) => {
      const t = newToken();
      if (flags.json === true) process.stdout.write(`${JSON.stringify(t)}\n`);
      else process.stdout.write(`token:  ${t.token}\ndigest: ${t.digest}\n`);
    });
  withSecurityOptions(auth.command('login'))
    .description('log in with --user and --password and print an access token (for HERALD_TOKEN)')
    .addOption(serverOption())
    .addOption(new Option('--json', 'print the whole answer as JSON'))
    .action(async (flags: SecurityFlags & { server: string[]; json?: boolean }, cmd: Command) => {
      if (flags.user === undefined || flags.password === undefined) cmd.error('herald: login needs --user and --password (or HERALD_USER and HERALD_PASSWORD)', { exitCode: 2 });
      let r: LoginResponse;
      try {
        r = (await firstAnswer(flags.server, (a) => login(a, flags))).value;
      } catch (e) {
        cmd.error(`herald: ${reason(e)}`, { exitCode: exitCodeOf(e) });
      }
      process.stdout.write(flags.json === true ? `${JSON.stringify(r)}\n` : `${r.accessToken}\n`);
    });
  return auth;
}
