// The Loopai HTTP API as the dashboard uses it: JSON in and out, the admin key from localStorage, and errors
// that keep the server's code and message.

const KEY_STORAGE = 'loopai.adminKey';

export const getKey = () => localStorage.getItem(KEY_STORAGE) ?? '';

export function setKey(key) {
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
}

/** An error answer of the API: `{error: {code, message, details}}`, or what stood in for it. */
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** 401: no key, or a key the server does not know. */
  get needsKey() {
    return this.status === 401;
  }

  /** The server has no such route: an endpoint this server version does not offer. */
  get notAvailable() {
    return this.status === 404 && this.code === 'not_found' && /^no route for /.test(this.message);
  }
}

async function request(method, path, body) {
  const headers = { accept: 'application/json' };
  const key = getKey();
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new ApiError(0, 'network_error', `the server could not be reached (${err.message})`);
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: an error page from something in front of the server; its text is the message
  }
  if (res.ok) return data;
  const error = data && typeof data === 'object' ? data.error : null;
  if (error && typeof error === 'object') {
    throw new ApiError(
      res.status,
      error.code ?? 'error',
      error.message ?? `HTTP ${res.status}`,
      error.details,
    );
  }
  throw new ApiError(res.status, 'http_error', `HTTP ${res.status}: ${text.slice(0, 200) || res.statusText}`);
}

const app = (id) => `/loop-apps/${encodeURIComponent(id)}`;
const ver = (id, version) => `${app(id)}/versions/${encodeURIComponent(version)}`;

export const api = {
  listApps: () => request('GET', '/loop-apps'),
  app: (id) => request('GET', app(id)),
  patchApp: (id, settings) => request('PATCH', app(id), settings),
  setStatus: (id, action) => request('POST', `${app(id)}/${action}`),
  versions: (id) => request('GET', `${app(id)}/versions`),
  version: (id, version) => request('GET', ver(id, version)),
  /** `force` activates a deprecated version (without it the server answers 409 version_deprecated). */
  activate: (id, version, force = false) =>
    request('POST', `${ver(id, version)}/activate`, force ? { force: true } : undefined),
  deprecate: (id, version, reason) =>
    request('POST', `${ver(id, version)}/deprecate`, reason ? { reason } : {}),
  reinstate: (id, version) => request('POST', `${ver(id, version)}/reinstate`),
  /** A new version from the labelled rows: 202 with the job that makes it. */
  regenerate: (id) => request('POST', `${app(id)}/versions`, { regenerate: true }),
  /** A new app from a spec and labelled examples: 202 with the job that makes its first version. */
  createApp: (spec) => request('POST', '/loop-apps', spec),
  addExamples: (id, examples) => request('POST', `${app(id)}/examples`, { examples }),
  job: (jobId) => request('GET', `/jobs/${encodeURIComponent(jobId)}`),
  rollback: (id, force = false) =>
    request('POST', `${app(id)}/rollback`, force ? { force: true } : undefined),
  execute: (id, input) => request('POST', `${app(id)}/execute`, { input }),
  executions: (id, limit = 25) => request('GET', `${app(id)}/executions?limit=${limit}`),
  analytics: (id) => request('GET', `${app(id)}/analytics`),
  disagreements: (id, limit = 25) => request('GET', `${app(id)}/validations?correct=false&limit=${limit}`),
  reviewQueue: (id, limit = 25) => request('GET', `${app(id)}/review-queue?limit=${limit}`),
  feedback: (id, executionId, expected) =>
    request('POST', `${app(id)}/feedback`, { execution_id: executionId, expected_output: expected }),
  validate: (id) => request('POST', `${app(id)}/validate`),
  events: (id, limit = 25) => request('GET', `${app(id)}/events?limit=${limit}`),
  sharedArtifacts: () => request('GET', '/shared/artifacts'),
};

/** Runs a request and hands back `{data}` or `{error}`, so one failing panel does not stop the others. */
export async function settle(promise) {
  try {
    return { data: await promise };
  } catch (error) {
    if (error instanceof ApiError) return { error };
    return { error: new ApiError(0, 'client_error', String(error?.message ?? error)) };
  }
}
