// portal.js — the buyer's Client Portal demo page (docs/web-demo.md): plain ES module on the wasm package
// served by returnsd at /pkg/. Sign in, pick a lead, choose a reason (validation and the policy
// preview update on every keystroke), save drafts offline, submit, follow the thread.
//
// Everything the page shows comes from the package (docs/wasm.md): reads are synchronous and
// come from the local replica; writes resolve once durable in IndexedDB and go out through the
// outbox when the socket is up. Errors are shown in the banner or next to their field.
import { createPortal, newReturnId, isError, tokenClaims } from '/pkg/index.mjs';

const $ = (id) => document.getElementById(id);
const SESSION_KEY = 'lead-returns-portal:session';
const OFFSET_KEY = 'lead-returns-portal:clock-offset';
const MAX_LEAD_ROWS = 400;
const MAX_RETURN_ROWS = 300;
// Words for the core's reason codes (the list itself comes from the core: constants()).
const REASONS = {
  bad_contact: 'Bad contact', wrong_vertical: 'Wrong vertical', duplicate: 'Duplicate',
  tcpa_risk: 'TCPA risk', out_of_service_area: 'Out of service area', other: 'Other',
};
const REASON_HELP = {
  bad_contact: 'phone or email does not reach a real person', wrong_vertical: 'lead outside the campaign\'s vertical',
  duplicate: 'we already had this person', tcpa_risk: 'lead flagged for TCPA exposure',
  out_of_service_area: 'outside our coverage', other: 'explain in the note',
};
const DECISIONS = { auto_accept: 'Auto-accept', manual_review: 'Manual review', refused: 'Refused' };

const app = {
  session: null,        // {buyer_id, subject, name, token}
  portal: null,
  unsubscribe: [],
  wantOnline: false,    // this tab asked its transport to run
  stopped: false,       // the server refused the session for good (token)
  form: { return_id: newReturnId(), lead_id: '' },
  threadId: null,
  renderTimer: null,
  seenResults: new Set(),
  answered: new Set(),  // return ids whose submit the server answered
  previews: new Map(),  // return id → the preview shown when it was submitted {facts, decision, rule}
  clockOffset: Number(localStorage.getItem(OFFSET_KEY)) || 0,
};

// --- Small helpers ---------------------------------------------------------------------------

const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
const fmtMoney = (cents) => (typeof cents === 'number' ? money.format(cents / 100) : '');
const fmtTime = (ms) => (ms ? new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '');

function fmtDuration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  return `${m} min ${s % 60} s`;
}

// The server's clock as this device estimates it: the sync engine's offset from the welcome/pong
// frames (status().clock_offset_ms; the same clock the core uses for windows and previews,
// docs/protocol.md §6). The last offset is kept in localStorage for offline reloads, when the
// engine has not met the server yet.
function serverNow() {
  const s = app.portal?.status();
  if (s && !isError(s) && (s.phase === 'live' || s.phase === 'catching_up') &&
      typeof s.clock_offset_ms === 'number' && s.clock_offset_ms !== app.clockOffset) {
    setOffset(s.clock_offset_ms);
  }
  return Date.now() + app.clockOffset;
}
function setOffset(ms) {
  app.clockOffset = Math.round(ms);
  try { localStorage.setItem(OFFSET_KEY, String(app.clockOffset)); } catch { /* storage full: keep in memory */ }
}

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') e.textContent = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k === 'className') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

// --- Errors: shown in the banner, never swallowed ----------------------------------------------

function showError(where, err) {
  const code = err?.code ?? err?.error?.code ?? 'INTERNAL';
  const message = err?.message ?? err?.error?.message ?? String(err);
  $('errors').hidden = false;
  const li = el('li', { 'data-testid': 'error-item', dataset: { code, where } },
    el('strong', { text: `${code}` }), ` — ${message} `, el('span', { className: 'muted', text: `(${where}, ${new Date().toLocaleTimeString()})` }));
  $('error-list').prepend(li);
  while ($('error-list').children.length > 20) $('error-list').lastChild.remove();
}
$('errors-clear').addEventListener('click', () => { $('error-list').textContent = ''; $('errors').hidden = true; });
window.addEventListener('error', (ev) => showError('page', { code: 'INTERNAL', message: ev.message }));
window.addEventListener('unhandledrejection', (ev) => showError('page', { code: ev.reason?.code ?? 'INTERNAL', message: ev.reason?.message ?? String(ev.reason) }));

// Unwraps a package answer: the value, or null after showing its error.
function answer(where, r) {
  if (isError(r)) { showError(where, r.error); return null; }
  return r;
}

// --- Service worker (offline app shell) --------------------------------------------------------

function setSw(state, text) {
  $('sw-state').dataset.state = state;
  $('sw-state').textContent = text;
}

