// operator.js — the operator dashboard (docs/web-demo.md): live review queue, decisions, threads, policy
// editor with a what-if preview, return-rate reports, heat map, alerts and P&L.
//
// Plain ES module, no framework, no build step. Every rule runs in the shared C++ core (the wasm
// package served at /pkg/): the replica, the optimistic view, decisions (ops through the outbox),
// checkOp (instant dry run of a decision) and whatIf (policy replay). Report figures come from
// returnsd's report endpoints (maintained aggregates).
import { createPortal, isError, newReturnId } from '/pkg/index.mjs';
import { barChart, lineChart, heatColor, pct, setBands } from './operator-charts.js';

const $ = (id) => document.getElementById(id);
const BASE_TITLE = document.title;
// The core's fixed rules (portal.constants()): open states, limits, default policy, rate bands.
let RULES = null;
const isOpen = (state) => RULES?.open_states.includes(state) ?? false;

const app = {
  portal: null,
  token: '',
  subject: '',
  live: false,             // the first `synced` arrived: the queue is complete
  head: 0,                 // the server's event-log head when we connected (progress bar)
  returns: new Map(),      // id → return row (the optimistic view)
  lastState: new Map(),    // id → state at the previous refresh (to spot new arrivals)
  leadCache: new Map(),    // lead id → lead (price, delivery, buyer never change)
  buyers: new Map(),
  suppliers: new Map(),
  campaigns: new Map(),
  selected: null,
  ops: new Map(),          // seq → {op, args} of ops this page sent
  unseen: new Set(),       // new returns not yet looked at (the tab title counter)
  alertIds: new Set(),
  reports: {},
};
// For tests and debugging from the console.
window.operatorApp = app;

// --- Formatting ------------------------------------------------------------------------------

const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
export function dollars(cents) { return money.format((Number(cents) || 0) / 100); }
function when(ms) { return ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : '—'; }
function dayLabel(day) { return new Date(Number(day) * 86_400_000).toISOString().slice(0, 10); }
function span(ms) {
  const neg = ms < 0;
  let m = Math.floor(Math.abs(ms) / 60_000);
  const d = Math.floor(m / 1440); m -= d * 1440;
  const h = Math.floor(m / 60); m -= h * 60;
  const text = d ? `${d} d ${h} h` : h ? `${h} h ${m} min` : `${m} min`;
  return neg ? `-${text}` : text;
}
function buyerName(id) { return app.buyers.get(id)?.name ?? id; }
function supplierName(id) { return app.suppliers.get(id)?.name ?? id; }
function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

// --- Errors: shown, never swallowed ------------------------------------------------------------

function errorText(err) {
  if (!err) return 'unknown error';
  if (err.error) err = err.error;
  if (err.code) return `${err.code}: ${err.message ?? ''}${err.field ? ` (field ${err.field})` : ''}`;
  return err.message ?? String(err);
}
function showError(context, err) {
  const text = `${context} — ${errorText(err)}`;
  const box = h('div', { class: 'error', 'data-testid': 'error', 'data-code': err?.error?.code ?? err?.code ?? '' },
                h('span', { text }),
                h('button', { type: 'button', title: 'Dismiss', text: '×', onclick: (ev) => ev.target.parentElement.remove() }));
  $('errors').append(box);
}
window.addEventListener('error', (ev) => showError('Page error', ev.error ?? ev.message));
window.addEventListener('unhandledrejection', (ev) => showError('Unhandled failure', ev.reason));
// Coming back to the tab counts as having seen the new returns (the toasts stay).
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && app.unseen.size) { app.unseen.clear(); updateTitle(); }
});

function toast(text, { kind = '', onclick } = {}) {
  const t = h('div', { class: `toast ${kind}`, 'data-testid': 'toast', role: 'status', text });
  t.addEventListener('click', () => { t.remove(); onclick?.(); });
  $('toasts').append(t);
  setTimeout(() => t.remove(), 12_000);
  return t;
}
function updateTitle() {
  document.title = app.unseen.size ? `(${app.unseen.size}) ${BASE_TITLE}` : BASE_TITLE;
}

// --- Sign in ---------------------------------------------------------------------------------

async function loadDemoLogins() {
  let res;
  try {
    res = await fetch('/v1/demo/logins');
  } catch (err) {
    showError('Loading the demo logins', err);
    return;
  }
  if (res.status === 404) return;  // not a --demo server: paste a token instead
  if (!res.ok) { showError('Loading the demo logins', { code: `HTTP ${res.status}`, message: await res.text() }); return; }
  const logins = (await res.json()).filter((l) => l.role === 'operator');
  const select = $('login-select');
  for (const l of logins) {
    select.append(h('option', { value: l.subject, text: `${l.name} (${l.subject}) — ${l.about}` }));
  }
  app.demoLogins = logins;
  $('demo-logins').hidden = logins.length === 0;
}

// The token is opaque to clients; its payload is read only to name the local database and the
// actor before the server's welcome names the principal (the server decides who we are).
function subjectOfToken(token) {
  try {
    const b64 = token.split('.')[0].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)));
    return { role: claims.role, subject: String(claims.sub ?? 'operator') };
  } catch {
    return { role: 'operator', subject: 'operator' };
  }
}

