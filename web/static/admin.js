// The admin console (docs/web.md). Every action is a request to the
// service's public HTTP API with the key entered once (sessionStorage):
// /metrics, /health, /v1/model, /v1/model/reload, /v1/sessions (search),
// /v1/review (labels, export), /v1/admin/keys and /v1/admin/lockdown. The charts are drawn here, on
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

// A horizontal bar per row ({name, value, note}), longest first as given.
function drawBars(list, rows) {
  const most = Math.max(1, ...rows.map((r) => r.value));
  list.replaceChildren(...rows.map((r) => {
    const li = document.createElement('li');
    const name = document.createElement('span'); name.textContent = r.name;
    const bar = document.createElement('span'); bar.className = 'bar-fill';
    bar.style.width = `${(100 * r.value / most).toFixed(1)}%`;
    const count = document.createElement('span'); count.textContent = String(r.value) + (r.note ?? '');
    li.append(name, bar, count);
    return li;
  }));
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
    drawBars($('intents'), top.map(([intent, n]) => ({ name: intent, value: n })));
    document.body.dataset.scrapes = String(Number(document.body.dataset.scrapes || 0) + 1);
  } catch (e) {
    notice('Dashboard: ' + e.message);
  }
}

// ---- Sessions: searched by the service (GET /v1/sessions?q=&intent=&since=&until=) ----
let sessionNext = null;  // the next page's `before`, or null
let sessionQuery = '';

const msOf = (id) => ($(id).value ? new Date($(id).value).getTime() : null);

async function loadSessions(e) {
  e?.preventDefault();
  const q = new URLSearchParams({ limit: '50' });
  const text = $('session-text').value.trim();
  const intent = $('session-intent').value.trim();
  if (text) q.set('q', text);
  if (intent) q.set('intent', intent);
  if (msOf('session-since') !== null) q.set('since', msOf('session-since'));
  if (msOf('session-until') !== null) q.set('until', msOf('session-until'));
  sessionQuery = q.toString();
  $('session-rows').replaceChildren();
  $('transcript').replaceChildren();
  await moreSessions(null);
}

async function moreSessions(before) {
  const rows = $('session-rows');
  try {
    const page = await api('GET', '/v1/sessions?' + sessionQuery + (before ? '&before=' + before : ''));
    for (const s of page.sessions) {
      const tr = document.createElement('tr');
      const link = document.createElement('button');
      link.type = 'button';
      link.textContent = s.session_id.slice(0, 12) + '…';
      link.setAttribute('aria-label', 'Open session ' + s.session_id);
      link.addEventListener('click', () => showTranscript(s.session_id, tr));
      const td = document.createElement('td'); td.append(link);
      tr.append(td, cell(s.owner || '—'), cell(s.turns), cell(fmtTime(s.updated_at_ms)));
      rows.append(tr);
    }
    sessionNext = page.next_before;
    $('session-more').hidden = !sessionNext;
    const n = rows.querySelectorAll('tr').length;
    $('session-summary').textContent = n ? `${n} session(s)${sessionNext ? ', more below' : ''}.` : 'No sessions match.';
  } catch (err) { notice('Sessions: ' + err.message); }
}

// `text` with every occurrence of `needle` (case ignored) in <mark>.
function highlighted(text, needle) {
  const out = document.createDocumentFragment();
  if (!needle) { out.append(text); return out; }
  const lower = text.toLowerCase(), n = needle.toLowerCase();
  let at = 0;
  for (let i = lower.indexOf(n); i >= 0; i = lower.indexOf(n, at)) {
    out.append(text.slice(at, i), Object.assign(document.createElement('mark'), { textContent: text.slice(i, i + n.length) }));
    at = i + n.length;
  }
  out.append(text.slice(at));
  return out;
}