async function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) { setSw('unavailable', 'offline support: not available here'); return; }
  try {
    const reg = await navigator.serviceWorker.register('/sw.js', { scope: '/' });
    const installing = reg.installing;
    installing?.addEventListener('statechange', () => {
      if (installing.state === 'redundant' && !navigator.serviceWorker.controller) {
        setSw('unavailable', 'offline support failed to install: this page will not reload while offline');
      }
    });
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      setSw('installing', 'offline support: installing…');
      await new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }));
    }
    const status = await askWorker();
    const source = status?.served?.['/portal.html'] ?? 'network';
    $('sw-state').dataset.source = source;
    $('sw-state').dataset.version = String(status?.version ?? '');
    setSw('ready', source === 'cache' ? 'offline support: ready (running from the offline copy)' : 'offline support: ready');
  } catch (err) {
    // The page works without it; only a reload while offline does not.
    setSw('unavailable', `offline support unavailable: ${err.message}`);
  }
}

// The worker's own report ({version, served: {path: 'network' | 'cache'}}), or null after 2 s.
function askWorker() {
  const worker = navigator.serviceWorker.controller;
  if (!worker) return Promise.resolve(null);
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    const timer = setTimeout(() => resolve(null), 2000);
    channel.port1.onmessage = (ev) => { clearTimeout(timer); resolve(ev.data); };
    worker.postMessage({ type: 'portal-sw-status' }, [channel.port2]);
  });
}

// --- Sign in -----------------------------------------------------------------------------------

async function loadLogins() {
  const select = $('login-buyer');
  try {
    const res = await fetch('/v1/demo/logins');
    if (!res.ok) throw Object.assign(new Error(res.status === 404 ? 'This server is not running with --demo: paste a buyer token.' : `GET /v1/demo/logins answered ${res.status}`), { code: res.status === 404 ? 'LEAD_NOT_FOUND' : 'INTERNAL' });
    const logins = (await res.json()).filter((l) => l.role === 'buyer');
    select.textContent = '';
    for (const l of logins) {
      select.append(el('option', { value: l.buyer_id, text: `${l.name} — ${l.buyer_id}`, dataset: { about: l.about } }));
    }
    app.logins = logins;
    showAbout();
  } catch (err) {
    select.textContent = '';
    select.append(el('option', { value: '', text: 'demo logins unavailable' }));
    $('signin-error').textContent = `Could not load the demo logins: ${err.message}`;
  }
}
function showAbout() {
  const opt = $('login-buyer').selectedOptions[0];
  $('login-about').textContent = opt?.dataset.about ? `Policy: ${opt.dataset.about}` : '';
}
$('login-buyer').addEventListener('change', showAbout);

$('sign-in-demo').addEventListener('click', () => {
  const l = app.logins?.find((x) => x.buyer_id === $('login-buyer').value);
  if (!l) { $('signin-error').textContent = 'Choose a demo buyer first.'; return; }
  signIn({ buyer_id: l.buyer_id, subject: l.subject, name: l.name, token: l.token });
});
$('sign-in-token').addEventListener('click', async () => {
  const token = $('token-input').value.trim();
  // The core reads which buyer the token names; the server checks its signature and expiry.
  const claims = await tokenClaims(token);
  if (isError(claims)) { $('signin-error').textContent = `${claims.error.code}: ${claims.error.message}`; return; }
  if (claims.role !== 'buyer' || !claims.buyer_id) { $('signin-error').textContent = 'FORBIDDEN: the portal is for buyers; this token is not a buyer token.'; return; }
  signIn({ buyer_id: claims.buyer_id, subject: claims.subject, name: claims.subject || claims.buyer_id, token });
});

function signIn(session) {
  $('signin-error').textContent = '';
  try { localStorage.setItem(SESSION_KEY, JSON.stringify(session)); } catch (err) { showError('sign-in', { code: 'INTERNAL', message: `Cannot remember the session: ${err.message}` }); }
  start(session);
}

$('sign-out').addEventListener('click', async () => {
  localStorage.removeItem(SESSION_KEY);
  await stop();
  $('app').hidden = true;
  $('sign-out').hidden = true;
  $('signin').hidden = false;
  $('who').textContent = '';
  if (!app.logins) loadLogins();
});

async function stop() {
  for (const u of app.unsubscribe) u();
  app.unsubscribe = [];
  const p = app.portal;
  app.portal = null;
  app.wantOnline = false;
  if (p) {
    try { await p.close(); } catch (err) { showError('sign-out', err); }
  }
  updateConn();
}

// --- The portal --------------------------------------------------------------------------------

// The reason list and the text limits, from the core (constants()), so the page keeps no copy.
function applyConstants() {
  const c = app.portal.constants();
  if (isError(c)) { showError('constants', c.error); return; }
  app.constants = c;
  const sel = $('reason');
  const chosen = sel.value;
  sel.replaceChildren(el('option', { value: '', text: '— choose a reason —' }),
    ...c.reasons.map((r) => el('option', { value: r, text: `${REASONS[r] ?? r} — ${REASON_HELP[r] ?? ''}` })));
  sel.value = chosen;
  $('note').maxLength = c.note.max_chars;
  $('message-body').maxLength = c.message.max_chars;
}