async function signIn(token, subject, displayName) {
  if (!token) { showError('Sign in', { code: 'UNAUTHORIZED', message: 'Paste an operator token.' }); return; }
  const claims = subjectOfToken(token);
  if (claims.role && claims.role !== 'operator') {
    showError('Sign in', { code: 'FORBIDDEN', message: 'This is not an operator token; buyers use the Client Portal.' });
    return;
  }
  // One cheap report request checks the token before anything starts (the sync socket would
  // refuse it too, but only after the page had set everything up).
  try {
    const res = await fetch('/v1/reports/alerts?days=1', { headers: { Authorization: `Bearer ${token}` } });
    if (!res.ok) {
      let body = null;
      try { body = await res.json(); } catch { /* not JSON */ }
      showError('Sign in', body?.error ?? { code: `HTTP ${res.status}`, message: res.statusText });
      return;
    }
  } catch (err) {
    showError('Sign in', err);
    return;
  }
  subject = (subject || claims.subject).replace(/[^A-Za-z0-9._:-]/g, '_').slice(0, 55) || 'operator';
  app.token = token;
  app.subject = subject;
  $('signin').hidden = true;
  $('app').hidden = false;
  $('sign-out').hidden = false;
  $('signed-in-as').textContent = displayName ? `${displayName} (${subject})` : subject;
  setPhase('connecting', 'connecting…');
  try {
    const health = await (await fetch('/healthz')).json();
    app.head = Number(health.head) || 0;
  } catch (err) {
    showError('Reading /healthz', err);
  }
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/sync`;
  try {
    // storage 'image': the replica lives in memory and is saved whole into IndexedDB a moment
    // after writes settle and when the page goes away; the next sign-in opens that image and
    // catches up only what changed. leader: false because a memory replica cannot be shared
    // between tabs: the first tab keeps the image, any other works from memory alone (its own
    // replica and client id, fresh on every load), so two tabs never write one image.
    const name = `operator-${subject}`;
    const storage = (await holdTabLock(`lead-returns-image:${name}`)) ? 'image' : 'memory';
    app.portal = await createPortal({
      name, url, token, storage, leader: false, actor: { role: 'operator', subject },
    });
  } catch (err) {
    showError('Starting the wasm core', err);
    setPhase('failed', 'failed to start');
    return;
  }
  RULES = app.portal.constants();
  if (isError(RULES)) { showError('Reading the core\'s rules', RULES.error); RULES = null; return; }
  setBands(RULES.rate_bands);
  for (const id of ['reject-note', 'message-body']) $(id).maxLength = RULES.note.max_chars;
  wirePortal(app.portal);
  loadReports();
}

// Takes the named Web Lock for as long as the page lives, if no other tab holds it. Without
// Web Locks there is no way to tell, and the tab goes ahead.
function holdTabLock(name) {
  if (!navigator.locks?.request) return Promise.resolve(true);
  return new Promise((resolve) => {
    navigator.locks.request(name, { ifAvailable: true }, (lock) => {
      resolve(lock !== null);
      return lock ? new Promise(() => {}) : undefined;
    }).catch(() => resolve(false));
  });
}

function setPhase(phase, text) {
  const s = $('sync-status');
  s.dataset.phase = phase;
  s.textContent = text;
}

function wirePortal(portal) {
  portal.on('change', () => (app.live ? scheduleRefresh() : scheduleProgress()));
  portal.on('synced', () => {
    const first = !app.live;
    app.live = true;
    $('sync-progress').hidden = true;
    refreshAll({ initial: first });
    if (first) {
      renderBuyerSelect();
      rerenderReports();
    }
  });
  portal.on('result', onResult);
  portal.on('alert', (n) => addLiveAlert(n.alert));
  portal.on('error', (n) => showError(n.fatal ? 'Sync stopped' : 'Sync', n));
  portal.on('reset', () => toast('The server asked for a full resync; reloading the replica…'));
  portal.on('status', (s) => {
    if (s.stopped) setPhase('stopped', 'stopped — sign in again');
    else if (!s.connected) setPhase('disconnected', 'reconnecting…');
    else setPhase(app.live ? 'live' : 'catching_up', app.live ? 'live' : 'syncing…');
    if (s.connected && app.live) scheduleRefresh();
  });
  $('sync-progress').hidden = false;
  scheduleProgress();
}

let progressQueued = false;
function scheduleProgress() {
  if (progressQueued) return;
  progressQueued = true;
  requestAnimationFrame(() => {
    progressQueued = false;
    if (app.live || !app.portal) return;
    const st = app.portal.status();
    if (isError(st)) { showError('Sync status', st); return; }
    const frac = app.head ? Math.min(1, st.cursor / app.head) : 0;
    $('sync-progress').value = frac;
    setPhase('catching_up', `syncing… ${st.rows.toLocaleString('en-US')} rows (${Math.round(frac * 100)} %)`);
    $('queue-syncing').textContent = `Syncing the replica: ${st.rows.toLocaleString('en-US')} rows so far…`;
  });
}

// --- The replica: queue and review -------------------------------------------------------------

let refreshTimer = null;
function scheduleRefresh() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => { refreshTimer = null; refreshAll({}); }, 120);
}

function loadReference() {
  for (const [entity, map] of [['buyer', app.buyers], ['supplier', app.suppliers], ['campaign', app.campaigns]]) {
    const rows = app.portal.rows(entity);
    if (isError(rows)) { showError(`Reading ${entity} rows`, rows); continue; }
    map.clear();
    for (const r of rows) map.set(r.id, r);
  }
}

function refreshAll({ initial = false }) {
  const portal = app.portal;
  if (!portal) return;
  const rows = portal.returns();
  if (isError(rows)) { showError('Reading returns', rows); return; }
  loadReference();
  app.returns = new Map(rows.map((r) => [r.id, r]));
  const arrivals = [];
  for (const r of rows) {
    const before = app.lastState.get(r.id);
    if (!initial && isOpen(r.state) && (before === undefined || before === 'draft')) arrivals.push(r);
  }
  app.lastState = new Map(rows.map((r) => [r.id, r.state]));
  const st = portal.status();
  setPhase('live', `live · ${isError(st) ? '?' : st.rows.toLocaleString('en-US')} rows`);
  renderQueue();
  for (const r of arrivals) notifyArrival(r);
  if (app.selected) renderReview();
}

function leadOf(id) {
  let lead = app.leadCache.get(id);
  if (!lead) {
    lead = app.portal.lead(id);
    if (lead) app.leadCache.set(id, lead);
  }
  return lead;
}

function queueRows() {
  return [...app.returns.values()].filter((r) => isOpen(r.state))
    .sort((a, b) => (a.submitted_at ?? 0) - (b.submitted_at ?? 0) || (a.id < b.id ? -1 : 1));
}

// The server's clock as the sync engine estimates it (the clock that decides windows).
function serverNow() {
  const st = app.portal?.status();
  return st && !isError(st) && st.server_now ? st.server_now : Date.now();
}

function renderQueue() {
  const open = queueRows();
  const now = serverNow();
  const body = $('queue-body');
  const fresh = new Set(app.unseen);
  // Each lead's return-window end from the core (return_deadline under the buyer's policy).
  const ends = app.portal.deadlines(open.map((r) => r.lead_id));
  if (isError(ends)) showError('deadlines', ends.error);
  const deadlines = isError(ends) ? {} : ends.deadlines;
  body.replaceChildren(...open.map((r) => {
    const lead = leadOf(r.lead_id);
    const windowEnds = deadlines[r.lead_id] ?? null;
    return h('tr', {
      'data-testid': 'queue-row', 'data-return-id': r.id, 'data-state': r.state,
      class: [r.id === app.selected ? 'selected' : '', fresh.has(r.id) ? 'fresh' : ''].join(' ').trim() || null,
      onclick: () => select(r.id),
    },
    h('td', { title: when(r.submitted_at), text: when(r.submitted_at).slice(5, 16) }),
    h('td', { 'data-col': 'buyer', title: r.buyer_id, text: buyerName(r.buyer_id) }),
    h('td', { 'data-col': 'reason', text: r.reason ?? '—' }),
    h('td', { 'data-col': 'lead', text: r.lead_id }),
    h('td', { 'data-col': 'price', class: 'num', text: lead ? dollars(lead.price_cents) : '?' }),
    h('td', { 'data-col': 'age', text: r.submitted_at ? span(now - r.submitted_at) : '—' }),
    h('td', { 'data-col': 'deadline', title: windowEnds ? when(windowEnds) : '',
              text: windowEnds ? (windowEnds > now ? `in ${span(windowEnds - now)}` : `closed ${span(now - windowEnds)} ago`) : '—' }),
    h('td', {}, h('span', { class: `state ${r.state}`, text: r.state })));
  }));
  $('queue-count').textContent = String(open.length);
  $('queue-table').hidden = false;
  $('queue-table').dataset.synced = 'true';
  $('queue-syncing').hidden = true;
}

function notifyArrival(r) {
  app.unseen.add(r.id);
  updateTitle();
  const lead = leadOf(r.lead_id);
  const text = `New return from ${buyerName(r.buyer_id)}: ${r.reason ?? 'no reason'} on lead ${r.lead_id}` +
    (lead ? ` (${dollars(lead.price_cents)})` : '');
  toast(text, { onclick: () => select(r.id) });
  // The system notification only when the user already allowed it; never ask from here.
  if (typeof Notification === 'function' && Notification.permission === 'granted') {
    try { new Notification('Lead Returns: new return', { body: text, tag: r.id }); } catch { /* toast shown */ }
  }
  const row = document.querySelector(`#queue-body tr[data-return-id="${CSS.escape(r.id)}"]`);
  row?.classList.add('fresh');
}

