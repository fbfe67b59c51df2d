// A real OpenID provider for the tests: oidc-provider (a certified implementation), with test
// users, a groups claim in the ID token, and a login page a plain HTTP client can fill in.
//   OIDC_PORT     listen on 127.0.0.1:PORT
//   OIDC_ISSUER   the issuer (default http://127.0.0.1:PORT)
//   OIDC_CLIENTS  JSON: [{ "client_id", "client_secret", "redirect_uris": [...] }]
//   OIDC_USERS    JSON: { "accountId": { "email", "email_verified", "name", "groups": [...] } }
// GET /interaction/:uid shows a form (input "login", button "sign-in"); POST
// /interaction/:uid/login with login=ACCOUNT signs in and grants what the client asked for.
import crypto from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../.tools/', import.meta.url));
const { default: Provider } = await import(require.resolve('oidc-provider'));

const port = Number(process.env.OIDC_PORT);
const issuer = process.env.OIDC_ISSUER || `http://127.0.0.1:${port}`;
const users = JSON.parse(process.env.OIDC_USERS || '{}');
const clients = JSON.parse(process.env.OIDC_CLIENTS || '[]').map((c) => ({
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  ...c,
}));

// A signing key of its own at every start (a new key id), as a provider that rotates keys.
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signing = { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [signing] },
  async findAccount(ctx, id) {
    const user = users[id];
    if (!user) return undefined;
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: user.email,
          email_verified: user.email_verified,
          name: user.name || id,
          groups: user.groups || [],
        };
      },
    };
  },
  // The groups claim comes with openid, so it is in every ID token, as Okta or Keycloak
  // configured with a groups mapper send it.
  claims: { openid: ['sub', 'groups'], email: ['email', 'email_verified'], profile: ['name'] },
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false } },
  pkce: { required: () => true },
  cookies: { keys: ['daypass-test-provider-cookie-key'] },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: { IdToken: Number(process.env.OIDC_ID_TOKEN_TTL || 3600) },
});

const page = (uid, error) => `<!doctype html><html><body><h1>Test identity provider</h1>
${error ? `<p class="error">${error}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
<label>Login <input name="login" id="login" autofocus></label>
<button type="submit" id="sign-in">Sign in</button></form></body></html>`;

async function finish(req, res, accountId) {
  const details = await provider.interactionDetails(req, res);
  const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}

function body(req) {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (c) => { data += c; });
    req.on('end', () => resolve(new URLSearchParams(data)));
  });
}

const callback = provider.callback();
const server = http.createServer(async (req, res) => {
  const m = req.url.match(/^\/interaction\/([\w-]+)(\/login)?$/);
  if (!m) return callback(req, res);
  try {
    const details = await provider.interactionDetails(req, res);
    if (req.method === 'GET') {
      if (details.prompt.name === 'consent' && details.session?.accountId) {
        return await finish(req, res, details.session.accountId);
      }
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(page(m[1]));
    }
    const login = (await body(req)).get('login') || '';
    if (!users[login]) {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(page(m[1], 'No such user.'));
    }
    return await finish(req, res, login);
  } catch (e) {
    res.writeHead(400, { 'content-type': 'text/plain' });
    return res.end(`interaction failed: ${e.message}`);
  }
});

server.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on http://127.0.0.1:${port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