function syncUrl() { return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/sync`; }

async function start(session) {
  app.session = session;
  app.stopped = false;
  $('signin').hidden = true;
  $('app').hidden = false;
  $('sign-out').hidden = false;
  $('who').textContent = `${session.name} (${session.buyer_id})`;
  $('conn-state').textContent = 'opening…';
  let portal;
  try {
    portal = await createPortal({
      name: session.buyer_id, token: session.token,
      actor: { role: 'buyer', subject: session.subject || session.buyer_id, buyer_id: session.buyer_id },
    });
  } catch (err) {
    showError('open', err);
    $('conn-state').textContent = 'could not open the local database';
    return;
  }
  app.portal = portal;
  applyConstants();
  const on = (ev, fn) => app.unsubscribe.push(portal.on(ev, fn));
  on('result', onResult);
  on('error', (e) => {
    showError(e.local ? 'sync (local)' : 'server', e);
    if (e.fatal) app.stopped = true;
    updateConn();
  });
  on('reset', () => { setInfo('The server reset the local copy; it is downloading again.'); renderSoon(); });
  on('synced', () => { updateConn(); renderSoon(); });
  on('change', () => renderSoon());
  // A fatal refusal (UNAUTHORIZED, TOKEN_EXPIRED, …) arrives as an `error` event first; the
  // transport then stops and status().phase says 'stopped'.
  on('status', () => updateConn());
  on('role', (r) => { if (r.role === 'leader') goOnline(); updateConn(); renderSoon(); });
  if (portal.role === 'leader') goOnline();
  renderAll();
}

function goOnline() {
  const p = app.portal;
  if (!p || p.role !== 'leader' || app.stopped) return;
  if (!navigator.onLine) { app.wantOnline = false; updateConn(); return; }
  app.wantOnline = true;
  const r = p.connect(syncUrl(), app.session.token);
  if (isError(r)) showError('connect', r.error);
  updateConn();
}

window.addEventListener('offline', () => {
  // Drop the socket at once: a half-open socket would otherwise hold ops until a ping times out.
  app.wantOnline = false;
  if (app.portal && app.portal.role === 'leader') app.portal.disconnect();
  updateConn();
});
window.addEventListener('online', () => goOnline());

function connectionState() {
  const p = app.portal;
  if (!p) return ['offline', 'signed out'];
  if (p.role === 'follower') return ['follower', 'another tab syncs'];
  if (!navigator.onLine) return ['offline', 'offline'];
  const st = p.status();
  if (isError(st)) return ['offline', st.error.code];
  switch (st.phase) {
    case 'live': return ['live', 'live'];
    case 'catching_up': return ['syncing', 'syncing'];
    case 'hello_sent': return ['connecting', 'connecting'];
    case 'stopped': return ['stopped', 'stopped: sign in again'];
    default: return app.wantOnline ? ['connecting', 'connecting'] : ['offline', 'offline'];
  }
}

function updateConn() {
  const [state, text] = connectionState();
  const pill = $('conn-state');
  pill.dataset.state = state;
  pill.textContent = text;
  const st = app.portal?.status();
  const n = st && !isError(st) ? st.outbox : 0;
  $('outbox-count').dataset.count = String(n);
  $('outbox-count').textContent = n ? `${n} waiting to be sent` : 'outbox empty';
}

function setInfo(text) { $('form-message').textContent = text; }

// --- Results -----------------------------------------------------------------------------------

function onResult(r) {
  updateConn();
  if (app.seenResults.has(r.seq)) { renderSoon(); return; }
  app.seenResults.add(r.seq);
  const p = app.portal;
  const ret = r.return_id ? p?.row('return', r.return_id)?.row : null;
  // A submit's answer carries the server's decision (the return row may not have arrived yet);
  // it is compared with the preview the buyer saw when submitting.
  const decided = r.op === 'submit_return' && r.applied && r.decision ? r.decision : null;
  const previewed = decided ? app.previews.get(r.return_id) : null;
  const why = previewed && previewed.decision !== decided.outcome ? explainChange(previewed, decided) : '';
  let text;
  if (r.applied) {
    text = `#${r.seq} ${r.op} ${r.return_id ?? ''}: applied`;
    if (decided) text += ` — the return is ${describeDecision(decided)}`;
    else if (r.op === 'submit_return' && ret) text += ` — the return is ${describeState(ret)}`;
    if (why) text += `. ${why}`;
  } else {
    text = `#${r.seq} ${r.op} ${r.return_id ?? ''}: refused ${r.code} — ${r.message}`;
  }
  $('results').prepend(el('li', {
    'data-testid': 'result', text,
    dataset: { seq: String(r.seq), op: r.op, returnId: r.return_id ?? '', applied: String(r.applied), code: r.code ?? '',
               state: decided ? (decided.outcome === 'auto_accept' ? 'accepted' : 'pending') : ret?.state ?? '',
               outcome: decided?.outcome ?? '', previewed: previewed?.decision ?? '' },
  }));
  if (r.op === 'submit_return' && r.return_id) app.answered.add(r.return_id);
  if (r.return_id && r.return_id === app.lastSubmitted && r.op === 'submit_return') {
    $('form-message').textContent = r.applied
      ? `The server accepted the submission: the return is ${decided ? describeDecision(decided) : describeState(ret)}.${why ? ` ${why}` : ''}`
      : `The server refused the submission: ${r.code} — ${r.message} The draft is kept.`;
  }
  if (!r.applied && r.return_id && r.return_id === app.threadId) {
    $('thread-message').textContent = `Refused: ${r.code} — ${r.message}`;
  }
  renderSoon();
}