async function showTranscript(id, tr) {
  for (const row of $('session-rows').children) row.classList.toggle('selected', row === tr);
  const needle = $('session-text').value.trim();
  try {
    const s = await api('GET', '/v1/sessions/' + id);
    $('transcript').replaceChildren(...s.turns.map((t) => {
      const li = document.createElement('li');
      const q = document.createElement('div'); q.append('User: ', highlighted(t.message, needle));
      const a = document.createElement('div'); a.append('Bot: ', highlighted(t.reply, needle));
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
    const used = keys.filter((k) => k.usage?.requests || k.usage?.refused)
      .sort((a, b) => b.usage.requests - a.usage.requests).slice(0, 20);
    drawBars($('key-usage'), used.map((k) => ({ name: `${k.name} (${k.role})`, value: k.usage.requests,
                                                note: k.usage.refused ? ` (${k.usage.refused})` : '' })));
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

// ---- Model: versions, held-out metrics, per-intent report -------------------------
const pct = (v) => (typeof v === 'number' ? (100 * v).toFixed(1) + ' %' : '—');

function metricsList(m) {
  const dl = document.createElement('dl'); dl.className = 'metrics';
  for (const [label, value] of [['examples', m.examples], ['accuracy', pct(m.accuracy)],
                                ['in-scope accuracy', pct(m.in_scope_accuracy)], ['out-of-scope recall', pct(m.oos_recall)],
                                ['out-of-scope precision', pct(m.oos_precision)], ['macro-F1', pct(m.macro_f1)]]) {
    dl.append(Object.assign(document.createElement('dt'), { textContent: label }),
              Object.assign(document.createElement('dd'), { textContent: value ?? '—' }));
  }
  return dl;
}

// Worst F1 first: the intents that need examples are on top.
function intentReport(kind, m) {
  const rows = [...(m.per_intent || [])].sort((a, b) => a.f1 - b.f1 || a.intent.localeCompare(b.intent));
  const table = document.createElement('table'); table.className = 'table report';
  table.dataset.model = kind;
  table.createCaption().textContent = `Per-intent report (${rows.length} intents, worst F1 first)`;
  const head = table.createTHead().insertRow();
  for (const h of ['Intent', 'Precision', 'Recall', 'F1', 'Support']) head.append(Object.assign(document.createElement('th'), { textContent: h }));
  const body = table.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    if (r.f1 < 0.8) tr.className = 'weak';
    tr.append(cell(r.intent), cell(pct(r.precision)), cell(pct(r.recall)), cell(pct(r.f1)), cell(r.support));
  }
  return table;
}

async function loadModel() {
  const box = $('model-info');
  try {
    const m = await api('GET', '/v1/model');
    box.replaceChildren();
    const head = document.createElement('p');
    head.textContent = `Answering model: ${m.answering_model}` +
        (m.ensemble ? ` (ensemble ${m.ensemble.mode}, SVM weight ${m.ensemble.svm_weight})` : '');
    box.append(head);
    for (const [kind, info] of Object.entries(m.models)) {
      const card = document.createElement('div'); card.className = 'card';
      const h = document.createElement('h3'); h.textContent = `${kind} — ${info.version}`;
      const p = document.createElement('p');
      const data = info.training_data || {};
      p.textContent = `created ${info.created_at || '—'} · loaded ${info.loaded_at} · ${info.labels.length} intents` +
          (data.examples ? ` · trained on ${data.examples} examples` : '') +
          ` · out-of-scope threshold ${Number(info.oos_threshold).toFixed(3)}`;
      card.append(h, p);
      const metrics = info.heldout_metrics;
      if (metrics) {
        const caption = document.createElement('h3');
        caption.textContent = 'Held-out metrics' + (metrics.source ? ` (${metrics.source})` : '');
        card.append(caption, metricsList(metrics), intentReport(kind, metrics));
        const pairs = (metrics.confused_pairs || []).slice(0, 10);
        if (pairs.length) {
          const c = document.createElement('h3'); c.textContent = 'Most confused (expected → predicted)';
          const ol = document.createElement('ol');
          ol.append(...pairs.map((x) => Object.assign(document.createElement('li'),
                                                      { textContent: `${x.expected} → ${x.predicted}: ${x.count}` })));
          card.append(c, ol);
        }
      } else {
        card.append(Object.assign(document.createElement('p'), { textContent: 'No held-out metrics recorded.' }));
      }
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

// ---- Review: low-confidence and out-of-scope turns (GET /v1/review) --------------
let reviewNext = null;
let reviewIntents = [];

function reviewQuery() {
  return new URLSearchParams({ below: $('review-threshold').value, days: $('review-days').value,
                               status: $('review-status').value, limit: '100' }).toString();
}

async function loadReview(e) {
  e?.preventDefault();
  $('review-rows').replaceChildren();
  $('review-summary').textContent = 'Searching…';
  await moreReview(null);
}

async function moreReview(before) {
  try {
    const page = await api('GET', '/v1/review?' + reviewQuery() + (before ? '&before=' + encodeURIComponent(before) : ''));
    reviewIntents = page.intents;
    $('review-rows').append(...page.items.map(reviewRow));
    reviewNext = page.next_before;
    $('review-more').hidden = !reviewNext;
    const n = $('review-rows').children.length;
    $('review-summary').textContent = `${n} message(s)${reviewNext ? ', more below' : ''}.`;
  } catch (err) {
    $('review-summary').textContent = '';
    notice('Review: ' + err.message);
  }
}

function reviewRow(t) {
  const tr = document.createElement('tr');
  tr.dataset.session = t.session_id;
  tr.dataset.turn = t.turn;
  const select = document.createElement('select');
  select.setAttribute('aria-label', 'Right intent for: ' + t.message);
  select.append(new Option('—', ''), ...reviewIntents.map((i) => new Option(i, i)));
  select.value = t.label?.intent || '';
  const by = cell(t.label ? t.label.labelled_by : '');
  select.addEventListener('change', async () => {
    try {
      if (select.value) {
        const label = await api('POST', '/v1/review/labels', { session_id: t.session_id, turn: t.turn, intent: select.value });
        by.textContent = label.labelled_by;
      } else {
        await api('DELETE', `/v1/review/labels/${encodeURIComponent(t.session_id)}/${t.turn}`);
        by.textContent = '';
      }
      tr.dataset.saved = select.value;
    } catch (err) { notice('Label: ' + err.message); }
  });
  const td = document.createElement('td'); td.append(select);
  tr.append(cell(t.message), cell(t.out_of_scope ? 'out of scope' : t.intent),
            cell(t.confidence.toFixed(2)), cell(fmtTime(t.received_at_ms)), td, by);
  return tr;
}

async function exportReview() {
  try {
    const text = await api('GET', '/v1/review/export');
    $('review-jsonl').value = text;
    if (!text) { notice('Nothing labelled yet.'); return; }
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([text], { type: 'application/x-ndjson' }));
    a.download = 'reviewed-' + new Date().toISOString().slice(0, 10) + '.jsonl';
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  } catch (err) { notice('Export: ' + err.message); }
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
  let model;
  try {
    model = await api('GET', '/v1/model');
  } catch (err) {
    sessionStorage.removeItem(KEY);
    notice(err.status === 403 ? 'This key may not use the console: it needs the operator or admin role.'
                              : 'Sign-in failed: ' + err.message);
    return;
  }
  const intents = new Set();
  for (const m of Object.values(model.models)) for (const l of m.labels) intents.add(l);
  $('intent-list').replaceChildren(...[...intents].sort().map((i) => new Option(i)));
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
$('review-more').addEventListener('click', () => moreReview(reviewNext));
$('session-more').addEventListener('click', () => moreSessions(sessionNext));
if (sessionStorage.getItem(KEY)) open();