function select(id) {
  app.selected = id;
  if (app.unseen.delete(id)) updateTitle();
  for (const tr of $('queue-body').children) tr.classList.toggle('selected', tr.dataset.returnId === id);
  for (const f of ['credit-dollars', 'reject-note', 'message-body']) $(f).value = '';
  for (const e of ['credit-error', 'reject-error', 'message-error']) setFieldError(e, null);
  $('op-result').hidden = true;
  renderReview();
}

function facts(dl, pairs) {
  dl.replaceChildren();
  for (const [k, v, testid] of pairs) {
    if (v === undefined || v === null || v === '') continue;
    dl.append(h('dt', { text: k }), h('dd', { 'data-testid': testid, text: String(v) }));
  }
}

function renderReview() {
  const id = app.selected;
  if (!id || !app.portal) return;
  let r = app.returns.get(id);
  if (!r) {
    const got = app.portal.row('return', id);
    if (isError(got)) { showError(`Reading return ${id}`, got); return; }
    r = got.row;
  }
  $('review-empty').hidden = !!r;
  $('review-body').hidden = !r;
  if (!r) { $('review-empty').textContent = `No return ${id} in the replica.`; return; }
  $('review-body').dataset.returnId = r.id;
  $('review-id').textContent = r.id;
  const stateEl = $('review-state');
  stateEl.textContent = r.state;
  stateEl.className = `state ${r.state}`;
  stateEl.dataset.state = r.state;

  const lead = app.portal.lead(r.lead_id);
  const buyer = app.buyers.get(r.buyer_id);
  const campaign = lead ? app.campaigns.get(lead.campaign_id) : null;
  const supplier = lead ? app.suppliers.get(lead.supplier_id) : null;
  facts($('review-return'), [
    ['Buyer', buyer ? `${buyer.name} (${buyer.billing})` : r.buyer_id, 'review-buyer'],
    ['Reason', r.reason, 'review-reason'],
    ['Note', r.note, 'review-note'],
    ['Submitted', when(r.submitted_at)],
    ['Age', r.submitted_at ? span(serverNow() - r.submitted_at) : null],
    ['Accepted before', r.accept_count ? `${r.accept_count}×` : null],
  ]);
  facts($('review-lead'), lead ? [
    ['Lead', lead.id],
    ['Price', dollars(lead.price_cents), 'review-price'],
    ['Cost', dollars(lead.cost_cents ?? 0), 'review-cost'],
    ['Supplier', supplier ? `${supplier.name}${supplier.pass_through_returns ? ' (passes returns through)' : ''}` : lead.supplier_id, 'review-supplier'],
    ['Campaign', campaign ? `${campaign.id} (${campaign.vertical})` : lead.campaign_id],
    ['Vertical', lead.vertical],
    ['Location', `${lead.state} ${lead.zip ?? ''}`.trim()],
    ['TCPA flag', lead.tcpa_flag ? 'yes' : 'no'],
    ['Contact hash', lead.contact_hash],
    ['Delivered', when(lead.delivered_at)],
    ['Status', lead.status],
  ] : [['Lead', `${r.lead_id} (not in the replica)`]]);
  $('credit-max').textContent = lead ? `up to ${dollars(lead.price_cents)}` : 'lead unknown';
  renderEvidence(r);
  renderDecision(r);
  renderThread(r);
  // What an operator may do to this return now: the core's transition table.
  const allowed = app.portal.allowedOps(r.id);
  const ops = isError(allowed) ? [] : allowed.ops;
  $('decide').hidden = !ops.includes('accept_return');
  $('reopen-box').hidden = !ops.includes('reopen_return');
  $('message-form').hidden = !ops.includes('post_message');
}

