// The admin console (docs/web.md). Every action is a request to the
// service's public HTTP API with the key entered once (sessionStorage):
// /metrics, /health, /v1/model, /v1/model/reload, /v1/sessions,
// /v1/admin/keys and /v1/admin/lockdown. The charts are drawn here, on
// <canvas>, from /metrics scraped every few seconds (?interval=MS).
const KEY = 'chatbot.console.key';
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const INTERVAL = Math.max(250, Number(params.get('interval')) || 5000);
const HISTORY = 120;
let isAdmin = false;
let timer = null;

function notice(text, ok) {
  const n = $('notice');
  n.textContent = text || '';
  n.hidden = !text;
  n.classList.toggle('ok', !!ok);
}

async function api(method, url, payload) {
  const headers = { Authorization: 'Bearer ' + sessionStorage.getItem(KEY) };
  if (payload !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(url, { method, headers, body: payload === undefined ? undefined : JSON.stringify(payload) });
  } catch (e) {
    throw new Error('the service is unreachable');
  }
  const text = await res.text();
  let body = text;
  if ((res.headers.get('Content-Type') || '').startsWith('application/json')) {
    try { body = JSON.parse(text); } catch (e) { /* keep text */ }
  }
  if (!res.ok) {
    const err = new Error(body?.error?.message || `${method} ${url}: ${res.status}`);
    err.status = res.status;
    err.code = body?.error?.code;
    throw err;
  }
  return body;
}

const fmtTime = (ms) => (ms ? new Date(ms).toLocaleString() : '—');
const cell = (text) => { const td = document.createElement('td'); td.textContent = text ?? ''; return td; };

// ---- Prometheus text format -------------------------------------------------
function parseMetrics(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[3]) for (const l of m[3].matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return samples;
}
const sum = (samples, name, filter = () => true) =>
  samples.filter((s) => s.name === name && filter(s.labels)).reduce((a, s) => a + s.value, 0);

// Latency buckets summed over the API routes (the console's own scrapes left out).
function buckets(samples) {
  const by = new Map();
  for (const s of samples) {
    if (s.name !== 'chatbot_http_request_duration_seconds_bucket' || s.labels.route === '/metrics') continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    by.set(le, (by.get(le) || 0) + s.value);
  }
  return [...by.entries()].sort((a, b) => a[0] - b[0]);
}

function quantile(q, prev, cur) {
  const d = cur.map(([le, c], i) => [le, c - (prev[i] ? prev[i][1] : 0)]);
  const total = d.length ? d[d.length - 1][1] : 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lower = 0, below = 0;
  for (const [le, c] of d) {
    if (c >= rank) {
      if (le === Infinity) return lower;
      return lower + (le - lower) * ((rank - below) / Math.max(c - below, 1e-9));
    }
    lower = le; below = c;
  }
  return lower;
}

// ---- Charts ----------------------------------------------------------------
const COLORS = ['#2454d6', '#e67e22', '#c0392b'];
function drawChart(canvas, series, unit) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || canvas.width, h = canvas.clientHeight || canvas.height;
  canvas.width = w * dpr; canvas.height = h * dpr;
  const g = canvas.getContext('2d');
  g.scale(dpr, dpr);
  g.clearRect(0, 0, w, h);
  const left = 44, bottom = h - 18, top = 8, right = w - 8;
  const values = series.flatMap((s) => s.points.map((p) => p.v)).filter((v) => v !== null);
  const highest = Math.max(0, ...values);
  const max = highest > 0 ? highest * 1.15 : 1;
  const label = (v) => (v >= 100 ? String(Math.round(v)) : v.toFixed(v >= 10 ? 1 : 2));
  g.font = '11px system-ui, sans-serif';
  g.fillStyle = '#5b6270'; g.strokeStyle = '#e1e4ea'; g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = bottom - (bottom - top) * i / 4;
    g.beginPath(); g.moveTo(left, y); g.lineTo(right, y); g.stroke();
    g.fillText(label(max * i / 4) + unit, 2, y + 4);
  }
  const n = HISTORY;
  series.forEach((s, k) => {
    g.strokeStyle = COLORS[k % COLORS.length]; g.lineWidth = 2; g.beginPath();
    let started = false;
    s.points.forEach((p, i) => {
      if (p.v === null) { started = false; return; }
      const x = left + (right - left) * (i + n - s.points.length) / (n - 1);
      const y = bottom - (bottom - top) * p.v / max;
      if (started) g.lineTo(x, y); else { g.moveTo(x, y); started = true; }
    });
    g.stroke();
    g.fillStyle = COLORS[k % COLORS.length];
    g.fillText(s.name, left + 8 + k * 60, h - 4);
  });
  canvas.dataset.points = String(Math.max(0, ...series.map((s) => s.points.filter((p) => p.v !== null).length)));
}

