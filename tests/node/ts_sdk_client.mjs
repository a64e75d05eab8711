// An MCP client built on the TypeScript SDK (@modelcontextprotocol/sdk) that signs in headlessly.
//
//   node ts_sdk_client.mjs <mcp url> <seconds to wait before the last call>
//
// It starts unauthenticated, so the server's 401 sends the SDK through the whole OAuth flow:
// protected resource metadata, authorization server metadata, dynamic client registration,
// PKCE S256 and the `resource` parameter. `redirectToAuthorization` plays the browser against
// oidc-provider's auto-consent interaction (following redirects by hand with the cookies it
// sets) until it is sent to our redirect URI, and keeps the code. After the token exchange the
// client lists and calls tools, waits until the access token has expired, and calls again: the
// server answers 401, and the SDK must refresh the token and retry. Prints one JSON line.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

const [serverUrl, waitArg] = process.argv.slice(2);
const waitSeconds = Number(waitArg ?? 0);
const REDIRECT = 'http://127.0.0.1:9/oauth/callback'; // never contacted

const trace = [];
const tracingFetch = async (url, init) => {
  const response = await fetch(url, init);
  trace.push(`${init?.method ?? 'GET'} ${new URL(String(url)).pathname} ${response.status}`);
  return response;
};

class HeadlessProvider {
  constructor() {
    this.saved = { client: undefined, tokens: undefined, verifier: undefined };
    this.code = undefined;
    this.stateValue = crypto.randomUUID();
    this.tokenHistory = [];
    this.authorizationParams = {};
  }
  get redirectUrl() {
    return REDIRECT;
  }
  get clientMetadata() {
    return {
      client_name: 'mcp-tools interop (TypeScript SDK)',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  state() {
    return this.stateValue;
  }
  clientInformation() {
    return this.saved.client;
  }
  saveClientInformation(info) {
    this.saved.client = info;
  }
  tokens() {
    return this.saved.tokens;
  }
  saveTokens(tokens) {
    this.saved.tokens = tokens;
    this.tokenHistory.push(tokens.access_token);
  }
  saveCodeVerifier(verifier) {
    this.saved.verifier = verifier;
  }
  codeVerifier() {
    return this.saved.verifier;
  }
  async redirectToAuthorization(authorizationUrl) {
    this.authorizationParams = Object.fromEntries(authorizationUrl.searchParams);
    const cookies = new Map();
    let url = authorizationUrl.toString();
    for (let hop = 0; hop < 12; hop += 1) {
      const cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
      const response = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
      for (const line of response.headers.getSetCookie()) {
        const [pair] = line.split(';');
        const index = pair.indexOf('=');
        cookies.set(pair.slice(0, index).trim(), pair.slice(index + 1).trim());
      }
      const location = response.headers.get('location');
      if (!location) throw new Error(`no redirect from ${url}: ${response.status}`);
      const next = new URL(location, url);
      if (next.toString().startsWith(REDIRECT)) {
        if (next.searchParams.get('state') !== this.stateValue) throw new Error('state mismatch');
        if (next.searchParams.get('error')) throw new Error(`authorization failed: ${next.searchParams.get('error')}`);
        this.code = next.searchParams.get('code');
        return;
      }
      url = next.toString();
    }
    throw new Error('too many redirects at the authorization server');
  }
}

const text = (result) => result.content.filter((c) => c.type === 'text').map((c) => c.text).join('');

async function main() {
  const provider = new HeadlessProvider();
  const url = new URL(serverUrl);
  const first = new StreamableHTTPClientTransport(url, { authProvider: provider, fetch: tracingFetch });
  const client = new Client({ name: 'mcp-tools-interop-ts', version: '1.0.0' });
  let unauthorized = false;
  try {
    await client.connect(first);
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error;
    unauthorized = true;
  }
  if (!unauthorized || !provider.code) throw new Error('expected the 401 to start the OAuth flow');
  await first.finishAuth(provider.code);

  const transport = new StreamableHTTPClientTransport(url, { authProvider: provider, fetch: tracingFetch });
  const session = new Client({ name: 'mcp-tools-interop-ts', version: '1.0.0' });
  await session.connect(transport);
  const tools = (await session.listTools()).tools.map((t) => t.name);
  const whoami = text(await session.callTool({ name: 'whoami', arguments: {} }));
  const simple = text(await session.callTool({ name: 'test_simple_text', arguments: {} }));
  const tokensBefore = provider.tokenHistory.length;
  await new Promise((resolve) => setTimeout(resolve, waitSeconds * 1000));
  const afterExpiry = text(await session.callTool({ name: 'whoami', arguments: {} }));
  await session.close();
  return {
    ok: true,
    protocolVersion: transport.protocolVersion ?? null,
    tools,
    whoami,
    simple,
    afterExpiry,
    refreshed: provider.tokenHistory.length > tokensBefore,
    distinctTokens: new Set(provider.tokenHistory).size,
    registeredClient: Boolean(provider.saved.client?.client_id),
    authorization: {
      code_challenge_method: provider.authorizationParams.code_challenge_method ?? null,
      resource: provider.authorizationParams.resource ?? null,
      scope: provider.authorizationParams.scope ?? null,
    },
    trace,
  };
}

main().then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  },
  (error) => {
    process.stdout.write(`${JSON.stringify({ ok: false, error: String(error?.stack ?? error), trace })}\n`);
    process.exit(1);
  },
);