// The core's review of the return (portal.review): the reason evidence against the buyer's data
// — the same sentence the buyer saw — and the buyer's policy evaluated at submission.
function renderEvidence(r) {
  const box = $('review-evidence');
  box.replaceChildren();
  const rv = app.portal.review(r.id);
  if (isError(rv)) {
    box.append(h('div', { class: 'evidence', 'data-testid': 'evidence', 'data-verdict': 'error', text: `No review: ${errorText(rv)}` }));
    return;
  }
  if (rv.evidence) {
    box.append(h('div', { class: `evidence ${rv.evidence.verdict}`, 'data-testid': 'evidence', 'data-verdict': rv.evidence.verdict },
                 h('strong', { text: `${rv.evidence.verdict.replace('_', ' ')}: ` }), rv.evidence.sentence,
                 rv.evidence.routing_alert ? h('div', { class: 'hint', text: 'Raises a routing-filter alert: the lead was sold outside the buyer\'s coverage.' }) : null));
  } else {
    box.append(h('div', { class: 'evidence', 'data-testid': 'evidence', 'data-verdict': 'none', text: 'No evidence for this reason.' }));
  }
  if (rv.evaluation) {
    const ev = rv.evaluation;
    box.append(h('div', { class: 'hint', 'data-testid': 'review-policy', 'data-decision': ev.decision },
                 h('strong', { text: `Policy ${rv.at_submission ? 'at submission' : 'now'}: ${ev.decision.replace('_', ' ')}${ev.rule ? ` (rule ${ev.rule})` : ''}. ` }),
                 ev.explanation.join(' ')));
  }
}

function renderDecision(r) {
  const box = $('review-decision');
  const d = r.decision;
  box.hidden = !d;
  if (!d) return;
  box.className = `decision ${r.state}`;
  box.replaceChildren(
    h('div', {}, h('strong', { text: `${r.state} ` }), `by ${d.by} at ${when(d.at)}`),
    r.state === 'accepted' || d.credit_cents
      ? h('div', { 'data-testid': 'decision-credit', 'data-cents': d.credit_cents ?? 0, text: `Credit ${dollars(d.credit_cents ?? 0)}` }) : null,
    d.charged_back !== undefined
      ? h('div', { text: d.charged_back ? `Supplier charged back ${dollars(d.chargeback_cents ?? 0)}` : 'Supplier not charged back' }) : null,
    d.note ? h('div', { 'data-testid': 'decision-note', text: `Note: ${d.note}` }) : null);
}

function renderThread(r) {
  const msgs = app.portal.rows('message');
  if (isError(msgs)) { showError('Reading messages', msgs); return; }
  const mine = msgs.filter((m) => m.return_id === r.id).sort((a, b) => a.at - b.at);
  $('thread').replaceChildren(...(mine.length ? mine.map((m) => h('li', { class: m.author_role, 'data-testid': 'message' },
    h('div', { class: 'meta', text: `${m.author} (${m.author_role}) · ${when(m.at)}` }),
    h('div', { text: m.body }))) : [h('li', { class: 'hint', text: 'No messages yet.' })]));
}

// --- Decisions ---------------------------------------------------------------------------------

function setFieldError(id, err, input) {
  const box = $(id);
  box.hidden = !err;
  box.textContent = err ? errorText(err) : '';
  box.dataset.code = err?.code ?? '';
  if (input) $(input).classList.toggle('invalid', !!err);
}

// Dollars as typed → integer cents; '' → null (full credit).
function parseDollars(text) {
  const s = text.trim().replace(/^\$/, '').replace(/,/g, '');
  if (!s) return { cents: null };
  if (!/^\d+(\.\d{1,2})?$/.test(s)) {
    return { error: { code: 'INVALID_AMOUNT', field: 'credit_cents', message: 'Enter an amount in dollars, e.g. 12.50.' } };
  }
  const [d, c = ''] = s.split('.');
  return { cents: Number(d) * 100 + Number((c + '00').slice(0, 2)) };
}

// Instant validation of an op: the core's dry run (`checkOp`) on the optimistic view, as this
// operator — the same rules the server applies (credit range, note required, state). Nothing is
// queued; the server still decides.
function checkOp(op, args) {
  const r = app.portal.checkOp(op, args);
  return isError(r) ? r.error : null;
}

function acceptArgs(partial) {
  const args = { return_id: app.selected };
  const cb = $('charge-back').value;
  if (cb) args.charge_back = cb === 'yes';
  if (!partial) return { args };
  const p = parseDollars($('credit-dollars').value);
  if (p.error) return { error: p.error };
  if (p.cents === null) return { error: { code: 'CREDIT_OUT_OF_RANGE', field: 'credit_cents', message: 'Enter the partial credit in dollars.' } };
  args.credit_cents = p.cents;
  return { args };
}

