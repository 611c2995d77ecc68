/* global document, location, FormData, fetch, setInterval */
// The demo page: plain DOM code over the browser client (served at /client/ from dist/client).
// Everything the server sends is written with textContent, never parsed as HTML.
import { AuthClientError, createAuthClient, decodeJwtHeader, decodeJwtPayload } from '/client/index.js';
import { setUpPanels } from '/panels.js';
import { $, act, describe, element, say, when } from '/ui.js';

export const client = createAuthClient({ baseUrl: location.origin });
const panels = setUpPanels(client);

const signedOut = $('signed-out');
const signedIn = $('signed-in');

function show(view, { focus = false } = {}) {
  // Focus inside the part that disappears would fall back to <body>: move it to what appears.
  const lost = (view === 'in' ? signedOut : signedIn).contains(document.activeElement);
  signedOut.hidden = view !== 'out';
  signedIn.hidden = view !== 'in';
  if (focus || lost) $(view === 'in' ? 'whoami-heading' : 'signin-heading').focus();
}

// --- Who am I and notes ---

async function loadMe() {
  const { user, auth } = await client.me();
  $('whoami-email').textContent = user.email;
  $('whoami-role').textContent = user.role;
  $('whoami-method').textContent = auth.method === 'bearer' ? 'bearer token (token mode)' : 'session cookie';
  $('whoami-session').textContent = auth.sessionId;
  $('whoami-expires').textContent = when(auth.expiresAt);
}

async function loadNotes() {
  const response = await client.fetch('/api/notes');
  if (!response.ok) throw new AuthClientError('notes_unavailable', response.status, 'Notes could not be loaded');
  const { notes } = await response.json();
  const list = $('notes');
  list.replaceChildren(...notes.map((note) => element('li', note.text)));
  if (notes.length === 0) list.append(element('li', 'No notes yet.', 'empty'));
}

$('note-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const text = String(new FormData(form).get('text') ?? '');
  void act(form, async () => {
    const response = await client.fetch('/api/notes', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ text }),
    });
    if (!response.ok) throw new AuthClientError('note_refused', response.status, 'The note was not saved');
    form.reset();
    await loadNotes();
    say('Note added.');
  });
});

// --- Token inspector ---

// The countdown runs on this browser's clock from the moment the token arrived, for its lifetime
// (exp - iat): the browser's and the server's clocks may disagree, the lifetime does not.
let shownToken = null;
let deadline = null;

function renderToken() {
  panels.render();
  const token = client.getAccessToken();
  $('token-none').hidden = token !== null;
  $('token-view').hidden = token === null;
  if (token === shownToken) return;
  shownToken = token;
  deadline = null;
  if (token === null) return;
  const payload = decodeJwtPayload(token);
  $('token-header').textContent = JSON.stringify(decodeJwtHeader(token), null, 2);
  $('token-payload').textContent = JSON.stringify(payload, null, 2);
  if (typeof payload.exp === 'number' && typeof payload.iat === 'number') {
    deadline = Date.now() + (payload.exp - payload.iat) * 1000;
    const exp = new Date(payload.exp * 1000);
    $('token-exp').dateTime = exp.toISOString();
    $('token-exp').textContent = `exp ${exp.toLocaleTimeString()} on the server's clock`;
  }
  tick();
}

function tick() {
  if (deadline === null) return;
  const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
  $('token-countdown').textContent = left === 0 ? 'expired' : `${Math.floor(left / 60)} min ${left % 60} s`;
}
setInterval(tick, 1000);

// --- Cookies ---

const COOKIE_COLUMNS = ['Name', 'Used for', 'Flags', 'Sent here'];

async function loadCookies() {
  $('document-cookie').textContent = document.cookie === '' ? '"" (empty)' : JSON.stringify(document.cookie);
  const response = await fetch('/api/demo/cookies', { cache: 'no-store' });
  const { cookies } = await response.json();
  $('cookie-rows').replaceChildren(
    ...cookies.map((cookie) => {
      const row = document.createElement('tr');
      // The Path explains a refresh cookie that exists; in session mode there is usually none at all.
      const notSentRefresh =
        client.mode === 'token' ? 'no: its Path keeps it to /auth' : 'no: only a token-mode login sets it';
      const sent = cookie.sent ? 'yes' : cookie.purpose === 'refresh' ? notSentRefresh : 'no';
      const flags = element('td');
      const list = element('ul', undefined, 'flags');
      list.append(...cookie.attributes.map((flag) => element('li', flag)));
      flags.append(list);
      const cells = [
        element('td', cookie.name, 'mono cookie-name'),
        element('td', cookie.purpose === 'session' ? 'session ID (session mode)' : 'refresh token (token mode)'),
        flags,
        element('td', sent),
      ];
      for (const [i, cell] of cells.entries()) cell.dataset.label = COOKIE_COLUMNS[i];
      row.append(...cells);
      return row;
    }),
  );
}

