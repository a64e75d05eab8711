// Preload for the MCP conformance harness, which has no auth options: every HTTP request it
// makes to an origin starting with $MCP_BEARER_ORIGIN (default http://127.0.0.1) carries
// `Authorization: Bearer $MCP_BEARER_TOKEN`. It replaces undici's global dispatcher, which both
// the built-in fetch and direct undici.request calls use.
//
//   MCP_BEARER_TOKEN=... NODE_OPTIONS="--import /abs/path/inject_bearer.mjs" conformance server --url ...
import { Agent, setGlobalDispatcher } from 'undici';

const token = process.env.MCP_BEARER_TOKEN;
const origin = process.env.MCP_BEARER_ORIGIN ?? 'http://127.0.0.1';
const value = `Bearer ${token}`;

function isAuthorization(name) {
  return String(name).toLowerCase() === 'authorization';
}

function withAuthorization(headers) {
  if (headers == null) return { authorization: value };
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      return [...headers.filter(([name]) => !isAuthorization(name)), ['authorization', value]];
    }
    const flat = [];
    for (let i = 0; i < headers.length; i += 2) {
      if (!isAuthorization(headers[i])) flat.push(headers[i], headers[i + 1]);
    }
    return [...flat, 'authorization', value];
  }
  const entries = typeof headers[Symbol.iterator] === 'function' ? [...headers] : Object.entries(headers);
  const result = {};
  for (const [name, item] of entries) if (!isAuthorization(name)) result[name] = item;
  result.authorization = value;
  return result;
}

if (token) {
  const inject = (dispatch) => (opts, handler) => {
    const target = String(opts.origin ?? '');
    if (!target.startsWith(origin)) return dispatch(opts, handler);
    return dispatch({ ...opts, headers: withAuthorization(opts.headers) }, handler);
  };
  setGlobalDispatcher(new Agent().compose(inject));
}