function validateCredit() {
  if (!app.selected) return null;
  if (!$('credit-dollars').value.trim()) { setFieldError('credit-error', null, 'credit-dollars'); return null; }
  const a = acceptArgs(true);
  const err = a.error ?? checkOp('accept_return', a.args);
  setFieldError('credit-error', err, 'credit-dollars');
  return err;
}

async function send(op, args) {
  const portal = app.portal;
  const r = await portal.enqueue(op, args);
  if (isError(r)) { showOpResult({ op, applied: false, code: r.error.code, message: r.error.message, return_id: args.return_id }); return null; }
  app.ops.set(r.seq, { op, args });
  const box = $('op-result');
  box.hidden = false;
  box.className = 'op-result waiting';
  Object.assign(box.dataset, { seq: r.seq, op, status: 'waiting', code: '' });
  box.textContent = `${op} sent (seq ${r.seq}); waiting for the server…`;
  return r.seq;
}

function showOpResult(n) {
  const box = $('op-result');
  box.hidden = false;
  box.className = `op-result ${n.applied ? 'applied' : 'refused'}`;
  Object.assign(box.dataset, { seq: n.seq ?? '', op: n.op, status: n.applied ? 'applied' : 'refused', code: n.code ?? '' });
  box.textContent = n.applied ? `${n.op} applied.` : `${n.op} refused — ${n.code}: ${n.message}`;
}

function onResult(n) {
  const sent = app.ops.get(n.seq);
  if (!sent) return;  // an op of an earlier session of this client id
  app.ops.delete(n.seq);
  if (n.op === 'set_policy') {
    const box = $('policy-error');
    if (n.applied) {
      box.hidden = true;
      toast(`Policy of ${buyerName(sent.args.buyer_id)} saved.`);
      $('policy-save').dataset.status = 'applied';
    } else {
      setFieldError('policy-error', { code: n.code, message: n.message });
      $('policy-save').dataset.status = 'refused';
    }
    return;
  }
  if (sent.args.return_id === app.selected) showOpResult(n);
  else if (!n.applied) showError(`${n.op} on ${sent.args.return_id}`, { code: n.code, message: n.message });
  else toast(`${n.op} on ${sent.args.return_id} applied.`);
  scheduleRefresh();
}

function wireDecisions() {
  $('credit-dollars').addEventListener('input', validateCredit);
  $('accept-full').addEventListener('click', async () => {
    const { args } = acceptArgs(false);
    const err = checkOp('accept_return', args);
    if (err) { setFieldError('credit-error', err); return; }
    await send('accept_return', args);
  });
  $('accept-partial').addEventListener('click', async () => {
    const a = acceptArgs(true);
    const err = a.error ?? checkOp('accept_return', a.args);
    setFieldError('credit-error', err, 'credit-dollars');
    if (err) return;
    await send('accept_return', a.args);
  });
  $('reject-note').addEventListener('input', () => {
    if (!$('reject-error').hidden) setFieldError('reject-error', checkOp('reject_return', { return_id: app.selected, note: $('reject-note').value }), 'reject-note');
  });
  $('reject').addEventListener('click', async () => {
    const args = { return_id: app.selected, note: $('reject-note').value.trim() };
    const err = checkOp('reject_return', args);
    setFieldError('reject-error', err, 'reject-note');
    if (err) return;
    await send('reject_return', args);
  });
  $('post-message').addEventListener('click', async () => {
    const args = { return_id: app.selected, message_id: newReturnId(), body: $('message-body').value.trim() };
    const err = checkOp('post_message', args);
    setFieldError('message-error', err, 'message-body');
    if (err) return;
    if (await send('post_message', args)) $('message-body').value = '';
  });
  $('reopen').addEventListener('click', async () => {
    const args = { return_id: app.selected };
    const err = checkOp('reopen_return', args);
    if (err) { showOpResult({ op: 'reopen_return', applied: false, ...err }); return; }
    await send('reopen_return', args);
  });
  const find = () => { const id = $('find-return').value.trim(); if (id) select(id); };
  $('find-return-button').addEventListener('click', find);
  $('find-return').addEventListener('keydown', (ev) => { if (ev.key === 'Enter') find(); });
}

// --- Policy editor with what-if ------------------------------------------------------------------

function renderBuyerSelect() {
  const sel = $('policy-buyer');
  const keep = sel.value;
  sel.replaceChildren(...[...app.buyers.values()].map((b) => h('option', { value: b.id, text: `${b.name} (${b.id})` })));
  if (keep && app.buyers.has(keep)) sel.value = keep;
  loadPolicyForm();
}

function loadPolicyForm() {
  const b = app.buyers.get($('policy-buyer').value);
  if (!b) return;
  const p = b.policy ?? {};
  $('policy-buyer-info').textContent = `${b.billing}; coverage ${b.coverage?.states?.join(', ') || 'all states'}`;
  const d = RULES.default_policy;  // a buyer without a policy has the core's default
  $('policy-mode').value = p.mode ?? d.mode;
  $('policy-window').value = p.window_hours ?? d.window_hours;
  $('policy-min-age').value = p.min_age_hours ?? d.min_age_hours;
  $('policy-cap').value = p.cap_rate === undefined ? '' : +(p.cap_rate * 100).toFixed(2);
  $('policy-rules').value = JSON.stringify(p.rules ?? [], null, 1);
  setFieldError('policy-error', null);
  delete $('policy-save').dataset.status;
  scheduleWhatIf();
}

function formPolicy() {
  const int = (id, field) => {
    const v = $(id).value.trim();
    if (!/^\d+$/.test(v)) throw { code: 'BAD_TYPE', field, message: `${field} must be a whole number of hours.` };
    return Number(v);
  };
  let rules;
  try {
    rules = JSON.parse($('policy-rules').value || '[]');
  } catch (err) {
    throw { code: 'BAD_JSON', field: 'rules', message: `The rules are not valid JSON: ${err.message}` };
  }
  const policy = { mode: $('policy-mode').value, window_hours: int('policy-window', 'window_hours'),
                   min_age_hours: int('policy-min-age', 'min_age_hours'), rules };
  const cap = $('policy-cap').value.trim();
  if (cap !== '') {
    const n = Number(cap);
    if (!Number.isFinite(n)) throw { code: 'BAD_TYPE', field: 'cap_rate', message: 'The cap rate is a percentage.' };
    policy.cap_rate = Math.round(n * 100) / 10000;
  }
  return policy;
}