// --- Devices ---

async function loadDevices() {
  const sessions = await client.sessions();
  $('devices').replaceChildren(
    ...sessions.map((session) => {
      const item = element('li', undefined, session.current ? 'device current' : 'device');
      const label = `${session.method} login from ${session.ip ?? 'an unknown address'}${session.current ? ' (this device)' : ''}`;
      item.append(
        element('strong', label),
        element('span', session.userAgent ?? 'unknown browser', 'hint'),
        element('span', `since ${when(session.createdAt)}, last seen ${when(session.lastSeenAt)}`, 'hint'),
      );
      const revoke = element('button', 'Revoke', 'secondary');
      revoke.type = 'button';
      revoke.dataset.session = session.id;
      revoke.setAttribute('aria-label', `Revoke ${label}, since ${when(session.createdAt)}`);
      revoke.addEventListener('click', () =>
        act(revoke, async () => {
          await client.revokeSession(session.id);
          if (client.mode === null) return;
          say('Device revoked: it is logged out.');
          await loadDevices();
        }),
      );
      item.append(revoke);
      return item;
    }),
  );
}

$('logout-all').addEventListener('click', (event) => act(event.currentTarget, () => client.logoutAll()));
$('logout').addEventListener('click', (event) =>
  act(event.currentTarget, async () => {
    try {
      await client.logout();
    } catch (error) {
      // The client forgets the login here all the same, but the HttpOnly cookie, which this page
      // cannot clear, still holds it: saying only "server unreachable" would pass for logged out.
      say(
        `Logged out in this page only: ${describe(error)} The server still knows this login, and ` +
          'its cookie brings it back on reload: reload and log out again once the server answers.',
        { error: true },
      );
    }
  }),
);

// --- Password ---

$('password-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const data = new FormData(form);
  void act(form, async () => {
    await client.changePassword({
      currentPassword: String(data.get('currentPassword')),
      newPassword: String(data.get('newPassword')),
    });
    form.reset();
    say('Password changed. Every other device was logged out.');
    await loadDevices();
  });
});

// --- Login ---

$('login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const data = new FormData(form);
  const credentials = { email: String(data.get('email')), password: String(data.get('password')) };
  const register = event.submitter?.value === 'register';
  void act(form, async () => {
    if (register) {
      await client.register(credentials);
      say('Account created. Logging in…');
    }
    await client.login({ ...credentials, mode: data.get('mode') === 'token' ? 'token' : 'session' });
    $('password').value = '';
  });
});

/** Loads every panel at once: after a token expired, these calls share a single refresh. */
async function loadAll() {
  renderToken();
  const results = await Promise.allSettled([
    loadMe(),
    loadNotes(),
    loadDevices(),
    loadCookies(),
    panels.loadRoles(),
    panels.loadKeys(),
  ]);
  const failed = results.find((result) => result.status === 'rejected');
  if (failed && client.mode !== null) say(describe(failed.reason), { error: true });
  return results.every((result) => result.status === 'fulfilled');
}

$('reload').addEventListener('click', (event) =>
  act(event.currentTarget, async () => {
    if (await loadAll()) say('Reloaded from the server.');
  }),
);

client.on('login', ({ user, mode, restored }) => {
  show('in', { focus: !restored });
  say(`${restored ? 'Welcome back' : 'Logged in'}: ${user.email}, ${mode} mode.`);
  void loadAll();
});
client.on('refresh', () => renderToken());
client.on('logout', ({ reason }) => {
  renderToken();
  show('out', { focus: reason !== 'other-tab' && reason !== 'other-user' });
  const how = {
    local: 'Logged out.',
    everywhere: 'Logged out on every device.',
    'other-tab': 'Logged out in another tab.',
    'other-user': 'Another tab logged in as someone else: reload to continue as them.',
  };
  say(how[reason]);
});
client.on('session-ended', ({ code }) => {
  renderToken();
  show('out');
  say(`Your session has ended (${code}). Please log in again.`, { error: true });
});

say('Checking for a login…');
client.restore().then(
  (user) => {
    if (user) return;
    show('out');
    say('Not logged in.');
  },
  (error) => {
    show('out');
    say(describe(error), { error: true });
  },
);
