// A relying party built on openid-client (npm), which internal/server's
// TestOIDCNodeOpenIDClient runs against a real Gatehouse server. It talks
// to the test over its standard streams, one JSON object per line: it
// prints {"step": "authorize", "url"} and reads {"callback"} (the test's
// browser signs in and consents on the real pages, and hands back the URL
// it was redirected to), then checks everything openid-client checks and
// prints {"step": "done", ...} with what it got, or an error on stderr and
// exit status 1.
//
// Environment: ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI,
// POST_LOGOUT_REDIRECT_URI, ID_TOKEN_ALG (optional), TEST_DOMAIN (the
// domain whose hosts are the test server, on the loopback address).
import dns from 'node:dns';
import readline from 'node:readline';
import * as client from 'openid-client';

const env = process.env;

// The test domain is not in DNS: its hosts are the test server, on the
// loopback address, as the test's Go clients dial them.
const lookup = dns.lookup;
dns.lookup = (host, options, callback) => {
  if (typeof options === 'function') {
    callback = options;
    options = {};
  }
  if (host === env.TEST_DOMAIN || host.endsWith('.' + env.TEST_DOMAIN)) {
    if (options && options.all) {
      return process.nextTick(callback, null, [{ address: '127.0.0.1', family: 4 }]);
    }
    return process.nextTick(callback, null, '127.0.0.1', 4);
  }
  return lookup(host, options, callback);
};

const input = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();

function say(step, fields) {
  process.stdout.write(JSON.stringify({ step, ...fields }) + '\n');
}

async function ask(step, fields) {
  say(step, fields);
  const { value, done } = await input.next();
  if (done) {
    throw new Error(`no answer to ${step}`);
  }
  return JSON.parse(value);
}

async function main() {
  const metadata = { client_secret: env.CLIENT_SECRET };
  if (env.ID_TOKEN_ALG) {
    metadata.id_token_signed_response_alg = env.ID_TOKEN_ALG;
  }
  // Discovery; plain HTTP is the test server's; ID token signatures are
  // checked against the JWKS (openid-client skips that by default for
  // tokens it got straight from the token endpoint).
  const config = await client.discovery(new URL(env.ISSUER), env.CLIENT_ID, metadata,
    client.ClientSecretBasic(env.CLIENT_SECRET),
    { execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks] });

  const verifier = client.randomPKCECodeVerifier();
  const nonce = client.randomNonce();
  const state = client.randomState();
  const maxAge = 3600;
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: env.REDIRECT_URI,
    scope: 'openid profile email',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    nonce,
    state,
    max_age: String(maxAge),
  });
  const { callback } = await ask('authorize', { url: url.href });

  // The code for tokens: state, iss (RFC 9207), PKCE, and the ID token's
  // signature, iss, aud, exp, iat, nonce and auth_time (max_age).
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: verifier,
    expectedNonce: nonce,
    expectedState: state,
    maxAge,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);

  // A refresh: a new ID token, checked the same way, about the same user.
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  const refreshedClaims = refreshed.claims();
  if (!refreshedClaims || refreshedClaims.sub !== claims.sub) {
    throw new Error('the refreshed ID token is not about the same user');
  }

  // RP-initiated logout: the URL to send the browser to.
  const logout = client.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: env.POST_LOGOUT_REDIRECT_URI,
    state: 'bye',
  });
  say('done', {
    header: JSON.parse(Buffer.from(tokens.id_token.split('.')[0], 'base64url').toString()),
    claims,
    userinfo,
    refreshed: refreshedClaims,
    logout: logout.href,
  });
}

main().then(() => process.exit(0), (err) => {
  console.error(err && err.stack ? err.stack : String(err));
  if (err && err.cause) {
    console.error('cause:', err.cause);
  }
  process.exit(1);
});