// How the server decided a submit, in the words describeState uses for the return row.
function describeDecision(d) {
  if (d.outcome === 'auto_accept') return `accepted (auto-accepted by ${d.rule}), credit ${fmtMoney(d.credit_cents)}`;
  return 'pending (waiting for review)';
}

// Why the decision differs from the preview: the facts that changed in between, as the core
// words them (explainDecision), or the clock when the facts were the same.
function explainChange(previewed, decided) {
  const e = app.portal.explainDecision(previewed.facts, decided);
  const said = `Your preview said ${DECISIONS[previewed.decision] ?? previewed.decision}`;
  if (isError(e)) return `${said}.`;
  if (e.sentences.length === 0) return `${said}; the time of submission decided otherwise.`;
  return `${said}: ${e.sentences.join(' ')}`;
}

// Remembers what the preview said when a return is submitted (compared with the answer).
function rememberPreview(draft) {
  const pv = app.portal.preview(draft);
  if (isError(pv) || !pv.facts || !pv.evaluation) return;
  app.previews.set(draft.return_id, { facts: pv.facts, decision: pv.evaluation.decision, rule: pv.evaluation.rule });
}

function describeState(ret) {
  if (!ret) return 'unknown';
  if (ret.state === 'accepted') return ret.decision?.by?.startsWith('auto:') ? `accepted (auto-accepted by ${ret.decision.by.slice(5)})` : 'accepted';
  if (ret.state === 'pending') return 'pending (waiting for review)';
  return ret.state;
}

// --- Rendering ---------------------------------------------------------------------------------

function renderSoon() {
  if (app.renderTimer) return;
  app.renderTimer = setTimeout(() => { app.renderTimer = null; renderAll(); }, 20);
}

function renderAll() {
  if (!app.portal) return;
  try {
    const ctx = readContext();
    if (!ctx) return;
    renderLeads(ctx);
    renderDrafts(ctx);
    renderReturns(ctx);
    renderThread(ctx);
    updateForm();
    updateConn();
    // What the lists on screen were rendered from (tests wait for 'live' here, not just the pill).
    const st = app.portal.status();
    if (!isError(st)) Object.assign($('app').dataset, { renderedPhase: st.phase, renderedCursor: String(st.cursor) });
  } catch (err) {
    showError('render', err);
  }
}

// One read of the replica per render.
function readContext() {
  const p = app.portal;
  const buyers = answer('buyer', p.rows('buyer'));
  const leads = answer('leads', p.leads());
  const returns = answer('returns', p.returns());
  const pending = answer('pending', p.pending());
  if (!leads || !returns || !pending) return null;
  const buyer = buyers?.find((b) => b.id === app.session.buyer_id) ?? null;
  const unanswered = new Map();   // return id → unanswered ops
  const pendingMessages = new Set();
  for (const op of pending) {
    if (op.answered) continue;
    const id = op.args?.return_id;
    if (id) unanswered.set(id, [...(unanswered.get(id) ?? []), op]);
    if (op.op === 'post_message') pendingMessages.add(op.args.message_id);
  }
  const byLead = new Map();       // lead id → the return that blocks a new one (open or accepted)
  const countByLead = new Map();  // lead id → returns of any state (drafts, rejected, withdrawn too)
  for (const r of returns) {
    if (app.constants?.blocking_states.includes(r.state)) byLead.set(r.lead_id, r);
    countByLead.set(r.lead_id, (countByLead.get(r.lead_id) ?? 0) + 1);
  }
  // Each lead's window end from the core (return_deadline under the buyer's policy): one call.
  const ends = app.portal.deadlines(leads.map((l) => l.id));
  const deadlines = isError(ends) ? new Map() : new Map(Object.entries(ends.deadlines));
  if (isError(ends)) showError('deadlines', ends.error);
  return { buyer, leads, returns, pending, unanswered, pendingMessages, byLead, countByLead,
           deadlines, now: serverNow() };
}

