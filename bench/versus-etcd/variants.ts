/**
 * Checks, before any run, that the herald under test implements the client variants asked for
 * (--herald-push delta or watch: Subscribe deltas or Watch; --herald-renew stream: KeepAlive), on a
 * fresh server of its own: one renewal, and one change followed by a subscriber. A herald that
 * lacks one fails the benchmark at once with a message saying what to do, not in the middle of a
 * run or by waiting for pushes that never come.
 */
import { derivedInstanceId } from '../lib/workload.js';
import { grpcCode } from './grpc-loaded.js';
import type { RenewMode } from './herald-client.js';
import { openHeraldSubscriber, type HeraldPush } from './subscribers.js';
import type { System } from './systems.js';
import { TAGGED_INDEX } from '../lib/push/changes.js';

const SERVICE = 'versus-preflight';
const TIMEOUT_MS = 10_000;
const UNIMPLEMENTED = 12;

function within<T>(what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what}: no answer within ${TIMEOUT_MS / 1000} s`));
    }, TIMEOUT_MS);
  });
  return Promise.race([p, timeout]).finally(() => {
    clearTimeout(timer);
  });
}

/** Renews one instance in `renew` mode; the problem, if any. */
async function checkRenew(herald: System, address: string, renew: RenewMode): Promise<string | undefined> {
  const client = herald.client(address);
  try {
    const lease = await client.register(SERVICE, 1);
    await within('KeepAlive', client.renew(lease));
    return undefined;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (grpcCode(e) === UNIMPLEMENTED)
      return `--herald-renew ${renew}: this herald does not implement KeepAlive (${message}); use --herald-renew unary, or a herald that has it (git merge main; npm run build)`;
    return `--herald-renew ${renew}: ${message}`;
  } finally {
    client.close();
  }
}

/** Follows the service in `push` mode through one change; the problem, if any. */
async function checkPush(herald: System, address: string, push: HeraldPush): Promise<string | undefined> {
  const writer = herald.writer(address);
  let close = (): void => {};
  try {
    await writer.prepare(SERVICE, 2);
    let onState: (seq: number | undefined) => void = () => {};
    let onError: (e: Error) => void = () => {};
    const next = (): Promise<number | undefined> =>
      new Promise((resolve, reject) => {
        onState = resolve;
        onError = reject;
      });
    const first = next();
    close = openHeraldSubscriber(
      {
        address,
        service: SERVICE,
        subscribers: 1,
        taggedInstanceId: derivedInstanceId(SERVICE, TAGGED_INDEX),
        firstMeasured: 1,
        lastMeasured: 1,
        openBatch: 1,
        system: 'herald',
        heraldPush: push,
        heraldView: 'full',
      },
      {
        onSnapshot: (tag) => {
          onState(tag?.seq);
        },
        onError: (e) => {
          onError(e);
        },
      },
    );
    await within(`the first message of --herald-push ${push}`, first);
    const second = next();
    await writer.issue(SERVICE, { seq: 1, issuedAtMs: Date.now() });
    const seq = await within(`the push after a change with --herald-push ${push}`, second);
    return seq === 1 ? undefined : `--herald-push ${push}: after change 1 the subscriber held change ${String(seq)}`;
  } catch (e) {
    return `--herald-push ${push}: ${e instanceof Error ? e.message : String(e)}`;
  } finally {
    close();
    writer.close();
  }
}

/** The problems with the variants on this herald (empty when it has them all); starts and stops a server of its own. */
export async function heraldVariantProblems(herald: System, push: HeraldPush, renew: RenewMode): Promise<string[]> {
  if (push === 'snapshot' && renew === 'unary') return [];
  const server = await herald.start();
  try {
    const problems = [
      renew === 'stream' ? await checkRenew(herald, server.address, renew) : undefined,
      push === 'snapshot' ? undefined : await checkPush(herald, server.address, push),
    ];
    return problems.filter((p): p is string => p !== undefined);
  } finally {
    await server.stop();
  }
}