// ---- Dashboard ---------------------------------------------------------------
const history = { rate: [], p50: [], p95: [], p99: [], errors: [], fallback: [] };
let previous = null;
function push(name, v) { history[name].push({ v }); if (history[name].length > HISTORY) history[name].shift(); }

async function scrape() {
  try {
    const [text, health] = await Promise.all([api('GET', '/metrics'), fetch('/health').then((r) => r.json())]);
    const s = parseMetrics(text);
    const now = performance.now();
    const cur = {
      t: now,
      requests: sum(s, 'chatbot_http_requests_total', (l) => l.route !== '/metrics'),
      errors: sum(s, 'chatbot_http_requests_total', (l) => l.status >= '500'),
      replies: sum(s, 'chatbot_chat_replies_total'),
      fallback: sum(s, 'chatbot_chat_replies_total', (l) => l.kind === 'fallback'),
      buckets: buckets(s),
    };
    if (previous) {
      const dt = (cur.t - previous.t) / 1000;
      const dr = cur.requests - previous.requests;
      push('rate', dr / dt);
      for (const [name, q] of [['p50', .5], ['p95', .95], ['p99', .99]]) {
        const v = quantile(q, previous.buckets, cur.buckets);
        push(name, v === null ? null : v * 1000);
      }
      push('errors', dr > 0 ? 100 * (cur.errors - previous.errors) / dr : 0);
      const dc = cur.replies - previous.replies;
      push('fallback', dc > 0 ? 100 * (cur.fallback - previous.fallback) / dc : 0);
    }
    previous = cur;
    drawChart($('chart-rate'), [{ name: 'req/s', points: history.rate }], '');
    drawChart($('chart-latency'), [{ name: 'p50', points: history.p50 }, { name: 'p95', points: history.p95 },
                                   { name: 'p99', points: history.p99 }], '');
    drawChart($('chart-errors'), [{ name: '5xx %', points: history.errors }], '');
    drawChart($('chart-fallback'), [{ name: 'fallback %', points: history.fallback }], '');
    $('health').textContent = `${health.status}` + (health.reason ? ` — ${health.reason}` : '') +
        ` · storage ${health.storage} · up ${Math.round(health.uptime_s)} s · version ${health.version}`;
    $('models-summary').textContent = Object.entries(health.models || {})
        .map(([kind, m]) => `${kind} ${m.version} (${m.labels} intents)`).join('; ') || 'none loaded';
    $('totals').textContent = `${cur.requests} API requests · ${cur.replies} chat replies · ` +
        `${sum(s, 'chatbot_sessions_stored')} sessions stored`;
    const intents = new Map();
    for (const x of s) if (x.name === 'chatbot_intent_predictions_total') {
      intents.set(x.labels.intent, (intents.get(x.labels.intent) || 0) + x.value);
    }
    const top = [...intents.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15);
    const most = top.length ? top[0][1] : 1;
    $('intents').replaceChildren(...top.map(([intent, n]) => {
      const li = document.createElement('li');
      const name = document.createElement('span'); name.textContent = intent;
      const bar = document.createElement('span'); bar.className = 'bar-fill';
      bar.style.width = `${(100 * n / most).toFixed(1)}%`;
      const count = document.createElement('span'); count.textContent = String(n);
      li.append(name, bar, count);
      return li;
    }));
    document.body.dataset.scrapes = String(Number(document.body.dataset.scrapes || 0) + 1);
  } catch (e) {
    notice('Dashboard: ' + e.message);
  }
}

