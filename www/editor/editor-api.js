// The in-page editor's client for the collector: the one-time code for an editor token, then
// that experiment's definition, save (If-Match), preview link and start, with the token as a
// bearer header. Never with cookies (`credentials: 'omit'`): the shop may be another origin.
// Every request is bounded in time. Answers come back as {status, body, etag}.

const TIMEOUT_MS = 15000;
/** The tab's editor credential: {token, experiment, expires, collector}. */
export const STORAGE_KEY = 'splitbeam_editor';

async function call(url, { method = 'GET', token, etag, body } = {}) {
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (etag) headers['if-match'] = etag;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(url, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      mode: 'cors', credentials: 'omit', cache: 'no-store', signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    return { status: 0, body: { error: `the collector did not answer (${error.name === 'TimeoutError' ? 'timeout' : error.message})` }, etag: null };
  }
  let parsed;
  try {
    parsed = await response.json();
  } catch {
    parsed = { error: `the collector answered ${response.status}` };
  }
  return { status: response.status, body: parsed, etag: response.headers.get('etag') };
}

/** Trades the link's one-time code for an editor token. */
export const exchangeCode = (collector, code) => call(new URL('api/editor/session', collector), { method: 'POST', body: { code } });

/** The API of one experiment, for the holder of its editor credential. */
export function experimentApi(credential) {
  const base = new URL(`api/editor/experiments/${encodeURIComponent(credential.experiment)}/`, credential.collector);
  const token = credential.token;
  return {
    definition: () => call(new URL('definition', base), { token }),
    save: (etag, experiment) => call(new URL('definition', base), { method: 'PUT', token, etag, body: experiment }),
    start: (etag) => call(new URL('start', base), { method: 'POST', token, etag }),
    previewLink: () => call(new URL('preview-link', base), { method: 'POST', token }),
  };
}

/** The credential kept for this tab, if it has not expired. */
export function storedCredential() {
  try {
    const credential = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || 'null');
    if (credential && typeof credential.token === 'string' && credential.expires * 1000 > Date.now()) return credential;
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // storage blocked or a bad value: the editor then asks for a new link
  }
  return null;
}

export function storeCredential(credential) {
  try {
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(credential));
  } catch {
    // storage blocked: the editor works on this page only
  }
}

export function forgetCredential() {
  try {
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // nothing stored
  }
}