let whatIfTimer = null;
function scheduleWhatIf() {
  clearTimeout(whatIfTimer);
  whatIfTimer = setTimeout(runWhatIf, 200);
}

function decisionOf(x) { return typeof x === 'string' ? x : x?.decision ?? '?'; }

function runWhatIf() {
  const buyerId = $('policy-buyer').value;
  const summaryBox = $('whatif-summary');
  const itemsBox = $('whatif-items');
  if (!buyerId || !app.portal) return;
  let policy;
  try {
    policy = formPolicy();
  } catch (err) {
    setFieldError('policy-error', err);
    summaryBox.dataset.state = 'invalid';
    return;
  }
  const pre = checkOp('set_policy', { buyer_id: buyerId, policy });
  setFieldError('policy-error', pre);
  const t0 = performance.now();
  const r = app.portal.whatIf(buyerId, policy);
  const ms = performance.now() - t0;
  if (isError(r)) {
    setFieldError('policy-error', r.error);
    summaryBox.dataset.state = 'error';
    summaryBox.textContent = `No preview: ${errorText(r)}`;
    itemsBox.replaceChildren();
    return;
  }
  const s = r.report?.summary ?? {};
  const items = r.report?.items ?? [];
  const before = { auto_accept: 0, manual_review: 0, refused: 0 };
  for (const it of items) before[decisionOf(it.before)] = (before[decisionOf(it.before)] ?? 0) + 1;
  summaryBox.dataset.state = 'ready';
  summaryBox.dataset.summary = JSON.stringify(s);
  const cell = (key, v) => h('td', { class: 'num', 'data-testid': `whatif-${key}`, text: String(v ?? 0) });
  summaryBox.replaceChildren(
    h('p', { class: 'hint', text: `${s.total ?? items.length} returns of the last ${r.days ?? 30} days replayed in ${ms.toFixed(0)} ms.` }),
    h('table', { class: 'grid' },
      h('thead', {}, h('tr', {}, h('th', { text: '' }), h('th', { class: 'num', text: 'current policy' }), h('th', { class: 'num', text: 'this policy' }))),
      h('tbody', {},
        h('tr', {}, h('td', { text: 'auto-accepted' }), h('td', { class: 'num', text: String(before.auto_accept) }), cell('auto_accept', s.auto_accept)),
        h('tr', {}, h('td', { text: 'manual review' }), h('td', { class: 'num', text: String(before.manual_review) }), cell('manual_review', s.manual_review)),
        h('tr', {}, h('td', { text: 'refused' }), h('td', { class: 'num', text: String(before.refused) }), cell('refused', s.refused)),
        h('tr', {}, h('td', { text: 'decisions that change' }), h('td', { text: '' }), cell('changed', s.changed)),
        h('tr', {}, h('td', { text: 'value auto-accepted' }), h('td', { text: '' }),
          h('td', { class: 'num', 'data-testid': 'whatif-auto_accept_cents', text: dollars(s.auto_accept_cents ?? 0) })))));
  const changed = items.filter((it) => decisionOf(it.before) !== decisionOf(it.after));
  itemsBox.replaceChildren(changed.length
    ? h('details', {}, h('summary', { text: `${changed.length} returns decided differently` }),
        h('table', { class: 'grid small' },
          h('thead', {}, h('tr', {}, h('th', { text: 'return' }), h('th', { text: 'before' }), h('th', { text: 'after' }), h('th', { text: 'rule' }))),
          h('tbody', {}, ...changed.slice(0, 200).map((it) => h('tr', { 'data-testid': 'whatif-item' },
            h('td', { text: it.return_id }), h('td', { text: decisionOf(it.before) }), h('td', { text: decisionOf(it.after) }),
            h('td', { text: it.rule ?? (typeof it.after === 'object' ? it.after?.rule : '') ?? '' }))))))
    : h('p', { class: 'hint', text: 'No return would be decided differently.' }));
}

function wirePolicy() {
  $('policy-buyer').addEventListener('change', loadPolicyForm);
  $('policy-revert').addEventListener('click', loadPolicyForm);
  for (const id of ['policy-mode', 'policy-window', 'policy-min-age', 'policy-cap', 'policy-rules']) {
    $(id).addEventListener('input', () => { delete $('policy-save').dataset.status; scheduleWhatIf(); });
  }
  $('policy-save').addEventListener('click', async () => {
    const buyerId = $('policy-buyer').value;
    let policy;
    try { policy = formPolicy(); } catch (err) { setFieldError('policy-error', err); return; }
    const err = checkOp('set_policy', { buyer_id: buyerId, policy });
    if (err) { setFieldError('policy-error', err); return; }
    const r = await app.portal.enqueue('set_policy', { buyer_id: buyerId, policy });
    if (isError(r)) { setFieldError('policy-error', r.error); return; }
    app.ops.set(r.seq, { op: 'set_policy', args: { buyer_id: buyerId, policy } });
    $('policy-save').dataset.status = 'waiting';
  });
}

// --- Reports -------------------------------------------------------------------------------------

async function fetchReport(name, params = {}) {
  const q = new URLSearchParams({ days: $('report-days').value, ...params });
  const res = await fetch(`/v1/reports/${name}?${q}`, { headers: { Authorization: `Bearer ${app.token}` } });
  let body;
  try { body = await res.json(); } catch { body = { error: { code: `HTTP ${res.status}`, message: 'not JSON' } }; }
  if (!res.ok || body.error) throw body.error ?? { code: `HTTP ${res.status}`, message: res.statusText };
  // Rows are objects keyed by column; accept the {columns, rows: [[…]]} form too. A report with
  // sums (P&L) brings them as `total`, computed by the server: the page adds nothing up.
  let rows = Array.isArray(body.rows) ? body.rows : [];
  if (body.columns && rows.length && Array.isArray(rows[0])) {
    rows = rows.map((r) => Object.fromEntries(body.columns.map((c, i) => [c, r[i]])));
  }
  rows.total = body.total ?? null;
  return rows;
}

