// The portal's shell: sign-in state, the partner in view, navigation, the at-risk banner.
import { call, enc, Problem } from './api.js';
import { initAuth, PARTNER_KEY, signedIn, signIn, signOut } from './auth.js';
import { PAGES } from './pages.js';
import { el, problemBox } from './ui.js';

export const RENEWAL_AT_RISK = 'A recent change to your competency achievement has put your membership renewal eligibility at risk';

function context() {
  const who = signedIn();
  const roles = who ? who.roles : [];
  return {
    who,
    partnerId: sessionStorage.getItem(PARTNER_KEY) || '',
    isAdmin: roles.includes('Partner.Admin'),
    isOperator: roles.includes('Program.Operator'),
    refresh: () => route(),
  };
}

function renderHeader(ctx, current) {
  const nav = document.getElementById('nav');
  nav.replaceChildren(
    ...PAGES.filter((p) => ctx.who && p.visible(ctx)).map((p) =>
      el('li', {}, el('a', { href: `#/${p.id}`, 'aria-current': p.id === current ? 'page' : null, text: p.title })),
    ),
  );
  const who = document.getElementById('who');
  if (!ctx.who) {
    who.replaceChildren(el('button', { type: 'button', onclick: signIn, text: 'Sign in' }));
    return;
  }
  const partner = el('input', { id: 'partner', name: 'partner', value: ctx.partnerId, autocomplete: 'off', size: 16 });
  const form = el(
    'form',
    {
      class: 'partner',
      onsubmit: (event) => {
        event.preventDefault();
        sessionStorage.setItem(PARTNER_KEY, partner.value.trim());
        route();
      },
    },
    el('label', { for: 'partner', text: 'Partner id' }),
    partner,
    el('button', { type: 'submit', text: 'Show' }),
  );
  who.replaceChildren(
    el('span', { class: 'name', text: `${ctx.who.name}${ctx.who.roles.length ? ` (${ctx.who.roles.join(', ')})` : ''}` }),
    form,
    el('button', { type: 'button', onclick: signOut, text: 'Sign out' }),
  );
}

async function renderBanner(ctx) {
  const banner = document.getElementById('banner');
  banner.replaceChildren();
  if (!ctx.who || !ctx.partnerId) return;
  try {
    const membership = await call('GET', `/partners/${enc(ctx.partnerId)}/membership`);
    if (membership.renewalAtRisk) {
      banner.replaceChildren(
        el('div', { class: 'at-risk', role: 'alert' }, el('strong', { text: RENEWAL_AT_RISK }), el('a', { href: '#/competencies', text: 'See what changed' })),
      );
    }
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
  }
}

let rendering = 0;

export async function route() {
  const ticket = ++rendering;
  const hash = location.hash.startsWith('#/') ? location.hash.slice(2) : '';
  const ctx = context();
  const page = PAGES.find((p) => p.id === hash && ctx.who && p.visible(ctx)) || PAGES[0];
  renderHeader(ctx, ctx.who ? page.id : '');
  const main = document.getElementById('view');
  const heading = el('h1', { text: ctx.who ? page.title : 'Competency portal' });
  const body = el('div', { class: 'page', 'aria-busy': 'true' });
  main.replaceChildren(heading, body);
  document.title = `${heading.textContent} · Competency portal`;
  if (!ctx.who) {
    body.append(
      el('p', { text: 'Sign in with your work account to see your organisation\u2019s competencies, users and membership.' }),
      el('button', { type: 'button', onclick: signIn, text: 'Sign in' }),
    );
    body.removeAttribute('aria-busy');
    return;
  }
  renderBanner(ctx);
  try {
    if (page.needsPartner && !ctx.partnerId) {
      body.append(el('p', { text: 'Enter a partner id above to see this page.' }));
    } else {
      await page.render(body, ctx);
    }
  } catch (error) {
    if (ticket !== rendering) return;
    body.append(problemBox(error instanceof Problem ? error : { title: 'The page failed', detail: String(error) }));
  } finally {
    body.removeAttribute('aria-busy');
  }
  if (ticket === rendering && document.activeElement !== document.body && !main.contains(document.activeElement)) {
    heading.setAttribute('tabindex', '-1');
    heading.focus();
  }
}

window.addEventListener('hashchange', () => {
  if (location.hash.startsWith('#/')) {
    route().then(() => {
      const heading = document.querySelector('main h1');
      heading.setAttribute('tabindex', '-1');
      heading.focus();
    });
  }
});

initAuth()
  .then(route)
  .catch((error) => {
    document.getElementById('view').replaceChildren(el('h1', { text: 'Competency portal' }), problemBox({ title: 'Sign-in is not available', detail: String(error.message || error) }));
  });