function renderLeads(ctx) {
  const leads = ctx.leads;
  const filter = $('lead-filter').value;
  const q = $('lead-search').value.trim().toLowerCase();
  const { deadlines, now, byLead, countByLead } = ctx;
  $('window-note').textContent = ctx.buyer?.policy?.window_hours
    ? `Return window: ${ctx.buyer.policy.window_hours} h after delivery (your policy); leads older than that are hidden.`
    : 'Waiting for your policy from the server…';
  const shown = leads.filter((l) => {
    const end = deadlines.get(l.id);
    const within = end === null || end === undefined || now < end;
    if (filter === 'returnable') { if (!within || l.status !== 'ACCEPTED' || byLead.has(l.id)) return false; }
    else if (!within && l.status !== 'RETURNED') return false;
    if (!q) return true;
    return [l.id, l.vertical, l.state, l.zip, l.campaign_id, l.status].some((v) => String(v ?? '').toLowerCase().includes(q));
  }).sort((a, b) => b.delivered_at - a.delivered_at || (a.id < b.id ? -1 : 1));
  $('lead-count').textContent = shown.length > MAX_LEAD_ROWS
    ? `${shown.length} leads, showing the newest ${MAX_LEAD_ROWS}: search to narrow`
    : `${shown.length} lead${shown.length === 1 ? '' : 's'}`;
  $('lead-count').dataset.count = String(shown.length);
  const frag = document.createDocumentFragment();
  for (const l of shown.slice(0, MAX_LEAD_ROWS)) {
    const ret = byLead.get(l.id);
    const deadline = deadlines.get(l.id) ?? null;
    const others = countByLead.get(l.id) ?? 0;
    const status = ret ? `${l.status} · return ${ret.state}` : others ? `${l.status} · ${others} earlier return${others > 1 ? 's' : ''}` : l.status;
    const tr = el('tr', {
      'data-testid': 'lead-row', className: l.id === app.form.lead_id ? 'selected' : '',
      dataset: { leadId: l.id, deliveredAt: String(l.delivered_at), status: l.status, returnState: ret?.state ?? '', returnCount: String(others) },
    },
    el('td', {}, el('code', { text: l.id })),
    el('td', { text: l.vertical }),
    el('td', { text: `${l.state}${l.zip ? ' ' + l.zip : ''}` }),
    el('td', { text: fmtMoney(l.price_cents) }),
    el('td', { text: fmtTime(l.delivered_at) }),
    el('td', { text: deadline === null || l.status === 'RETURNED' ? '' : (deadline > now ? fmtDuration(deadline - now) + ' left' : 'closed') }),
    el('td', { text: status }),
    el('td', {}, el('button', { type: 'button', 'data-testid': 'lead-pick', 'aria-label': `Choose lead ${l.id}`, text: 'Choose', onclick: () => pickLead(l.id) })));
    frag.append(tr);
  }
  $('lead-rows').replaceChildren(frag);
}

function renderDrafts(ctx) {
  const local = answer('drafts', app.portal.drafts());
  if (!local) return;
  const list = local.map((d) => ({ ...d, where: 'device' }));
  const known = new Set(local.map((d) => d.return_id));
  // The core lists drafts whose ops the server has not answered yet; once it has, the draft is a
  // server row in state draft (this device's or another's): both can be edited and submitted.
  for (const r of ctx.returns) {
    if (r.state !== 'draft' || known.has(r.id)) continue;
    list.push({ return_id: r.id, draft: { return_id: r.id, lead_id: r.lead_id, reason: r.reason, note: r.note },
                status: r.refusal ? 'refused' : 'saved', refusal: r.refusal, refusal_message: r.refusal_message,
                updated_at: r.updated_at, where: 'server' });
  }
  list.sort((a, b) => (b.updated_at ?? 0) - (a.updated_at ?? 0));
  // A draft whose lead left the window (or the replica) can only be discarded: keep it apart.
  const leads = new Map(ctx.leads.map((l) => [l.id, l]));
  const open = (d) => {
    if (d.status === 'submitting') return true;
    if (!leads.has(d.draft.lead_id)) return false;
    const end = ctx.deadlines.get(d.draft.lead_id);
    return end === null || end === undefined || ctx.now < end;
  };
  const active = list.filter(open);
  const closed = list.filter((d) => !open(d));
  $('drafts-count').textContent = `(${active.length})`;
  $('drafts-empty').hidden = active.length > 0;
  $('drafts').replaceChildren(...active.map(draftCard));
  $('closed-drafts-box').hidden = closed.length === 0;
  $('closed-drafts-count').textContent = `(${closed.length})`;
  $('closed-drafts').replaceChildren(...closed.map(draftCard));
}

function draftCard(d) {
  const dr = d.draft;
  const statusText = { saved: 'saved', submitting: 'submitting — waiting to be sent or answered', refused: 'refused' }[d.status] ?? d.status;
  return el('li', { 'data-testid': 'draft', dataset: { returnId: d.return_id, leadId: dr.lead_id, status: d.status, reason: dr.reason ?? '' } },
    el('div', {},
      el('code', { text: dr.lead_id }), ' · ', REASONS[dr.reason] ?? 'no reason yet', ' · ',
      el('span', { className: `badge ${d.status}`, 'data-testid': 'draft-status', text: statusText }),
      el('span', { className: 'muted', 'data-testid': 'draft-where', dataset: { where: d.where }, text: ` · ${d.where === 'server' ? 'synced' : 'on this device, not yet synced'} · ${fmtTime(d.updated_at)}` })),
    dr.note ? el('div', { className: 'muted', text: dr.note.length > 140 ? dr.note.slice(0, 140) + '…' : dr.note }) : null,
    d.status === 'refused' ? el('div', { className: 'error', 'data-testid': 'draft-refusal', dataset: { code: d.refusal ?? '' }, text: `${d.refusal}: ${d.refusal_message ?? ''}` }) : null,
    el('p', { className: 'field-error', 'data-testid': 'draft-error' }),
    el('div', { className: 'row buttons' },
      el('button', { type: 'button', 'data-testid': 'draft-edit', 'aria-label': `Edit the draft for lead ${dr.lead_id}`, text: 'Edit', onclick: () => editDraft(dr) }),
      el('button', { type: 'button', 'data-testid': 'draft-submit', 'aria-label': `Submit the draft for lead ${dr.lead_id}`, text: 'Submit', disabled: d.status === 'submitting', onclick: (ev) => submitDraft(dr, ev.target.closest('li')) }),
      el('button', { type: 'button', 'data-testid': 'draft-discard', 'aria-label': `Discard the draft for lead ${dr.lead_id}`, text: 'Discard', disabled: d.status === 'submitting', onclick: () => discardDraft(dr.return_id) })));
}

