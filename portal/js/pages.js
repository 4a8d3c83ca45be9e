// The pages. Each renders into `body` from the API only; errors bubble up as problems.
import { call, enc, Problem } from './api.js';
import { el, field, historyChart, lapseTimeline, problemBox, progressBar, status, table } from './ui.js';

const p = (ctx) => `/partners/${enc(ctx.partnerId)}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const LEVEL = { none: 'No level', silver: 'Silver', gold: 'Gold' };

function section(title, ...children) {
  return el('section', { 'aria-label': title }, el('h2', { text: title }), ...children);
}

// Runs an action, showing its problem (or success text) in `out`.
async function attempt(out, action) {
  out.replaceChildren();
  try {
    const message = await action();
    if (message) out.replaceChildren(status(message));
    return true;
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    out.replaceChildren(problemBox(error));
    return false;
  }
}

// --- Competencies --------------------------------------------------------------------------

async function names(ctx) {
  if (!ctx.isAdmin) return {};
  try {
    const { users } = await call('GET', `${p(ctx)}/users`);
    return Object.fromEntries(users.map((u) => [u.userId, u.displayName]));
  } catch {
    return {};
  }
}

function competencyCard(c, who) {
  const progressed = c.achievedLevel !== 'none' || c.levels.some((l) => l.paths.some((pa) => pa.requirements.some((r) => r.current > 0)));
  const summary = el(
    'summary',
    {},
    el('span', { class: 'comp-name', text: c.name }),
    el('span', { class: `badge ${c.achievedLevel}`, text: LEVEL[c.achievedLevel] }),
    c.atRisk ? el('span', { class: 'badge risk', text: 'At risk' }) : null,
  );
  const levels = c.levels.map((level) =>
    el(
      'div',
      { class: 'level' },
      el('h3', { text: `${LEVEL[level.level]}: ${level.met ? 'met' : 'not met'}${level.override ? ' (override)' : ''}` }),
      level.paths.map((path) =>
        el(
          'div',
          { class: `path ${path.met ? 'met' : ''}` },
          el('h4', { text: `Path ${path.pathId}${path.met ? ' (met)' : ''}` }),
          path.requirements.map((r) =>
            el(
              'div',
              { class: 'requirement' },
              progressBar(r.description, r.current, r.required),
              r.contributors.length
                ? el('p', { class: 'contributors', text: `Contributors: ${r.contributors.map((u) => who[u] || u).join(', ')}` })
                : null,
            ),
          ),
        ),
      ),
    ),
  );
  const gap = c.nextLevel && c.nextLevel.gap ? el('p', { class: 'gap' }, el('strong', { text: `To reach ${c.nextLevel.level}: ` }), c.nextLevel.gap) : null;
  const spof = (c.singlePointsOfFailure || []).length
    ? el(
        'div',
        { class: 'spof' },
        el('h3', { text: 'Single points of failure' }),
        el('p', { text: 'If one of these people leaves, the level is lost:' }),
        el('ul', {}, c.singlePointsOfFailure.map((s) => el('li', { text: `${s.displayName} (${s.level})` }))),
      )
    : null;
  const expiring = (c.expiring || []).length
    ? el(
        'div',
        {},
        el('h3', { text: 'Expiring achievements the level depends on' }),
        el('ul', {}, c.expiring.map((e) => el('li', { text: `${who[e.userId] || e.userId}: ${e.code} expires on ${e.expiresOn}` }))),
      )
    : null;
  return el('details', { class: 'competency', open: progressed }, summary, gap, spof, expiring, levels);
}

async function history(ctx, evaluation) {
  // Shown only where the API has a history endpoint: 404 hides the chart.
  try {
    const answer = await call('GET', `${p(ctx)}/competencies/history`);
    const nights = answer.nights || [];
    if (!nights.length) return null;
    const charts = evaluation.competencies
      .filter((c) => nights.some((n) => (n.competencies || []).some((x) => x.competencyId === c.competencyId && x.achievedLevel !== 'none')))
      .map((c) => {
        const points = nights.map((n) => ({
          date: n.date,
          level: ((n.competencies || []).find((x) => x.competencyId === c.competencyId) || {}).achievedLevel || 'none',
        }));
        return el('figure', {}, historyChart(c.name, points), el('figcaption', { text: `${c.name}: level per night, ${points[0].date} to ${points[points.length - 1].date}` }));
      });
    return section('Progress over time', charts.length ? charts : el('p', { text: 'No level has been held in this period.' }));
  } catch (error) {
    if (error instanceof Problem && error.status === 404) return null;
    throw error;
  }
}

async function competencies(body, ctx) {
  let evaluation;
  const out = el('div');
  if (ctx.isOperator) {
    body.append(
      el('button', {
        type: 'button',
        text: 'Evaluate now',
        onclick: () => attempt(out, async () => {
          await call('POST', `${p(ctx)}/evaluations`);
          ctx.refresh();
        }),
      }),
      out,
    );
  }
  try {
    evaluation = await call('GET', `${p(ctx)}/competencies`);
  } catch (error) {
    if (error instanceof Problem && error.status === 404) {
      body.append(problemBox(error), el('p', { text: 'Competencies show after the first evaluation, which runs every night.' }));
      return;
    }
    throw error;
  }
  const who = await names(ctx);
  body.append(el('p', { class: 'meta', text: `Evaluated at ${evaluation.evaluatedAt} (catalog ${evaluation.catalogVersion}).` }));
  const held = evaluation.competencies.filter((c) => c.achievedLevel !== 'none');
  const lapses = held.map((c) => ({ label: `${c.name} ${c.achievedLevel}`, level: c.achievedLevel, date: c.earliestExpiry }));
  const dated = lapses.filter((l) => l.date);
  body.append(
    section(
      'When held levels lapse',
      held.length === 0 ? el('p', { text: 'No level is held yet.' }) : null,
      dated.length ? el('figure', {}, lapseTimeline(dated), el('figcaption', { text: 'If nothing changes, each held level is held until the day marked, and lapses the day after.' })) : null,
      held.length ? el('ul', {}, lapses.map((l) => el('li', { text: l.date ? `${l.label}: held until ${l.date} (last day)` : `${l.label}: does not lapse on its own` }))) : null,
    ),
  );
  const chart = await history(ctx, evaluation);
  if (chart) body.append(chart);
  body.append(section('Competencies', evaluation.competencies.map((c) => competencyCard(c, who))));
}

// --- Users ---------------------------------------------------------------------------------

function importProgress(state) {
  const counts = state.counts || {};
  const done = (counts.created || 0) + (counts.exists || 0) + (counts.failed || 0);
  const total = done + (counts.pending || 0);
  return el(
    'div',
    { class: 'import' },
    progressBar(`Import ${state.state}`, done, total || 1),
    el('p', { role: 'status', text: `${done} of ${total} rows done: ${counts.created || 0} created, ${counts.exists || 0} already existed, ${counts.failed || 0} failed.` }),
    table(
      'Per-row results',
      ['Row', 'Result', 'User name', 'Error'],
      (state.results || []).map((r) => [String(r.row), r.status, r.userPrincipalName || '', r.error ? r.error.detail || r.error.title || JSON.stringify(r.error) : '']),
    ),
  );
}

function logDownload(ctx, importId) {
  const out = el('div');
  const button = el('button', { type: 'button', class: 'danger', text: 'Download the log once' });
  button.addEventListener('click', () =>
    attempt(out, async () => {
      const response = await call('GET', `${p(ctx)}/imports/${enc(importId)}/log`, { raw: true, headers: { Accept: 'text/csv' } });
      const blob = await response.blob();
      const link = el('a', { href: URL.createObjectURL(blob), download: `import-${importId}-log.csv` });
      document.body.append(link);
      link.click();
      link.remove();
      button.disabled = true;
      return 'The log was downloaded. It cannot be downloaded again: keep the file safe and hand each person their temporary password.';
    }),
  );
  return el(
    'div',
    { class: 'log' },
    el('p', { class: 'warning', id: `warn-${importId}` }, el('strong', { text: 'Works once: ' }), 'the log holds the temporary passwords. It can be downloaded only once, then the passwords are erased. Save it somewhere safe.'),
    button,
    out,
  );
}

async function users(body, ctx) {
  const list = el('div');
  const out = el('div', { class: 'result' });
  const refreshList = async () => {
    const answer = await call('GET', `${p(ctx)}/users`);
    list.replaceChildren(
      table(
        'Users and their Microsoft account (MSA) link',
        ['Name', 'User name', 'MSA', 'Status', 'Action'],
        answer.users.map((u) => [
          u.displayName,
          u.userPrincipalName,
          u.msaLinked ? `linked ${u.msaLinkedAt ? u.msaLinkedAt.slice(0, 10) : ''}` : 'not linked',
          u.status,
          u.status === 'active'
            ? el('button', {
                type: 'button',
                text: 'Remove',
                'aria-label': `Remove ${u.displayName}`,
                onclick: () => {
                  if (!window.confirm(`Remove ${u.displayName}? They stop counting toward competencies.`)) return;
                  attempt(out, async () => {
                    const response = await call('DELETE', `${p(ctx)}/users/${enc(u.userId)}`, { raw: true });
                    const account = response.headers.get('Directory-Account');
                    await refreshList();
                    return account === 'deleted'
                      ? `${u.displayName} was removed; the suite created their directory account, so it was deleted.`
                      : `${u.displayName} was removed; their directory account was kept (the suite did not create it).`;
                  });
                },
              })
            : '',
        ]),
      ),
    );
  };

  const name = el('input', { name: 'displayName', required: true, autocomplete: 'name' });
  const email = el('input', { name: 'email', type: 'email', autocomplete: 'email' });
  const addOne = el(
    'form',
    {
      onsubmit: (event) => {
        event.preventDefault();
        attempt(out, async () => {
          const user = { displayName: name.value.trim() };
          if (email.value.trim()) user.email = email.value.trim();
          const answer = await call('POST', `${p(ctx)}/users`, { json: { users: [user] } });
          out.replaceChildren(importProgress(answer), logDownload(ctx, answer.importId));
          await refreshList();
        });
      },
    },
    field('Display name', name),
    field('Email address (optional)', email),
    el('button', { type: 'submit', text: 'Add user' }),
  );

  const file = el('input', { type: 'file', name: 'csv', accept: '.csv,text/csv', required: true });
  const upload = el(
    'form',
    {
      onsubmit: (event) => {
        event.preventDefault();
        attempt(out, async () => {
          if (!file.files.length) throw new Problem(400, { title: 'No file chosen', detail: 'Choose a CSV export to upload.' });
          const key = crypto.randomUUID();
          let state = await call('POST', `${p(ctx)}/users`, { body: file.files[0], headers: { 'Content-Type': 'text/csv', 'Idempotency-Key': key } });
          const view = el('div');
          out.replaceChildren(view);
          view.replaceChildren(importProgress(state));
          while (state.state === 'running') {
            await sleep(1000);
            state = await call('GET', `${p(ctx)}/imports/${enc(state.importId)}`);
            view.replaceChildren(importProgress(state));
          }
          out.append(logDownload(ctx, state.importId));
          await refreshList();
        });
      },
    },
    el('p', { text: 'Columns: First name, Last name, Email address, Display name (header row required, UTF-8).' }),
    field('CSV file', file),
    el('button', { type: 'submit', text: 'Upload and add users' }),
  );

  body.append(
    section('Add users', el('h3', { text: 'One user' }), addOne, el('h3', { text: 'Many users from a CSV export' }), upload),
    out,
    section('Users', list),
  );
  await refreshList();
}

// --- My account ----------------------------------------------------------------------------

async function account(body, ctx) {
  const out = el('div');
  let link = null;
  try {
    link = await call('GET', '/me/msa-link');
  } catch (error) {
    if (!(error instanceof Problem) || error.status !== 404) throw error;
  }
  const hint = el('input', { name: 'loginHint', type: 'email', autocomplete: 'email' });
  const start = el(
    'form',
    {
      onsubmit: (event) => {
        event.preventDefault();
        attempt(out, async () => {
          const json = hint.value.trim() ? { loginHint: hint.value.trim() } : {};
          const answer = await call('POST', '/me/msa-link', { json });
          location.assign(answer.authorizationUrl);
          return 'Opening the Microsoft account sign-in…';
        });
      },
    },
    el('p', { text: 'Sign in with your personal Microsoft account (the one your certifications are recorded under). You come back here when it is linked.' }),
    field('Microsoft account email (optional)', hint),
    el('button', { type: 'submit', text: link ? 'Link another Microsoft account' : 'Link my Microsoft account' }),
  );
  const unlink = link
    ? el('button', {
        type: 'button',
        text: 'Unlink my Microsoft account',
        onclick: () => attempt(out, async () => {
          await call('DELETE', '/me/msa-link');
          ctx.refresh();
        }),
      })
    : null;
  body.append(
    section(
      'Microsoft account',
      link
        ? el('p', { class: 'linked', text: `Your Microsoft account is linked to ${link.partnerId} since ${link.linkedAt}.` })
        : el('p', { class: 'unlinked', text: 'No Microsoft account is linked: your certifications do not count toward your organisation yet.' }),
      unlink,
      start,
      out,
    ),
  );
}

// --- Membership ----------------------------------------------------------------------------

async function membership(body, ctx) {
  const m = await call('GET', `${p(ctx)}/membership`);
  const out = el('div');
  const facts = el(
    'dl',
    { class: 'facts' },
    el('dt', { text: 'Level' }),
    el('dd', { text: LEVEL[m.level] }),
    el('dt', { text: 'Status' }),
    el('dd', { text: m.status || '' }),
    el('dt', { text: 'Purchased on' }),
    el('dd', { text: m.purchasedOn || '\u2014' }),
    el('dt', { text: 'Expires on' }),
    el('dd', { text: m.expiresOn || '\u2014' }),
    m.renewalClosesOn ? [el('dt', { text: 'Renewal window closes' }), el('dd', { text: m.renewalClosesOn })] : null,
    el('dt', { text: 'Eligible for' }),
    el('dd', { text: m.eligibleLevels.length ? m.eligibleLevels.map((l) => LEVEL[l]).join(', ') : 'no level yet' }),
  );
  const actions = [];
  if (ctx.isAdmin) {
    for (const level of ['silver', 'gold']) {
      const verb = m.level === level ? 'Renew' : m.level === 'silver' && level === 'gold' ? 'Upgrade to' : 'Buy';
      actions.push(
        el('button', {
          type: 'button',
          text: `${verb} ${level}`,
          onclick: () => attempt(out, async () => {
            const answer = await call('POST', `${p(ctx)}/membership`, { json: { level } });
            await ctx.refresh();
            const discount = answer.purchase && answer.purchase.discountPercent ? ` (${answer.purchase.discountPercent} % discount)` : '';
            document.querySelector('#view .page').append(status(`${LEVEL[answer.level]} benefit pack active until ${answer.expiresOn}${discount}.`));
          }),
        }),
      );
    }
  }
  body.append(
    section('Benefit pack', facts, actions.length ? el('div', { class: 'actions' }, actions) : null, out),
    section(
      'Business profile',
      m.businessProfile.length
        ? table('Competencies in the business profile', ['Competency', 'Level'], m.businessProfile.map((b) => [b.competencyId, LEVEL[b.level]]))
        : el('p', { text: 'The business profile lists no competency yet.' }),
    ),
  );
}

// --- Alerts --------------------------------------------------------------------------------

async function alerts(body, ctx) {
  const { alerts: items } = await call('GET', `${p(ctx)}/alerts`);
  const out = el('div');
  const card = (a) =>
    el(
      'article',
      { class: `alert ${a.delivery.state}` },
      el('h2', { text: a.title }),
      a.detail ? el('p', { text: a.detail }) : null,
      el(
        'dl',
        { class: 'facts' },
        el('dt', { text: 'Raised' }),
        el('dd', { text: a.raisedAt }),
        el('dt', { text: 'Competency' }),
        el('dd', { text: `${a.competencyId}${a.level ? ` (${a.level})` : ''}` }),
        el('dt', { text: 'Delivery' }),
        el('dd', { text: `${a.delivery.state}, ${a.delivery.attempts} attempt${a.delivery.attempts === 1 ? '' : 's'}` }),
      ),
      ctx.isOperator && a.delivery.state === 'failed'
        ? el('button', {
            type: 'button',
            text: 'Retry delivery',
            'aria-label': `Retry delivery of ${a.title}`,
            onclick: () => attempt(out, async () => {
              await call('POST', `${p(ctx)}/alerts/${enc(a.id)}/retry`);
              await ctx.refresh();
            }),
          })
        : null,
    );
  body.append(out, ...(items.length ? items.map(card) : [el('p', { text: 'No alerts.' })]));
}

// --- Program (operators) -------------------------------------------------------------------

function program(body, ctx) {
  const partnerOut = el('div');
  const id = el('input', { name: 'partnerId', required: true, value: ctx.partnerId });
  const display = el('input', { name: 'displayName' });
  const tenant = el('input', { name: 'tenantId' });
  const domain = el('input', { name: 'primaryDomain' });
  const partnerForm = el(
    'form',
    {
      onsubmit: (event) => {
        event.preventDefault();
        attempt(partnerOut, async () => {
          const json = { displayName: display.value.trim(), tenantId: tenant.value.trim() };
          if (domain.value.trim()) json.primaryDomain = domain.value.trim();
          const answer = await call('PUT', `/partners/${enc(id.value.trim())}`, { json });
          return `Partner ${answer.partnerId} (${answer.displayName}) registered for tenant ${answer.tenantId}.`;
        });
      },
    },
    field('Partner id', id),
    field('Display name', display),
    field('Tenant id', tenant),
    field('Primary domain (optional)', domain),
    el('button', { type: 'submit', text: 'Register or update' }),
    el('button', {
      type: 'button',
      text: 'Read',
      onclick: () => attempt(partnerOut, async () => {
        const answer = await call('GET', `/partners/${enc(id.value.trim())}`);
        display.value = answer.displayName;
        tenant.value = answer.tenantId;
        domain.value = answer.primaryDomain || '';
        return `Partner ${answer.partnerId}: ${answer.displayName}, tenant ${answer.tenantId}, updated ${answer.updatedAt}.`;
      }),
    }),
  );

  const overrideOut = el('div');
  const o = {
    id: el('input', { name: 'overrideId', required: true }),
    competency: el('input', { name: 'competencyId', required: true }),
    level: el('select', { name: 'level' }, el('option', { value: 'silver', text: 'silver' }), el('option', { value: 'gold', text: 'gold' })),
    reason: el('input', { name: 'reason', required: true, minlength: 3 }),
    expires: el('input', { name: 'expiresOn', type: 'date' }),
  };
  const overrideForm = el(
    'form',
    {
      onsubmit: (event) => {
        event.preventDefault();
        attempt(overrideOut, async () => {
          const json = { competencyId: o.competency.value.trim(), level: o.level.value, reason: o.reason.value.trim() };
          if (o.expires.value) json.expiresOn = o.expires.value;
          const answer = await call('PUT', `${p(ctx)}/overrides/${enc(o.id.value.trim())}`, { json });
          return `Override ${answer.overrideId} for ${answer.competencyId} ${answer.level} until ${answer.expiresOn}; it counts from the next evaluation.`;
        });
      },
    },
    field('Override id', o.id),
    field('Competency id', o.competency),
    field('Level', o.level),
    field('Reason', o.reason),
    field('Expires on (default: three months)', o.expires),
    el('button', { type: 'submit', text: 'Grant override' }),
  );
  body.append(
    section('Register a partner', partnerForm, partnerOut),
    section(`Override for ${ctx.partnerId || 'the partner in view'}`, ctx.partnerId ? overrideForm : el('p', { text: 'Enter a partner id above first.' }), overrideOut),
    section(
      'Feeds',
      el('p', { text: 'Feeds post achievements to /api/achievements and performance figures to /api/partners/{partnerId}/performance; the API reports their answers to the feed, not a status to read here. The Competencies page shows what counted at the last evaluation.' }),
    ),
  );
}

export const PAGES = [
  { id: 'competencies', title: 'Competencies', needsPartner: true, visible: () => true, render: competencies },
  { id: 'users', title: 'Users', needsPartner: true, visible: (ctx) => ctx.isAdmin, render: users },
  { id: 'account', title: 'My account', needsPartner: false, visible: (ctx) => !ctx.isOperator, render: account },
  { id: 'membership', title: 'Membership', needsPartner: true, visible: () => true, render: membership },
  { id: 'alerts', title: 'Alerts', needsPartner: true, visible: (ctx) => ctx.isAdmin || ctx.isOperator, render: alerts },
  { id: 'program', title: 'Program', needsPartner: false, visible: (ctx) => ctx.isOperator, render: program },
];
