// Typed calls to the platform's API (/api/v1), with types generated from its
// OpenAPI document (schema.d.ts, `npm run gen:api`). The session is an HttpOnly
// cookie the browser sends by itself; every request that changes state carries the
// session's CSRF token in X-CSRF-Token.
import type { components, paths } from './schema';

export type Schemas = components['schemas'];
export type Paths = paths;

/** An error answer of the platform: `{code, message}` in Chinese. */
export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public details: string[] = [],
  ) {
    super(message);
  }
}

let csrf = '';
/** Remembers the session's CSRF token (from POST or GET /session). */
export function setCsrf(token: string) {
  csrf = token;
}

/** Called when the session is gone (401): the app returns to the sign-in page. */
let onSignedOut: () => void = () => {};
export function whenSignedOut(f: () => void) {
  onSignedOut = f;
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

async function request(method: Method, path: string, body?: BodyInit | object, type?: string): Promise<Response> {
  const headers: Record<string, string> = {};
  let payload: BodyInit | undefined;
  if (body instanceof Blob || typeof body === 'string' || body instanceof ArrayBuffer) {
    payload = body as BodyInit;
    headers['content-type'] = type ?? 'application/octet-stream';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
  const resp = await fetch(`/api/v1${path}`, { method, headers, body: payload, credentials: 'same-origin' });
  if (!resp.ok) {
    let code = 'http_' + resp.status;
    let message = `请求失败（HTTP ${resp.status}）`;
    let details: string[] = [];
    try {
      const e = (await resp.json()) as Schemas['ErrorBody'];
      code = e.code;
      message = e.message;
      details = e.details ?? [];
    } catch {
      /* not JSON */
    }
    if (resp.status === 401 && !path.startsWith('/session')) onSignedOut();
    throw new ApiError(resp.status, code, message, details);
  }
  return resp;
}

/** JSON answer of `path`. */
export async function get<T>(path: string): Promise<T> {
  return (await request('GET', path)).json() as Promise<T>;
}
export async function post<T>(path: string, body?: BodyInit | object, type?: string): Promise<T> {
  const r = await request('POST', path, body ?? {}, type);
  return (r.status === 204 ? undefined : r.json()) as Promise<T>;
}
export async function put<T>(path: string, body: object): Promise<T> {
  const r = await request('PUT', path, body);
  return (r.status === 204 ? undefined : r.json()) as Promise<T>;
}
export async function del(path: string): Promise<void> {
  await request('DELETE', path);
}
/** A file (XLSX, CSV, PDF, photo) as a blob. */
export async function blob(path: string): Promise<Blob> {
  return (await request('GET', path)).blob();
}

/** Saves a blob under `name` (a download in the browser). */
export function save(b: Blob, name: string) {
  const url = URL.createObjectURL(b);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