function decisionText(r) {
  const d = r.decision;
  if (!d) return app.constants?.open_states.includes(r.state) ? 'waiting for review' : '';
  const who = d.by?.startsWith('auto:') ? `auto-accepted (rule ${d.by.slice(5)})` : `by ${d.by}`;
  if (r.state === 'accepted') return `${who}, credit ${fmtMoney(d.credit_cents)}`;
  if (r.state === 'rejected') return `rejected ${who}${d.note ? ': ' + d.note : ''}`;
  return `${who}${d.credit_cents ? ', credit ' + fmtMoney(d.credit_cents) : ''}`;
}

function renderReturns(ctx) {
  const q = $('returns-search').value.trim().toLowerCase();
  const rows = ctx.returns.filter((r) => r.state !== 'draft')
    .filter((r) => !q || [r.id, r.lead_id, r.reason, r.state, r.note].some((v) => String(v ?? '').toLowerCase().includes(q)))
    .sort((a, b) => (b.submitted_at ?? 0) - (a.submitted_at ?? 0) || (a.id < b.id ? -1 : 1));
  $('returns-count').textContent = `(${rows.length})`;
  const frag = document.createDocumentFragment();
  for (const r of rows.slice(0, MAX_RETURN_ROWS)) {
    const waiting = ctx.unanswered.has(r.id);
    frag.append(el('tr', {
      'data-testid': 'return-row', className: r.id === app.threadId ? 'selected' : '',
      dataset: { returnId: r.id, leadId: r.lead_id, state: r.state, unconfirmed: String(waiting), decisionBy: r.decision?.by ?? '' },
    },
    el('td', {}, el('code', { text: r.lead_id })),
    el('td', { text: REASONS[r.reason] ?? r.reason ?? '' }),
    el('td', { text: fmtTime(r.submitted_at) }),
    el('td', {}, el('span', { className: `badge ${r.state}`, 'data-testid': 'return-state', text: r.state }),
      waiting ? el('span', { className: 'muted', text: ' (not yet confirmed by the server)' }) : null),
    el('td', { 'data-testid': 'return-decision', text: decisionText(r) }),
    el('td', {}, el('button', { type: 'button', 'data-testid': 'return-open', 'aria-label': `Open the thread of the return for lead ${r.lead_id}`, text: 'Thread', onclick: () => openThread(r.id) }))));
  }
  $('return-rows').replaceChildren(frag);
}

function renderThread(ctx) {
  const id = app.threadId;
  $('thread').hidden = !id;
  $('thread-empty').hidden = !!id;
  if (!id) return;
  const ret = app.portal.row('return', id);
  if (isError(ret)) { showError('thread', ret.error); return; }
  const r = ret.row;
  const title = $('thread-title');
  title.dataset.returnId = id;
  title.dataset.state = r?.state ?? '';
  title.replaceChildren(r
    ? el('span', {}, 'Return for lead ', el('code', { text: r.lead_id }), ` · ${REASONS[r.reason] ?? ''} · `,
        el('span', { className: `badge ${r.state}`, text: r.state }), ` ${decisionText(r)}`,
        r.note ? el('div', { className: 'muted', text: `Note: ${r.note}` }) : null)
    : el('span', { className: 'error', text: 'This return is no longer visible.' }));
  const all = answer('messages', app.portal.rows('message'));
  if (!all) return;
  const msgs = all.filter((m) => m.return_id === id).sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1));
  const frag = document.createDocumentFragment();
  for (const m of msgs) {
    const pending = ctx.pendingMessages.has(m.id);
    frag.append(el('li', { 'data-testid': 'message', dataset: { messageId: m.id, authorRole: m.author_role, pending: String(pending) } },
      el('div', { className: 'muted', text: `${m.author} (${m.author_role}) · ${fmtTime(m.at)}${pending ? ' · sending…' : ''}` }),
      el('div', { 'data-testid': 'message-body-text', text: m.body })));
  }
  if (!msgs.length) frag.append(el('li', { className: 'muted', text: 'No messages yet.' }));
  $('thread-messages').replaceChildren(frag);
  // What the buyer may do to this return now: the core's transition table.
  const allowed = r ? app.portal.allowedOps(r.id) : null;
  const ops = allowed && !isError(allowed) ? allowed.ops : [];
  $('withdraw').hidden = !ops.includes('withdraw_return');
  $('post-message').disabled = !ops.includes('post_message');
}

// --- The form: validation and preview on every input ------------------------------------------

function currentDraft() {
  const f = app.form;
  if (!f.lead_id) return null;
  const d = { return_id: f.return_id, lead_id: f.lead_id };
  const reason = $('reason').value;
  if (reason) d.reason = reason;
  const note = $('note').value;
  if (note) d.note = note;
  return d;
}

function pickLead(id) {
  if (app.form.lead_id !== id) app.form = { return_id: newReturnId(), lead_id: id };
  $('form-message').textContent = '';
  renderSoon();
  updateForm();
  $('reason').focus();
}