// ---- Sessions ------------------------------------------------------------------
async function loadSessions(e) {
  e?.preventDefault();
  const text = $('session-text').value.trim().toLowerCase();
  const before = $('session-before').value ? new Date($('session-before').value).getTime() : null;
  const rows = $('session-rows');
  rows.replaceChildren();
  try {
    const page = await api('GET', '/v1/sessions?limit=50' + (before ? '&before=' + before : ''));
    for (const s of page.sessions) {
      let turns = null;
      if (text) {  // search in the transcripts of this page
        const full = await api('GET', '/v1/sessions/' + s.session_id);
        turns = full.turns;
        const hit = turns.some((t) => t.message.toLowerCase().includes(text) ||
                                      t.reply.toLowerCase().includes(text) || t.intent.toLowerCase() === text);
        if (!hit) continue;
      }
      const tr = document.createElement('tr');
      const link = document.createElement('button');
      link.type = 'button';
      link.textContent = s.session_id.slice(0, 12) + '…';
      link.addEventListener('click', () => showTranscript(s.session_id, tr));
      const td = document.createElement('td'); td.append(link);
      tr.append(td, cell(s.owner || '—'), cell(s.turns), cell(fmtTime(s.updated_at_ms)));
      rows.append(tr);
    }
    if (!rows.children.length) rows.append(Object.assign(document.createElement('tr'), { textContent: 'No sessions.' }));
  } catch (err) { notice('Sessions: ' + err.message); }
}

async function showTranscript(id, tr) {
  for (const row of $('session-rows').children) row.classList.toggle('selected', row === tr);
  try {
    const s = await api('GET', '/v1/sessions/' + id);
    $('transcript').replaceChildren(...s.turns.map((t) => {
      const li = document.createElement('li');
      const q = document.createElement('div'); q.textContent = 'User: ' + t.message;
      const a = document.createElement('div'); a.textContent = 'Bot: ' + t.reply;
      const m = document.createElement('div'); m.className = 'meta';
      m.textContent = `${t.intent} · ${t.confidence.toFixed(2)} · ${t.model} ${t.model_version} · ${fmtTime(t.received_at_ms)}`;
      li.append(q, a, m);
      return li;
    }));
  } catch (err) { notice('Transcript: ' + err.message); }
}

// ---- Keys -----------------------------------------------------------------------
function showSecret(what, key) {
  const box = $('key-secret');
  box.replaceChildren(`${what} — copy it now, it is shown only once: `,
                      Object.assign(document.createElement('code'), { textContent: key }));
  box.hidden = false;
}

async function loadKeys() {
  try {
    const { keys } = await api('GET', '/v1/admin/keys');
    $('key-rows').replaceChildren(...keys.map((k) => {
      const tr = document.createElement('tr');
      tr.dataset.id = k.id;
      const actions = document.createElement('td');
      if (k.status === 'active') {
        const rotate = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Rotate' });
        rotate.addEventListener('click', async () => {
          if (!confirm(`Rotate ${k.name}? The old secret stops working at once.`)) return;
          try { const r = await api('POST', `/v1/admin/keys/${k.id}/rotate`, {}); showSecret(`New secret of ${k.name}`, r.key); loadKeys(); }
          catch (err) { notice('Rotate: ' + err.message); }
        });
        const revoke = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Revoke', className: 'danger' });
        revoke.addEventListener('click', async () => {
          if (!confirm(`Revoke ${k.name}? It is refused from the next request on.`)) return;
          try { await api('POST', `/v1/admin/keys/${k.id}/revoke`, {}); notice(`Revoked ${k.name}.`, true); loadKeys(); }
          catch (err) { notice('Revoke: ' + err.message); }
        });
        actions.append(rotate, revoke);
      }
      tr.append(cell(k.id), cell(k.name), cell(k.role), cell(k.status), cell(k.usage?.requests),
                cell(k.usage?.refused), cell(k.usage?.last_used_at || '—'), actions);
      return tr;
    }));
  } catch (err) { notice('Keys: ' + err.message); }
}

