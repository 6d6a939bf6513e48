// The write API's client: reads experiments as experiments.json has them, and sends each change
// with the session's CSRF token and the file version it was made against (If-Match). Answers are
// returned as {status, body, etag}; the views decide what a 412 or a 422 means for the person.

let csrf = null;

/** The session's CSRF token, fetched once (the server hands it to this origin's script only). */
async function csrfToken() {
  if (csrf) return csrf;
  const response = await fetch('/api/session', { cache: 'no-store', headers: { accept: 'application/json' } });
  if (response.status === 401) throw new SignInNeeded();
  if (!response.ok) throw new Error(`/api/session answered ${response.status}`);
  csrf = (await response.json()).csrf;
  return csrf;
}

/** The session ended (expired, signed out elsewhere): the page sends the person to sign in. */
export class SignInNeeded extends Error {
  constructor() {
    super('sign in');
  }
}

async function answer(response) {
  if (response.status === 401) throw new SignInNeeded();
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = { error: `${response.status} ${response.statusText}` };
  }
  return { status: response.status, body, etag: response.headers.get('etag') };
}

export async function read(url) {
  return answer(await fetch(url, { cache: 'no-store', headers: { accept: 'application/json' } }));
}

/** A write: `method` on `url` with an optional JSON `body`, made against file version `etag` (if given). */
export async function write(method, url, etag, body) {
  const headers = { accept: 'application/json', 'X-CSRF-Token': await csrfToken() };
  if (etag !== undefined) headers['If-Match'] = etag;
  const init = { method, headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  return answer(await fetch(url, init));
}

const enc = encodeURIComponent;

export const api = {
  definitions: () => read('/api/definitions'),
  definition: (key) => read(`/api/experiments/${enc(key)}/definition`),
  history: (key) => read(`/api/history?experiment=${enc(key)}`),
  create: (etag, experiment) => write('POST', '/api/experiments', etag, experiment),
  save: (etag, key, experiment) => write('PUT', `/api/experiments/${enc(key)}/definition`, etag, experiment),
  start: (etag, key) => write('POST', `/api/experiments/${enc(key)}/start`, etag),
  stop: (etag, key) => write('POST', `/api/experiments/${enc(key)}/stop`, etag),
  winner: (etag, key, variant) => write('POST', `/api/experiments/${enc(key)}/winner`, etag, { variant }),
  archive: (etag, key) => write('POST', `/api/experiments/${enc(key)}/archive`, etag),
  revert: (etag, id) => write('POST', `/api/history/${enc(id)}/revert`, etag),
  /** A one-time link that opens `page` with the in-page editor for this experiment (no file write: no If-Match). */
  editorLink: (key, page) => write('POST', `/api/experiments/${enc(key)}/editor-link`, undefined, { page }),
};
