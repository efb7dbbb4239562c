/**
 * Signs a persona in at the development IdP without a browser: follows the
 * authorization redirects with a cookie jar, posts the login form, and stops
 * at the redirect back to Warden, whose URL it returns (code, state, iss).
 */
export async function signInAtDevIdp(authorizationUrl: URL, login: string, redirectPrefix: string, jar: Map<string, string> = new Map()): Promise<URL> {
  let url = authorizationUrl.href;
  let method = 'GET';
  let body: string | undefined;
  for (let hop = 0; hop < 12; hop++) {
    const res = await fetch(url, {
      method,
      redirect: 'manual',
      headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(body ? { body } : {}),
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      jar.set(pair!.slice(0, i), pair!.slice(i + 1));
    }
    const location = res.headers.get('location');
    if (location) {
      const next = new URL(location, url);
      if (next.href.startsWith(redirectPrefix)) return next;
      url = next.href;
      method = 'GET';
      body = undefined;
      continue;
    }
    const text = await res.text();
    const action = /<form method="post" action="([^"]+)"/.exec(text)?.[1];
    if (res.status !== 200 || !action) throw new Error(`the development IdP answered ${res.status} at ${url}: ${text.slice(0, 300)}`);
    url = new URL(action.replace(/&amp;/g, '&'), url).href;
    method = 'POST';
    body = new URLSearchParams({ login, password: 'demo' }).toString();
  }
  throw new Error('too many redirects at the development IdP');
}