function editDraft(d) {
  app.form = { return_id: d.return_id, lead_id: d.lead_id };
  $('reason').value = d.reason ?? '';
  $('note').value = d.note ?? '';
  $('form-message').textContent = 'Editing a saved draft.';
  updateForm();
  renderSoon();
  $('form-panel').scrollIntoView({ block: 'start' });
}

function clearForm() {
  app.form = { return_id: newReturnId(), lead_id: '' };
  $('reason').value = '';
  $('note').value = '';
  updateForm();
  renderSoon();
}

function setFieldError(id, issues) {
  const p = $(id);
  p.textContent = issues.map((e) => `${e.message} (${e.code})`).join(' ');
  p.dataset.code = issues.map((e) => e.code).join(' ');
}

function updateForm() {
  const p = app.portal;
  const draft = currentDraft();
  $('return-id').textContent = app.form.return_id;
  const note = $('note').value;
  $('note-count').textContent = `${[...note].length} / ${app.constants?.note.max_chars ?? ''}`;
  $('save-draft').disabled = !draft || !p;
  const lead = draft && p ? p.lead(draft.lead_id) : null;
  $('form-lead').dataset.leadId = draft?.lead_id ?? '';
  $('form-lead').textContent = !draft ? 'No lead chosen yet: pick one above.'
    : lead ? `Lead ${lead.id} · ${lead.vertical} · ${lead.state}${lead.zip ? ' ' + lead.zip : ''} · ${fmtMoney(lead.price_cents)} · delivered ${fmtTime(lead.delivered_at)} · ${lead.status}`
      : `Lead ${draft.lead_id} (not in your current leads)`;
  if (!draft || !p) {
    for (const id of ['err-lead', 'err-reason', 'err-note', 'err-general']) setFieldError(id, []);
    $('preview').hidden = true;
    $('submit').disabled = true;
    $('submit-blocked').textContent = draft ? '' : 'Pick a lead to start.';
    return;
  }
  const pv = p.preview(draft);
  if (isError(pv)) {
    setFieldError(pv.error.field === 'note' ? 'err-note' : pv.error.field === 'reason' ? 'err-reason' : 'err-general', [pv.error]);
    $('submit').disabled = true;
    $('submit-blocked').textContent = `Submit is blocked: ${pv.error.code}.`;
    return;
  }
  const errs = pv.validation.errors;
  const byField = (f) => errs.filter((e) => e.field === f);
  setFieldError('err-lead', byField('lead_id'));
  setFieldError('err-reason', byField('reason'));
  setFieldError('err-note', byField('note'));
  setFieldError('err-general', errs.filter((e) => !['lead_id', 'reason', 'note'].includes(e.field)));
  $('submit').disabled = !pv.validation.ok;
  $('submit').setAttribute('aria-disabled', String(!pv.validation.ok));
  $('submit-blocked').textContent = pv.validation.ok ? '' : `Submit is blocked until these are fixed: ${errs.map((e) => e.code).join(', ')}.`;
  $('submit-blocked').dataset.codes = errs.map((e) => e.code).join(' ');

  $('preview').hidden = false;
  const ev = pv.evaluation;
  const dec = $('decision');
  dec.dataset.decision = ev?.decision ?? '';
  dec.textContent = ev ? DECISIONS[ev.decision] + (ev.refusal ? ` (${ev.refusal})` : '') : 'unknown lead';
  $('decision-rule').textContent = ev?.rule ? `rule ${ev.rule}` : '';
  $('deadline').dataset.deadline = ev ? String(ev.deadline) : '';
  $('deadline').textContent = ev ? fmtTime(ev.deadline) : '';
  tickCountdown();
  $('explanation').replaceChildren(...(ev?.explanation ?? []).map((s) => el('li', { 'data-testid': 'explanation-item', text: s })));
  const evd = pv.evidence;
  $('evidence').dataset.verdict = evd?.verdict ?? '';
  $('evidence').textContent = evd ? `Evidence (${evd.verdict.replace('_', ' ')}): ${evd.sentence}${evd.routing_alert ? ' The seller will be alerted about the routing filter.' : ''}` : '';
  $('warnings').replaceChildren(...pv.validation.warnings.map((w) => el('li', { 'data-testid': 'warning', dataset: { code: w.code }, text: w.message })));
}

function tickCountdown() {
  const dl = Number($('deadline').dataset.deadline);
  const c = $('countdown');
  if (!dl) { c.textContent = ''; return; }
  const left = dl - serverNow();
  c.textContent = left > 0 ? `${fmtDuration(left)} left` : 'the return window has closed';
  c.dataset.left = String(Math.max(0, left));
}

$('reason').addEventListener('input', updateForm);
$('reason').addEventListener('change', updateForm);
$('note').addEventListener('input', updateForm);
$('new-return').addEventListener('click', clearForm);
$('return-form').addEventListener('submit', (ev) => ev.preventDefault());
$('lead-search').addEventListener('input', renderSoon);
$('lead-filter').addEventListener('change', renderSoon);
$('returns-search').addEventListener('input', renderSoon);

