// A real OpenID Connect provider for Roster's single sign-on tests: panva's oidc-provider (an
// OpenID-certified implementation), on a loopback port, with a configuration the test owns.
//
//   node provider.mjs CONFIG.json
//
// CONFIG.json: { "clients": [{ "client_id", "client_secret", "redirect_uris": [...] }],
//                "users": { "<subject>": { "email", "email_verified", "name", "amr": [...] } } }
//
// It prints `issuer http://127.0.0.1:PORT` once it listens. Its sign-in page asks only for the
// subject (a field `subject`, a button `#sign-in`); consent is pre-agreed for the configured
// clients, as an organisation's own provider does for its own applications.
//
// What a test needs besides a well-behaved provider, under /__test (JSON bodies):
// - POST /__test/users { subject: { claims } }: adds or replaces users;
// - POST /__test/next-token { "mode": ... }: the next token response's ID token is changed and
//   signed again, to prove that Roster refuses it: `expired`, `wrong_key` (signed by a key that
//   is not the provider's, under the provider's key id), `wrong_nonce`, `wrong_audience`,
//   `wrong_issuer`, `replay` (the ID token of the previous sign-in, verbatim);
// - POST /__test/rotate-keys: from now on the provider publishes and signs with a new key only,
//   as a provider rotating its keys does;
// - GET /__test/last-id-token: the last ID token issued, as issued.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const users = new Map(Object.entries(config.users ?? {}));

async function signingKey(kid) {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const jwk = await jose.exportJWK(privateKey);
  return { ...jwk, kid, alg: 'RS256', use: 'sig' };
}

const first = await signingKey('first');
const second = await signingKey('second');
// Not the provider's: same key id as its first key, another key.
const rogue = await signingKey('first');
let rotated = false;
let nextMode = null;
let lastIdToken = null;
let previousIdToken = null;

const publicOf = ({ d, p, q, dp, dq, qi, ...rest }) => rest;

const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: config.clients.map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    redirect_uris: c.redirect_uris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  })),
  jwks: { keys: [first] },
  cookies: { keys: ['roster-test-provider-cookie-key'] },
  pkce: { required: () => true },
  // The claims of the scopes asked for go in the ID token, which is what Roster reads.
  conformIdTokenClaims: false,
  // The claims of each scope. `amr` (how the person was authenticated) comes with `openid`, as
  // providers that report it send it (Entra ID, Keycloak).
  claims: {
    acr: null,
    auth_time: null,
    iss: null,
    sid: null,
    openid: ['sub', 'amr'],
    // `xms_edov`: Microsoft Entra ID's "email domain owner verified", in place of `email_verified`.
    email: ['email', 'email_verified', 'xms_edov'],
    profile: ['name', 'given_name', 'family_name'],
  },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    if (!users.has(sub)) return undefined;
    return {
      accountId: sub,
      async claims() {
        const u = users.get(sub);
        return { sub, ...u, amr: undefined };
      },
    };
  },
  // Consent is pre-agreed: the organisation's provider trusts its own applications.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
  ttl: { IdToken: 300, AccessToken: 300, Session: 600, Interaction: 600, Grant: 600 },
});
provider.proxy = false;

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function resign(idToken, mode) {
  if (mode === 'replay') return previousIdToken ?? idToken;
  const claims = jose.decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  let key = rotated ? second : first;
  if (mode === 'expired') Object.assign(claims, { iat: now - 1200, exp: now - 600 });
  if (mode === 'wrong_key') key = rogue;
  if (mode === 'wrong_nonce') claims.nonce = 'not-the-nonce-roster-sent';
  if (mode === 'wrong_audience') claims.aud = 'another-application';
  if (mode === 'wrong_issuer') claims.iss = 'http://127.0.0.1:1';
  return signWith(claims, key);
}

async function signWith(claims, key) {
  const privateKey = await jose.importJWK(key, 'RS256');
  return new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' }).sign(privateKey);
}

provider.use(async (ctx, next) => {
  const path = ctx.path;
  if (path === '/__test/users' && ctx.method === 'POST') {
    for (const [sub, claims] of Object.entries(JSON.parse(await readBody(ctx.req)))) users.set(sub, claims);
    ctx.status = 204;
    return;
  }
  if (path === '/__test/next-token' && ctx.method === 'POST') {
    nextMode = JSON.parse(await readBody(ctx.req)).mode;
    ctx.status = 204;
    return;
  }
  if (path === '/__test/rotate-keys' && ctx.method === 'POST') {
    rotated = true;
    ctx.status = 204;
    return;
  }
  if (path === '/__test/last-id-token') {
    ctx.body = { id_token: lastIdToken };
    return;
  }
  const interaction = path.match(/^\/interaction\/([^/]+)$/);
  if (interaction && ctx.method === 'GET') {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    ctx.type = 'html';
    ctx.body = `<!doctype html><html><head><title>Test provider: sign in</title></head><body>
      <h1>Test identity provider</h1>
      <form method="post" action="/interaction/${escapeHtml(details.uid)}">
        <label>Subject <input name="subject" id="subject" autofocus></label>
        <button type="submit" id="sign-in">Sign in</button>
      </form></body></html>`;
    return;
  }
  if (interaction && ctx.method === 'POST') {
    const form = new URLSearchParams(await readBody(ctx.req));
    const subject = form.get('subject') ?? '';
    if (!users.has(subject)) {
      ctx.status = 400;
      ctx.body = `no such user at the test provider: ${subject}`;
      return;
    }
    const amr = users.get(subject).amr ?? ['pwd'];
    await provider.interactionFinished(
      ctx.req,
      ctx.res,
      { login: { accountId: subject, amr } },
      { mergeWithLastSubmission: false },
    );
    ctx.respond = false;
    return;
  }
  await next();
  if (path === '/jwks' && rotated) {
    ctx.body = { keys: [publicOf(second)] };
  }
  if (path === '/token' && ctx.status === 200 && ctx.body?.id_token) {
    const mode = nextMode;
    nextMode = null;
    const issued = mode || rotated ? await resign(ctx.body.id_token, mode) : ctx.body.id_token;
    if (!mode) {
      previousIdToken = issued;
    }
    lastIdToken = issued;
    ctx.body = { ...ctx.body, id_token: issued };
  }
});

server.on('request', provider.callback());
process.stdout.write(`issuer ${issuer}\n`);
process.on('SIGTERM', () => process.exit(0));