async function createKey(e) {
  e.preventDefault();
  const payload = { name: $('key-name').value.trim(), role: $('key-role').value };
  if ($('key-expires').value.trim()) payload.expires = $('key-expires').value.trim();
  try {
    const k = await api('POST', '/v1/admin/keys', payload);
    showSecret(`Key ${k.name} (${k.role}) created`, k.key);
    $('key-create').reset();
    loadKeys();
  } catch (err) { notice('Create: ' + err.message); }
}

// ---- Model ------------------------------------------------------------------------
async function loadModel() {
  const box = $('model-info');
  try {
    const m = await api('GET', '/v1/model');
    box.replaceChildren();
    const head = document.createElement('p');
    head.textContent = `Answering model: ${m.answering_model}`;
    box.append(head);
    for (const [kind, info] of Object.entries(m.models)) {
      const card = document.createElement('div'); card.className = 'card';
      const h = document.createElement('h3'); h.textContent = `${kind} — ${info.version}`;
      const p = document.createElement('p');
      p.textContent = `loaded ${info.loaded_at} · ${info.labels.length} intents · out-of-scope threshold ${info.oos_threshold}`;
      const pre = document.createElement('pre');
      pre.textContent = JSON.stringify(info.heldout_metrics ?? {}, null, 1).slice(0, 6000);
      const caption = document.createElement('h3'); caption.textContent = 'Held-out metrics';
      card.append(h, p, caption, pre);
      box.append(card);
    }
  } catch (err) { notice('Model: ' + err.message); }
}

async function reloadModel() {
  $('model-status').textContent = 'Reloading…';
  try {
    const r = await api('POST', '/v1/model/reload', {});
    $('model-status').textContent = 'Reloaded: ' + Object.entries(r.models).map(([k, v]) => `${k} ${v.version}`).join(', ');
    loadModel();
  } catch (err) { $('model-status').textContent = 'Refused: ' + err.message; }
}

// ---- Lockdown ------------------------------------------------------------------------
async function loadLockdown() {
  try {
    const { lockdown } = await api('GET', '/v1/admin/lockdown');
    $('lockdown-state').textContent = lockdown.on
      ? `Lockdown is ON since ${lockdown.since}${lockdown.reason ? ' (' + lockdown.reason + ')' : ''}: only admin keys are served.`
      : 'Lockdown is off: the service answers everyone its rules allow.';
    const button = $('lockdown-toggle');
    button.textContent = lockdown.on ? 'End the lockdown' : 'Start a lockdown';
    button.className = lockdown.on ? '' : 'danger';
    button.onclick = async () => {
      const on = !lockdown.on;
      if (on && !confirm('Start a lockdown? Only admin keys will be served.')) return;
      try { await api('POST', '/v1/admin/lockdown', { on, reason: $('lockdown-reason').value }); loadLockdown(); }
      catch (err) { notice('Lockdown: ' + err.message); }
    };
  } catch (err) { notice('Lockdown: ' + err.message); }
}

// ---- Review: low-confidence and out-of-scope turns -----------------------------
const LABELS = 'chatbot.console.labels';
const labels = () => JSON.parse(localStorage.getItem(LABELS) || '{}');
let reviewItems = [];