$('save-draft').addEventListener('click', async () => {
  const draft = currentDraft();
  if (!draft) return;
  $('save-draft').disabled = true;
  try {
    const r = await app.portal.saveDraft(draft);
    if (isError(r)) { showError('save draft', r.error); $('form-message').textContent = `Not saved: ${r.error.code} — ${r.error.message}`; return; }
    $('form-message').textContent = navigator.onLine ? 'Draft saved.' : 'Draft saved on this device; it syncs when you are back online.';
  } finally {
    updateForm();
    renderSoon();
  }
});

$('submit').addEventListener('click', async () => {
  const draft = currentDraft();
  if (!draft) return;
  const v = app.portal.validate(draft);
  if (isError(v)) { showError('validate', v.error); return; }
  if (!v.ok) { updateForm(); $('form-message').textContent = 'Fix the errors above first.'; return; }
  $('submit').disabled = true;
  try {
    const saved = await app.portal.saveDraft(draft);
    if (isError(saved)) { showError('submit', saved.error); $('form-message').textContent = `Not submitted: ${saved.error.code} — ${saved.error.message}`; return; }
    rememberPreview(draft);
    app.lastSubmitted = draft.return_id;
    const r = await app.portal.submit(draft.return_id);
    if (isError(r)) { showError('submit', r.error); $('form-message').textContent = `Not submitted: ${r.error.code} — ${r.error.message}`; return; }
    clearForm();
    // The answer may already be here (it can arrive before the queue is durable).
    if (!app.answered.has(draft.return_id)) {
      $('form-message').textContent = app.wantOnline
        ? 'Submitted; waiting for the server’s answer…'
        : 'Queued: you are offline, the return goes out when the connection is back.';
    }
  } finally {
    updateForm();
    renderSoon();
  }
});

async function submitDraft(d, li) {
  const errorBox = li?.querySelector('[data-testid=draft-error]');
  const v = app.portal.validate({ return_id: d.return_id, lead_id: d.lead_id, reason: d.reason, note: d.note || undefined });
  if (isError(v)) { showError('validate', v.error); return; }
  if (!v.ok) {
    if (errorBox) {
      errorBox.textContent = `Cannot submit: ${v.errors.map((e) => `${e.message} (${e.code})`).join(' ')}`;
      errorBox.dataset.code = v.errors.map((e) => e.code).join(' ');
    }
    return;
  }
  rememberPreview({ return_id: d.return_id, lead_id: d.lead_id, reason: d.reason, note: d.note || undefined });
  app.lastSubmitted = d.return_id;
  const r = await app.portal.submit(d.return_id);
  if (isError(r)) { showError('submit', r.error); if (errorBox) errorBox.textContent = `${r.error.code}: ${r.error.message}`; return; }
  if (!app.answered.has(d.return_id)) {
    $('form-message').textContent = app.wantOnline ? 'Submitted; waiting for the server’s answer…'
      : 'Queued: you are offline, the return goes out when the connection is back.';
  }
  renderSoon();
}

async function discardDraft(id) {
  const r = await app.portal.discardDraft(id);
  if (isError(r)) showError('discard', r.error);
  if (app.form.return_id === id) clearForm();
  renderSoon();
}

// --- Thread ------------------------------------------------------------------------------------

function openThread(id) {
  app.threadId = id;
  $('thread-message').textContent = '';
  setFieldError('err-message', []);
  renderSoon();
  $('thread-panel').scrollIntoView({ block: 'start' });
}

$('post-message').addEventListener('click', async () => {
  const id = app.threadId;
  if (!id) return;
  const body = $('message-body').value.trim();
  const args = { return_id: id, message_id: newReturnId(), body };
  // The core's dry run (empty or too long a message, a closed return…) before anything is queued.
  const check = app.portal.checkOp('post_message', args);
  if (isError(check)) { setFieldError('err-message', [check.error]); return; }
  setFieldError('err-message', []);
  $('post-message').disabled = true;
  // The box empties as the message is queued (its answer may arrive before the queue is durable);
  // a refusal to queue puts the text back.
  $('message-body').value = '';
  try {
    const r = await app.portal.enqueue('post_message', args);
    if (isError(r)) {
      $('message-body').value = body;
      setFieldError('err-message', [r.error]);
      return;
    }
    $('thread-message').textContent = app.wantOnline ? 'Message sent.' : 'Message queued: it goes out when you are back online.';
  } finally {
    $('post-message').disabled = false;
    renderSoon();
  }
});

$('withdraw').addEventListener('click', async () => {
  const id = app.threadId;
  if (!id) return;
  const check = app.portal.checkOp('withdraw_return', { return_id: id });
  if (isError(check)) { showError('withdraw', check.error); return; }
  const r = await app.portal.enqueue('withdraw_return', { return_id: id });
  if (isError(r)) { showError('withdraw', r.error); return; }
  $('thread-message').textContent = 'Withdrawal requested.';
  renderSoon();
});

// --- Start -------------------------------------------------------------------------------------

setInterval(() => {
  tickCountdown();
  if (app.portal) updateConn();
}, 1000);
// Ages move on: decisions and the lead list follow the clock.
setInterval(() => renderSoon(), 30_000);

registerServiceWorker();
let saved = null;
try { saved = JSON.parse(localStorage.getItem(SESSION_KEY) ?? 'null'); } catch { saved = null; }
if (saved?.buyer_id && saved?.token) start(saved);
else loadLogins();