async function report(name, params, render, box) {
  try {
    app.reports[name + JSON.stringify(params)] = { rows: await fetchReport(name, params), render };
    render(app.reports[name + JSON.stringify(params)].rows);
  } catch (err) {
    $(box).replaceChildren(h('p', { class: 'field-error', 'data-testid': 'report-error', text: errorText(err) }));
    showError(`Report ${name}`, err);
  }
}

function loadRates() { return report('rates', { by: $('rates-by').value }, renderRates, 'rates-table'); }
function loadDaily() { return report('rates', { by: 'day' }, renderDaily, 'daily-chart'); }
function loadMatrix() { return report('matrix', {}, renderMatrix, 'heatmap'); }
function loadAlerts() { return report('alerts', {}, renderAlerts, 'alerts-list'); }
function loadPnl() { return report('pnl', { by: $('pnl-by').value }, renderPnl, 'pnl-table'); }
let reportsGeneration = 0;
async function loadReports() {
  await Promise.all([loadRates(), loadDaily(), loadMatrix(), loadAlerts(), loadPnl()]);
  $('reports-section').dataset.generation = String(++reportsGeneration);  // tests wait on it
}
function rerenderReports() {
  // Names arrive with the replica; draw the reports again with them.
  for (const { rows, render } of Object.values(app.reports)) render(rows);
}

function keyLabel(by, key) {
  if (by === 'day') return dayLabel(key);
  if (by === 'buyer') return buyerName(key);
  if (by === 'supplier') return supplierName(key);
  return String(key);
}

function renderRates(rows) {
  const by = $('rates-by').value;
  const table = h('table', { class: 'grid', 'data-testid': 'rates-grid', 'data-by': by },
    h('thead', {}, h('tr', {}, h('th', { text: by }), h('th', { class: 'num', text: 'sold' }), h('th', { class: 'num', text: 'returned' }),
                        h('th', { class: 'num', text: 'rate' }), h('th', { text: 'band' }))),
    h('tbody', {}, ...rows.map((r) => h('tr', { 'data-testid': 'rates-row', 'data-key': r.key },
      h('td', { title: String(r.key), text: keyLabel(by, r.key) }), h('td', { class: 'num', text: r.accepted.toLocaleString('en-US') }),
      h('td', { class: 'num', text: r.returned.toLocaleString('en-US') }), h('td', { class: 'num', text: pct(r.rate) }),
      h('td', {}, h('span', { class: `band ${r.band}`, text: r.band }))))));
  $('rates-table').replaceChildren(rows.length ? table : h('p', { class: 'hint', text: 'No deliveries in the period.' }));
  const points = rows.map((r) => ({ label: keyLabel(by, r.key), rate: r.rate, band: r.band,
                                    title: `${keyLabel(by, r.key)}: ${pct(r.rate)} (${r.returned} of ${r.accepted} returned, ${r.band})` }));
  $('rates-chart').replaceChildren(by === 'day' ? lineChart(points) : barChart(points));
}

function renderDaily(rows) {
  $('daily-chart').replaceChildren(lineChart(rows.map((r) => ({
    label: dayLabel(r.key).slice(5), rate: r.rate, band: r.band,
    title: `${dayLabel(r.key)}: ${pct(r.rate)} (${r.returned} of ${r.accepted} returned)`,
  })), { testid: 'day-point' }));
}

function renderMatrix(rows) {
  const buyers = [...new Set(rows.map((r) => r.buyer_id))].sort();
  const suppliers = [...new Set(rows.map((r) => r.supplier_id))].sort();
  const at = new Map(rows.map((r) => [`${r.buyer_id}\u0000${r.supplier_id}`, r]));
  const table = h('table', { class: 'heat', 'data-testid': 'heat-table', 'data-buyers': buyers.length, 'data-suppliers': suppliers.length },
    h('thead', {}, h('tr', {}, h('th', { text: 'buyer \\ supplier' }), ...suppliers.map((s) => h('th', { title: s, text: supplierName(s) })))),
    h('tbody', {}, ...buyers.map((b) => h('tr', {},
      h('th', { class: 'rowhead', title: b, text: buyerName(b) }),
      ...suppliers.map((s) => {
        const r = at.get(`${b}\u0000${s}`);
        if (!r) return h('td', { class: 'empty', 'data-testid': 'heat-empty', title: `${buyerName(b)} × ${supplierName(s)}: no trade`, text: '·' });
        const td = h('td', { 'data-testid': 'heat-cell', 'data-buyer': b, 'data-supplier': s, 'data-band': r.band, 'data-rate': r.rate,
                             title: `${buyerName(b)} × ${supplierName(s)}: ${pct(r.rate)} — ${r.returned} of ${r.accepted} returned (${r.band})`,
                             text: pct(r.rate, 1).replace(' ', '') });
        td.style.background = heatColor(r.rate);
        return td;
      })))));
  const scale = h('div', { class: 'heat-scale' }, 'return rate:',
    ...[0, 0.04, 0.08, 0.12, 0.15, 0.2].map((x) => {
      const sw = h('span', { class: 'sw', title: pct(x, 0) });
      sw.style.background = heatColor(x);
      return h('span', {}, sw, ` ${pct(x, 0)}`);
    }));
  $('heatmap').replaceChildren(rows.length ? table : h('p', { class: 'hint', text: 'No trade in the period.' }), scale);
}

