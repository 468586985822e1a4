/**
 * The page's calls to the server: JSON requests with the bearer token, and the event stream read
 * with fetch (not EventSource, which cannot send an Authorization header: a token in the URL would
 * end up in logs and history). The token lives in sessionStorage: this tab only, gone when it closes.
 */
import { ACTION_HEADER, type ErrorJson } from './protocol.js';

const TOKEN_KEY = 'herald.console.token';

export function token(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export function setToken(value: string | undefined): void {
  if (value === undefined) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, value);
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const t = token();
  return t === undefined ? extra : { ...extra, authorization: `Bearer ${t}` };
}

async function errorOf(res: Response): Promise<HttpError> {
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = (await res.json()) as Partial<ErrorJson>;
    if (typeof body.error === 'string') message = body.error;
  } catch {
    // not JSON: keep the status line
  }
  return new HttpError(res.status, message);
}

export async function getJson<T>(path: string, query: Record<string, string> = {}): Promise<T> {
  const qs = new URLSearchParams(query).toString();
  const res = await fetch(qs === '' ? path : `${path}?${qs}`, { headers: headers(), cache: 'no-store' });
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as T;
}

/** A console action or the login: JSON in, JSON out, with the header that proves it came from the page. */
export async function send<T>(method: 'POST' | 'PUT' | 'DELETE', path: string, body: unknown): Promise<T> {
  const res = await fetch(path, { method, headers: headers({ 'content-type': 'application/json', [ACTION_HEADER]: '1' }), body: JSON.stringify(body), cache: 'no-store' });
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as T;
}

/**
 * Reads the event stream until it ends, `signal` aborts, or it fails (an HttpError for a refusal).
 * Events are handed over in order; comments (keep-alives) are skipped.
 */
export async function readEvents(path: string, query: Record<string, string>, onEvent: (name: string, data: string) => void, signal: AbortSignal): Promise<void> {
  const res = await fetch(`${path}?${new URLSearchParams(query).toString()}`, { headers: headers({ accept: 'text/event-stream' }), cache: 'no-store', signal });
  if (!res.ok) throw await errorOf(res);
  if (res.body === null) throw new HttpError(0, 'the event stream has no body');
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        if (line.startsWith('event: ')) name = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length > 0) onEvent(name, data.join('\n'));
      end = buffer.indexOf('\n\n');
    }
  }
}
