// The embeddable chat widget (docs/web.md):
//   <script src="https://bot.example/widget.js" data-service-url="https://bot.example" async></script>
// puts a chat bubble in the corner of any page. Everything it draws lives in
// a Shadow DOM, styled only by the service's own widget.css, so the host
// page's styles do not reach it and its styles do not leak out.
(() => {
  const script = document.currentScript;
  const service = ((script && script.dataset.serviceUrl) ||
                   (script ? new URL(script.src).origin : location.origin)).replace(/\/+$/, '');
  const storageKey = 'chatbot.widget.session:' + service;
  const host = document.createElement('div');
  host.id = 'chatbot-widget';
  const root = host.attachShadow({ mode: 'open' });
  const css = document.createElement('link');
  css.rel = 'stylesheet';
  css.href = service + '/static/widget.css';
  root.append(css);

  const el = (tag, attrs = {}, text) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const bubble = el('button', { class: 'bubble', type: 'button', 'aria-expanded': 'false',
                                'aria-controls': 'panel', 'aria-label': 'Open the chat' });
  // A speech balloon, drawn (fonts without emoji are common on servers and kiosks).
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  path.setAttribute('d', 'M4 4h16v11H9l-5 4v-4H4z');
  path.setAttribute('fill', 'currentColor');
  svg.append(path);
  bubble.append(svg);
  const panel = el('section', { class: 'panel', id: 'panel', role: 'dialog', 'aria-label': 'Chat' });
  panel.hidden = true;
  const head = el('header', {}, 'Chat with us');
  const close = el('button', { type: 'button', class: 'close', 'aria-label': 'Close the chat' }, '×');
  head.append(close);
  // The service notice (GET /v1/bot, then every reply): a banner under the header.
  const banner = el('p', { class: 'banner', role: 'status' });
  banner.hidden = true;
  const showNotice = (text) => { banner.textContent = text || ''; banner.hidden = !text; };
  const log = el('ol', { class: 'log', role: 'log', 'aria-live': 'polite' });
  const note = el('p', { class: 'note', role: 'status' });
  const choices = el('div', { class: 'choices' });
  const form = el('form', { class: 'composer' });
  const label = el('label', { for: 'msg', class: 'sr' }, 'Your message');
  const input = el('input', { id: 'msg', type: 'text', maxlength: '2000', placeholder: 'Type a message…',
                               autocomplete: 'off' });
  const send = el('button', { type: 'submit' }, 'Send');
  form.append(label, input, send);
  panel.append(head, banner, log, note, choices, form);
  root.append(bubble, panel);

  const add = (who, text) => {
    const li = el('li', { class: 'msg ' + who }, text);
    log.append(li);
    li.scrollIntoView({ block: 'end' });
  };
  const toggle = (open) => {
    panel.hidden = !open;
    bubble.setAttribute('aria-expanded', String(open));
    if (open) input.focus(); else bubble.focus();
  };
  bubble.addEventListener('click', () => toggle(panel.hidden));
  close.addEventListener('click', () => toggle(false));
  panel.addEventListener('keydown', (e) => { if (e.key === 'Escape') toggle(false); });

  async function chat(text, shown) {
    if (!text.trim()) return;
    add('me', shown || text);
    choices.replaceChildren();
    note.textContent = '…';
    const payload = { message: text };
    const session = localStorage.getItem(storageKey);
    if (session) payload.session_id = session;
    let res, body = null;
    try {
      res = await fetch(service + '/v1/chat', { method: 'POST', body: JSON.stringify(payload),
                                                headers: { 'Content-Type': 'application/json' } });
      body = await res.json().catch(() => null);
      if (body && ('notice' in body)) showNotice(body.notice);
    } catch (e) {
      note.textContent = 'The service is unreachable.';
      return;
    }
    if (!res.ok) {
      const code = body?.error?.code;
      if (code === 'session_not_found') { localStorage.removeItem(storageKey); return chat(text, shown); }
      note.textContent = res.status === 429 ? 'Too many messages; wait a moment.'
                       : code === 'lockdown' ? 'The service is temporarily closed.'
                       : 'Sorry, something went wrong (' + res.status + ').';
      return;
    }
    note.textContent = '';
    localStorage.setItem(storageKey, body.session_id);
    add('bot', body.reply);
    if (body.clarification) {
      for (const intent of body.choices) {
        const b = el('button', { type: 'button' }, intent.replace(/_/g, ' '));
        b.addEventListener('click', () => chat(intent, intent.replace(/_/g, ' ')));
        choices.append(b);
      }
    }
  }
  form.addEventListener('submit', (e) => { e.preventDefault(); const t = input.value; input.value = ''; chat(t); });

  fetch(service + '/v1/bot').then((r) => (r.ok ? r.json() : null))
    .then((bot) => { if (bot) showNotice(bot.notice); }).catch(() => {});

  const mount = () => document.body.append(host);
  if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount);
})();