function alertItem(a, live) {
  return h('li', { class: `${a.kind} ${live ? 'live' : ''}`, 'data-testid': live ? 'live-alert' : 'alert',
                   'data-kind': a.kind, 'data-subject': a.subject_id, 'data-id': a.id },
    h('div', { text: a.sentence ?? JSON.stringify(a) }),
    h('div', { class: 'meta', text: `${a.kind} · ${a.subject_id ?? ''} · ${when(a.created_at)}` }));
}

function renderAlerts(rows) {
  const sorted = [...rows].sort((a, b) => b.created_at - a.created_at);
  const spikes = sorted.filter((a) => a.kind !== 'routing_filter');
  const routing = sorted.filter((a) => a.kind === 'routing_filter');
  for (const a of rows) app.alertIds.add(a.id);
  $('alerts-list').replaceChildren(...(spikes.length ? spikes.map((a) => alertItem(a, false))
    : [h('li', { class: 'hint', text: 'No spike alerts in the period.' })]));
  $('routing-list').replaceChildren(...routing.slice(0, 300).map((a) => alertItem(a, false)));
  $('routing-count').textContent = String(routing.length);
  $('alerts-count').textContent = String(spikes.length + $('alerts-live').children.length);
}

function addLiveAlert(a) {
  if (!a || app.alertIds.has(a.id)) return;
  app.alertIds.add(a.id);
  $('alerts-live').prepend(alertItem(a, true));
  $('alerts-count').textContent = String(Number($('alerts-count').textContent || 0) + 1);
  toast(`Alert: ${a.sentence ?? a.kind}`, { kind: 'alert', onclick: () => $('alerts-section').scrollIntoView() });
}

const PNL_MONEY = ['gross_revenue_cents', 'returned_revenue_cents', 'net_revenue_cents', 'cost_cents', 'chargeback_cents', 'net_cost_cents', 'margin_cents'];
const PNL_HEAD = { gross_revenue_cents: 'gross revenue', returned_revenue_cents: 'returned revenue', net_revenue_cents: 'net revenue',
                   cost_cents: 'cost', chargeback_cents: 'charged back', net_cost_cents: 'net cost', margin_cents: 'margin' };

function renderPnl(rows) {
  const by = $('pnl-by').value;
  const total = rows.total ?? { leads: 0, returned: 0, ...Object.fromEntries(PNL_MONEY.map((c) => [c, 0])) };
  const margin = (r) => (r.net_revenue_cents ? pct(r.margin_cents / r.net_revenue_cents) : '—');
  const cells = (r, testid) => [
    h('td', { class: 'num', 'data-col': 'leads', text: r.leads.toLocaleString('en-US') }),
    h('td', { class: 'num', 'data-col': 'returned', text: r.returned.toLocaleString('en-US') }),
    ...PNL_MONEY.map((c) => h('td', { class: 'num', 'data-col': c, 'data-cents': r[c], 'data-testid': testid ? `${testid}-${c}` : null, text: dollars(r[c]) })),
    h('td', { class: 'num', text: margin(r) })];
  $('pnl-table').replaceChildren(h('table', { class: 'grid', 'data-testid': 'pnl-grid', 'data-by': by },
    h('thead', {}, h('tr', {}, h('th', { text: by }), h('th', { class: 'num', text: 'leads' }), h('th', { class: 'num', text: 'returned' }),
                        ...PNL_MONEY.map((c) => h('th', { class: 'num', text: PNL_HEAD[c] })), h('th', { class: 'num', text: 'margin %' }))),
    h('tbody', {}, ...rows.map((r) => h('tr', { 'data-testid': 'pnl-row', 'data-key': r.key },
      h('td', { title: String(r.key), text: keyLabel(by, r.key) }), ...cells(r)))),
    h('tfoot', {}, h('tr', { id: 'pnl-total', 'data-testid': 'pnl-total' }, h('td', { text: 'Total' }), ...cells(total, 'pnl-total')))));
}

async function downloadCsv(name) {
  const params = { days: $('report-days').value, format: 'csv' };
  if (name === 'rates') params.by = $('rates-by').value;
  if (name === 'pnl') params.by = $('pnl-by').value;
  try {
    const res = await fetch(`/v1/reports/${name}?${new URLSearchParams(params)}`, { headers: { Authorization: `Bearer ${app.token}` } });
    if (!res.ok) throw (await res.json()).error ?? { code: `HTTP ${res.status}` };
    const url = URL.createObjectURL(await res.blob());
    const a = h('a', { href: url, download: `${name}-${params.by ?? 'all'}-${params.days}d.csv` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (err) {
    showError(`CSV of ${name}`, err);
  }
}

function wireReports() {
  $('report-days').addEventListener('change', loadReports);
  $('reports-refresh').addEventListener('click', loadReports);
  $('rates-by').addEventListener('change', loadRates);
  $('pnl-by').addEventListener('change', loadPnl);
  for (const b of document.querySelectorAll('button.csv')) b.addEventListener('click', () => downloadCsv(b.dataset.report));
}

// --- Start -------------------------------------------------------------------------------------

function start() {
  $('token-input').value = sessionStorage.getItem('returns-operator-token') ?? '';
  $('login-button').addEventListener('click', () => {
    const l = app.demoLogins?.find((x) => x.subject === $('login-select').value);
    if (l) signIn(l.token, l.subject, l.name);
  });
  $('token-button').addEventListener('click', () => {
    const token = $('token-input').value.trim();
    sessionStorage.setItem('returns-operator-token', token);
    signIn(token, '', '');
  });
  // Signing out leaves nothing of the replica behind on this computer.
  $('sign-out').addEventListener('click', async () => {
    try { await app.portal?.close({ forget: true }); } catch (err) { showError('Closing the replica', err); }
    location.reload();
  });
  // The replica image is saved when the page goes away (a reload, a closed tab).
  addEventListener('pagehide', () => { app.portal?.persist(); });
  wireDecisions();
  wirePolicy();
  wireReports();
  loadDemoLogins();
}

start();
