// A real third-party OAuth 2.1 authorization server for the client tests: npm `oidc-provider`.
//
//   node as.mjs [port]        (port 0 = any free port; always 127.0.0.1)
//
// Prints `READY <issuer>` on stdout once it accepts connections. Configuration (env):
//   AS_AUTO_CONSENT=1          no forms: every interaction is approved at once for AS_ACCOUNT
//                              (default "alice"); otherwise the dev-interactions HTML forms
//   AS_ACCOUNT=<sub>           the account auto-consent logs in
//   AS_ACCESS_TOKEN_TTL=<s>    access token lifetime in seconds (default 60)
//   AS_RESOURCE_SCOPES="a b"   scopes a resource server may receive (default "notes:read notes:write")
//
// What it does: open dynamic client registration (RFC 7591), PKCE S256 required for every
// client, RFC 8707 resource indicators with RFC 9068 JWT access tokens whose `aud` is the
// resource, refresh tokens for clients that registered the refresh_token grant, rotated on
// every use, RFC 9207 `iss` in authorization responses. Test-only endpoints under /test/:
//   GET  /test/stats           counts of successful token requests by grant type
//   POST /test/deny-next       the next auto-consent interaction answers access_denied
import http from 'node:http';
import Provider from 'oidc-provider';

const port = Number(process.argv[2] ?? 0);
const autoConsent = process.env.AS_AUTO_CONSENT === '1';
const account = process.env.AS_ACCOUNT ?? 'alice';
const accessTokenTtl = Number(process.env.AS_ACCESS_TOKEN_TTL ?? 60);
const resourceScopes = (process.env.AS_RESOURCE_SCOPES ?? 'notes:read notes:write').split(/\s+/).filter(Boolean);

const stats = { authorization_code: 0, refresh_token: 0, registrations: 0, denied: 0 };
let denyNext = false;

const server = http.createServer();
server.listen(port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [],
    scopes: ['openid', 'offline_access', ...resourceScopes],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: !autoConsent },
      registration: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (ctx, client, oneOf) => (oneOf ? oneOf[0] : undefined),
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resourceIndicator) => ({
          scope: resourceScopes.join(' '),
          audience: resourceIndicator,
          accessTokenTTL: accessTokenTtl,
          accessTokenFormat: 'jwt',
        }),
      },
    },
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: () => true,
    ttl: {
      AccessToken: accessTokenTtl,
      AuthorizationCode: 60,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
      RefreshToken: 3600,
    },
    findAccount: (ctx, id) => ({ accountId: id, claims: () => ({ sub: id }) }),
  });

  provider.on('grant.success', (ctx) => {
    const type = ctx.oidc.params.grant_type;
    if (type in stats) stats[type] += 1;
  });
  provider.on('registration_create.success', () => {
    stats.registrations += 1;
  });

  provider.use(async (ctx, next) => {
    if (ctx.path === '/test/stats' && ctx.method === 'GET') {
      ctx.body = stats;
      return;
    }
    if (ctx.path === '/test/deny-next' && ctx.method === 'POST') {
      denyNext = true;
      ctx.status = 204;
      return;
    }
    if (ctx.path === '/auth' && ctx.method === 'GET' && !ctx.query.scope) {
      // MCP clients may omit scope; oidc-provider would then grant nothing (access_denied).
      ctx.querystring = `${ctx.querystring}&scope=${encodeURIComponent(resourceScopes[0])}`;
    }
    const interaction = ctx.path.match(/^\/interaction\/([^/]+)$/);
    if (autoConsent && interaction && ctx.method === 'GET') {
      const details = await provider.interactionDetails(ctx.req, ctx.res);
      let result;
      if (denyNext) {
        denyNext = false;
        stats.denied += 1;
        result = { error: 'access_denied', error_description: 'the user declined the request' };
      } else {
        const accountId = details.session?.accountId ?? account;
        const grant = details.grantId
          ? await provider.Grant.find(details.grantId)
          : new provider.Grant({ accountId, clientId: details.params.client_id });
        const missing = details.prompt.details;
        if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
        if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
        for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
          grant.addResourceScope(indicator, scopes.join(' '));
        }
        result = { login: { accountId }, consent: { grantId: await grant.save() } };
      }
      const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
      ctx.status = 303;
      ctx.redirect(to);
      return;
    }
    await next();
  });

  server.on('request', provider.callback());
  process.stdout.write(`READY ${issuer}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}