async function loadReview(e) {
  e?.preventDefault();
  const threshold = Number($('review-threshold').value);
  const since = Date.now() - Number($('review-days').value) * 86400000;
  $('review-summary').textContent = 'Searching…';
  try {
    const model = await api('GET', '/v1/model');
    const intents = new Set();
    for (const m of Object.values(model.models)) for (const l of m.labels) intents.add(l);
    reviewItems = [];
    let before = null;
    for (let page = 0; page < 5; page++) {  // at most 500 sessions
      const list = await api('GET', '/v1/sessions?limit=100' + (before ? '&before=' + before : ''));
      for (const s of list.sessions) {
        if (s.updated_at_ms < since) continue;
        const full = await api('GET', '/v1/sessions/' + s.session_id);
        for (const t of full.turns) {
          if (t.received_at_ms >= since && (t.out_of_scope || t.confidence < threshold)) {
            reviewItems.push({ key: `${s.session_id}:${t.turn}`, ...t });
          }
        }
      }
      before = list.next_before;
      if (!before) break;
    }
    const stored = labels();
    $('review-rows').replaceChildren(...reviewItems.map((t) => {
      const tr = document.createElement('tr');
      const select = document.createElement('select');
      select.setAttribute('aria-label', 'Right intent for: ' + t.message);
      select.append(new Option('—', ''), ...[...intents].sort().map((i) => new Option(i, i)));
      select.value = stored[t.key]?.intent || '';
      select.addEventListener('change', () => {
        const all = labels();
        if (select.value) all[t.key] = { text: t.message, intent: select.value };
        else delete all[t.key];
        localStorage.setItem(LABELS, JSON.stringify(all));
      });
      const td = document.createElement('td'); td.append(select);
      tr.append(cell(t.message), cell(t.out_of_scope ? 'out of scope' : t.intent),
                cell(t.confidence.toFixed(2)), cell(fmtTime(t.received_at_ms)), td);
      return tr;
    }));
    $('review-summary').textContent = `${reviewItems.length} message(s) to review.`;
  } catch (err) { notice('Review: ' + err.message); }
}

function exportReview() {
  const lines = Object.values(labels()).map((l) => JSON.stringify({ text: l.text, intent: l.intent }));
  const text = lines.length ? lines.join('\n') + '\n' : '';
  $('review-jsonl').value = text;
  if (!text) { notice('Nothing labelled yet.'); return; }
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type: 'application/x-ndjson' }));
  a.download = 'reviewed-' + new Date().toISOString().slice(0, 10) + '.jsonl';
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

// ---- Tabs and sign-in ------------------------------------------------------------------
const loaders = { dashboard: () => {}, sessions: loadSessions, review: loadReview, keys: loadKeys, model: loadModel, lockdown: loadLockdown };
function select(tab) {
  for (const t of document.querySelectorAll('[role=tab]')) {
    const on = t === tab;
    t.setAttribute('aria-selected', String(on));
    $(t.getAttribute('aria-controls')).hidden = !on;
  }
  notice('');
  loaders[tab.getAttribute('aria-controls')]();
}

async function open() {
  try {
    await api('GET', '/v1/model');
  } catch (err) {
    sessionStorage.removeItem(KEY);
    notice(err.status === 403 ? 'This key may not use the console: it needs the operator or admin role.'
                              : 'Sign-in failed: ' + err.message);
    return;
  }
  try { await api('GET', '/v1/admin/lockdown'); isAdmin = true; } catch (err) { isAdmin = false; }
  for (const t of document.querySelectorAll('[data-admin]')) t.hidden = !isAdmin;
  $('who').textContent = isAdmin ? 'admin' : 'operator';
  $('login').hidden = true;
  $('console').hidden = false;
  $('logout').hidden = false;
  notice('');
  scrape();
  timer = setInterval(scrape, INTERVAL);
}

for (const t of document.querySelectorAll('[role=tab]')) t.addEventListener('click', () => select(t));
$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  sessionStorage.setItem(KEY, $('login-key').value.trim());
  $('login-key').value = '';
  open();
});
$('logout').addEventListener('click', () => { sessionStorage.removeItem(KEY); clearInterval(timer); location.reload(); });
$('session-search').addEventListener('submit', loadSessions);
$('key-create').addEventListener('submit', createKey);
$('model-reload').addEventListener('click', reloadModel);
$('review-form').addEventListener('submit', loadReview);
$('review-export').addEventListener('click', exportReview);
if (sessionStorage.getItem(KEY)) open();
