// The one way the portal talks to the suite: the HTTP API under /api, with the caller's token.
import { accessToken } from './auth.js';

export class Problem extends Error {
  constructor(status, body, correlationId) {
    super(body.detail || body.title || `HTTP ${status}`);
    this.status = status;
    this.title = body.title || `HTTP ${status}`;
    this.detail = body.detail || '';
    this.errors = Array.isArray(body.errors) ? body.errors : [];
    this.correlationId = body.correlationId || correlationId || '';
  }
}

export async function call(method, path, { json, body, headers = {}, raw = false } = {}) {
  const token = await accessToken();
  const init = { method, headers: { Accept: 'application/json', ...headers }, credentials: 'omit' };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (json !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(json);
  } else if (body !== undefined) {
    init.body = body;
  }
  let response;
  try {
    response = await fetch(`/api${path}`, init);
  } catch {
    throw new Problem(0, { title: 'The service could not be reached', detail: 'Check the connection and try again.' });
  }
  if (!response.ok) {
    let problem = {};
    try {
      problem = await response.json();
    } catch {
      problem = { title: response.statusText };
    }
    throw new Problem(response.status, problem, response.headers.get('X-Correlation-Id'));
  }
  if (raw) return response;
  if (response.status === 204) return null;
  return response.json();
}

export const enc = encodeURIComponent;
