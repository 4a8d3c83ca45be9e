// Sign-in: MSAL.js against Microsoft Entra ID (config.json names the app registration), or,
// on the local host only, its development sign-in page. Either way the access token is kept
// in sessionStorage under TOKEN_KEY, where the MSA callback page of the API reads it.
export const TOKEN_KEY = 'competency-suite.accessToken';
export const PARTNER_KEY = 'competency-suite.partnerId';

let config = null;
let msalApp = null;

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = src;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`Could not load ${src}`));
    document.head.append(script);
  });
}

export async function initAuth() {
  const response = await fetch('config.json', { cache: 'no-store' });
  config = await response.json();
  if (config.signIn === 'local') {
    // The local host's sign-in page returns the token in the fragment, never sent anywhere.
    if (location.hash.startsWith('#access_token=')) {
      const params = new URLSearchParams(location.hash.slice(1));
      sessionStorage.setItem(TOKEN_KEY, params.get('access_token'));
      if (params.get('partner')) sessionStorage.setItem(PARTNER_KEY, params.get('partner'));
      history.replaceState(null, '', `${location.pathname}#/competencies`);
    }
    return;
  }
  if (!config.clientId) throw new Error('The portal is not configured: config.json names no clientId (the Entra ID app registration).');
  await loadScript('vendor/msal-browser.min.js');
  msalApp = new window.msal.PublicClientApplication({
    auth: { clientId: config.clientId, authority: config.authority, redirectUri: `${location.origin}/` },
    cache: { cacheLocation: 'sessionStorage' },
  });
  await msalApp.initialize();
  const result = await msalApp.handleRedirectPromise();
  if (result) {
    msalApp.setActiveAccount(result.account);
    sessionStorage.setItem(TOKEN_KEY, result.accessToken);
  } else if (!msalApp.getActiveAccount() && msalApp.getAllAccounts().length) {
    msalApp.setActiveAccount(msalApp.getAllAccounts()[0]);
  }
}

export function signIn() {
  if (config.signIn === 'local') {
    const partner = sessionStorage.getItem(PARTNER_KEY);
    location.assign(`${config.signInUrl}/${partner ? `?partner=${encodeURIComponent(partner)}` : ''}`);
  } else {
    msalApp.loginRedirect({ scopes: config.scopes, prompt: 'select_account' });
  }
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  if (msalApp && msalApp.getActiveAccount()) {
    msalApp.logoutRedirect();
  } else {
    location.assign('/');
  }
}

// A fresh token for the next call (MSAL renews silently; the local token lives an hour).
export async function accessToken() {
  if (msalApp && msalApp.getActiveAccount()) {
    try {
      const result = await msalApp.acquireTokenSilent({ scopes: config.scopes });
      sessionStorage.setItem(TOKEN_KEY, result.accessToken);
    } catch (error) {
      if (error instanceof window.msal.InteractionRequiredAuthError) {
        await msalApp.acquireTokenRedirect({ scopes: config.scopes });
      }
      throw error;
    }
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

// What the token says about its holder (display only: the API decides what they may do).
export function signedIn() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return null;
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(decodeURIComponent(escape(atob(part))));
    if (claims.exp && claims.exp * 1000 < Date.now()) return null;
    return {
      tenantId: claims.tid,
      userId: claims.oid,
      name: claims.name || claims.preferred_username || claims.oid,
      roles: claims.roles || [],
    };
  } catch {
    return null;
  }
}
