// The chat page (docs/web.md): talks to POST /v1/chat and GET /v1/sessions/{id}
// of the same origin. The session id survives a reload (localStorage); an
// API key, when one is needed, is kept for the tab only (sessionStorage).
const SESSION = 'chatbot.session';
const KEY = 'chatbot.key';
const $ = (id) => document.getElementById(id);
const log = $('log'), input = $('message'), status = $('status'), typing = $('typing');
const choicesBox = $('choices');
let busy = false;

function headers(json) {
  const h = {};
  if (json) h['Content-Type'] = 'application/json';
  const key = sessionStorage.getItem(KEY);
  if (key) h.Authorization = 'Bearer ' + key;
  return h;
}

function showStatus(text, isError) {
  status.textContent = text || '';
  status.hidden = !text;
  status.classList.toggle('error', !!isError);
}

// What a refused request means to a person.
function explain(res, body) {
  const code = body && body.error && body.error.code;
  if (res.status === 429) {
    const wait = res.headers.get('Retry-After');
    return 'Too many messages right now' + (wait ? `; try again in ${wait} s.` : '; wait a moment.');
  }
  if (code === 'lockdown') return 'The service is temporarily closed (lockdown). Please try later.';
  if (res.status === 401) return 'This service needs an API key: use the “API key” button.';
  if (res.status === 403) return 'This key may not use the chat.';
  if (code === 'no_model') return 'The assistant is not ready yet (no model loaded).';
  if (res.status >= 500) return 'The service had a problem; please try again.';
  return (body && body.error && body.error.message) || `Request failed (${res.status}).`;
}

async function call(method, url, payload) {
  let res;
  try {
    res = await fetch(url, { method, headers: headers(payload !== undefined),
      body: payload === undefined ? undefined : JSON.stringify(payload) });
  } catch (e) {
    return { ok: false, message: 'The service is unreachable. Check your connection and try again.' };
  }
  let body = null;
  try { body = await res.json(); } catch (e) { /* not JSON */ }
  // Chat replies and 503 refusals carry the service notice: the banner
  // follows it, so a notice set or cleared meanwhile shows without a reload.
  if ((url === '/v1/chat' && body && 'notice' in body) || (res.status === 503 && body?.notice)) {
    showNotice(body.notice);
  }
  if (!res.ok) return { ok: false, status: res.status, code: body?.error?.code, message: explain(res, body) };
  return { ok: true, body };
}

// The service notice banner (an operator's notice, or [bot] notice).
function showNotice(text) {
  $('notice').textContent = text || '';
  $('notice').hidden = !text;
}

// The welcome before the first message (GET /v1/bot): the bot's name, its
// greeting, suggested questions, and the service notice when one is set.
// Without an answer the page keeps its neutral title and shows no welcome.
async function welcome() {
  const r = await call('GET', '/v1/bot');
  if (!r.ok) return;
  const bot = r.body;
  if (bot.name) {
    $('bot-name').textContent = bot.name;
    document.title = `Chat with ${bot.name}`;
  }
  $('welcome-title').textContent = bot.name || 'Hello';
  $('welcome-text').textContent = bot.greeting || 'Ask a question to start.';
  const box = $('suggestions');
  box.replaceChildren();
  for (const question of bot.suggestions || []) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = question;
    b.addEventListener('click', () => send(question));
    box.append(b);
  }
  showNotice(bot.notice);
  welcomeLoaded = true;
  showWelcome();
}

let welcomeLoaded = false;
function showWelcome() { $('welcome').hidden = !welcomeLoaded || log.children.length > 0; }

function humanize(intent) { return String(intent).replace(/_/g, ' '); }

function addMessage(who, text, meta) {
  const li = document.createElement('li');
  li.className = 'msg ' + who;
  const span = document.createElement('span');
  span.className = 'visually-hidden';
  span.textContent = who === 'me' ? 'You: ' : 'Assistant: ';
  li.append(span, document.createTextNode(text));
  if (meta && who === 'bot') {
    const m = document.createElement('div');
    m.className = 'meta';
    const confidence = typeof meta.confidence === 'number' ? meta.confidence.toFixed(2) : '?';
    m.textContent = `intent ${meta.intent} · confidence ${confidence}` +
        (meta.model ? ` · model ${meta.model}` : '') + (meta.out_of_scope ? ' · out of scope' : '');
    li.append(m);
  }
  log.append(li);
  showWelcome();
  li.scrollIntoView({ block: 'end' });
}

function showChoices(choices) {
  choicesBox.replaceChildren();
  for (const intent of choices || []) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = humanize(intent);
    b.addEventListener('click', () => send(intent, humanize(intent)));
    choicesBox.append(b);
  }
}

async function send(text, shown) {
  if (busy || !text.trim()) return;
  busy = true;
  showStatus('');
  showChoices([]);
  addMessage('me', shown || text);
  typing.hidden = false;
  const payload = { message: text };
  const session = localStorage.getItem(SESSION);
  if (session) payload.session_id = session;
  let r = await call('POST', '/v1/chat', payload);
  if (!r.ok && r.code === 'session_not_found') {  // deleted or expired: start again
    localStorage.removeItem(SESSION);
    delete payload.session_id;
    r = await call('POST', '/v1/chat', payload);
  }
  typing.hidden = true;
  busy = false;
  if (!r.ok) {
    showStatus(r.message, true);
    log.lastElementChild?.classList.add('failed');
    input.focus();
    return;
  }
  localStorage.setItem(SESSION, r.body.session_id);
  addMessage('bot', r.body.reply, r.body);
  if (r.body.clarification) showChoices(r.body.choices);
  input.focus();
}

async function restore() {
  const session = localStorage.getItem(SESSION);
  if (!session) return;
  const r = await call('GET', '/v1/sessions/' + encodeURIComponent(session));
  if (!r.ok) {
    if (r.code === 'session_not_found') localStorage.removeItem(SESSION);
    else showStatus(r.message, true);
    return;
  }
  for (const t of r.body.turns || []) {
    addMessage('me', t.message);
    addMessage('bot', t.reply, t);
  }
}

$('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = input.value;
  input.value = '';
  send(text);
});
$('details').addEventListener('change', (e) => {
  document.body.classList.toggle('details', e.target.checked);
  localStorage.setItem('chatbot.details', e.target.checked ? '1' : '');
});
$('new-chat').addEventListener('click', () => {
  localStorage.removeItem(SESSION);
  log.replaceChildren();
  showWelcome();
  showChoices([]);
  showStatus('');
  input.focus();
});
$('key-button').addEventListener('click', () => {
  const form = $('key-form');
  form.hidden = !form.hidden;
  $('key-button').setAttribute('aria-expanded', String(!form.hidden));
  if (!form.hidden) $('key-input').focus();
});
$('key-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const key = $('key-input').value.trim();
  if (key) sessionStorage.setItem(KEY, key);
  $('key-input').value = '';
  $('key-form').hidden = true;
  showStatus(key ? 'The key will be used for this tab.' : '');
  input.focus();
});
$('key-clear').addEventListener('click', () => {
  sessionStorage.removeItem(KEY);
  showStatus('The key is forgotten.');
});

if (localStorage.getItem('chatbot.details')) {
  $('details').checked = true;
  document.body.classList.add('details');
}
Promise.all([restore(), welcome()]).finally(() => { document.body.dataset.ready = '1'; });
input.focus();
