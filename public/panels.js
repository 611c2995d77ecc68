/* global fetch */
// The panels that show what the others take for granted: who may call a strict admin route, which
// public key signed this page's token, and what a refresh rotates. Text only, never HTML.
import { AuthClientError, decodeJwtHeader, decodeJwtPayload } from '/client/index.js';
import { $, act, element, say } from '/ui.js';

/** Reads a problem's `code` without trusting the body to be JSON. */
async function codeOf(response) {
  const body = await response.json().catch(() => null);
  return typeof body?.code === 'string' ? body.code : 'no code';
}

/** One table row, each cell labelled for the phone layout (where the table becomes blocks). */
function row(labels, values, classNames = []) {
  const tr = element('tr');
  tr.append(
    ...values.map((value, i) => {
      const cell = element('td', value, classNames[i]);
      cell.dataset.label = labels[i];
      return cell;
    }),
  );
  return tr;
}

/** Sets up the roles, keys and rotation panels over `client`; the page calls what it returns. */
export function setUpPanels(client) {
  // --- Roles and strict routes ---

  async function loadRoles() {
    const response = await client.fetch('/api/admin/users', { cache: 'no-store' });
    const list = $('roles-users');
    $('roles-explain').hidden = response.status !== 403;
    list.hidden = !response.ok;
    if (!response.ok) {
      $('roles-status').textContent = `${response.status} ${await codeOf(response)}`;
      $('roles-command').textContent =
        `npx coatcheck users set-role --email ${client.user?.email ?? 'you@example.com'} --role admin`;
      return;
    }
    const { users } = await response.json();
    $('roles-status').textContent = `${response.status}: your role is admin; ${users.length} user(s)`;
    list.replaceChildren(...users.map((user) => element('li', `${user.email} (${user.role})`)));
  }

  $('roles-ask').addEventListener('click', (event) =>
    act(event.currentTarget, async () => {
      await loadRoles();
      say('Asked GET /api/admin/users again.');
    }),
  );

  // --- Signing keys ---

  const KEY_COLUMNS = ['kid', 'alg', 'Key type', "Signed this page's token"];
  let keys = null;
  let refetchedFor = null;

  async function loadKeys() {
    // The JWKS may be cached for 5 minutes: ask the server whether it still holds after a rotation.
    const response = await fetch('/.well-known/jwks.json', { cache: 'no-cache' });
    if (!response.ok)
      throw new AuthClientError('jwks_unavailable', response.status, 'The public keys could not be loaded');
    ({ keys } = await response.json());
    renderKeys();
  }

  function renderKeys() {
    if (keys === null) return;
    const token = client.getAccessToken();
    const kid = token === null ? null : decodeJwtHeader(token).kid;
    // A token signed by a key newer than the list (a rotation meanwhile): fetch the list once more.
    if (kid && keys.length > 0 && !keys.some((key) => key.kid === kid) && refetchedFor !== kid) {
      refetchedFor = kid;
      void loadKeys().catch(() => undefined);
    }
    $('keys-none').hidden = keys.length > 0;
    $('keys-none').textContent =
      'No public keys: with HS256 the key is a shared secret, never published, so only coatcheck itself can verify.';
    $('key-rows').replaceChildren(
      ...keys.map((key) => {
        const signed =
          token === null ? 'no token here (session mode)' : key.kid === kid ? "yes: the token's kid" : 'no';
        const type = key.crv ? `${key.kty} / ${key.crv}` : String(key.kty);
        const tr = row(KEY_COLUMNS, [String(key.kid), String(key.alg), type, signed], ['mono wrap']);
        if (token !== null && key.kid === kid) tr.className = 'signed-this';
        return tr;
      }),
    );
  }

  // --- Refresh rotation ---

  const ROTATION_COLUMNS = ['Claim', 'Before', 'After'];
  let rotatedTo = null;

  function claim(payload, name) {
    const value = payload[name];
    if (name === 'jti' || typeof value !== 'number') return String(value);
    return `${value} (${new Date(value * 1000).toLocaleTimeString()})`;
  }

  function renderRotation() {
    const token = client.getAccessToken();
    $('rotation-none').hidden = token !== null;
    $('rotation-view').hidden = token === null;
    // The comparison is about one token: once another replaced it (or the login ended), hide it.
    $('rotation-result').hidden = rotatedTo === null || token !== rotatedTo;
  }

  $('refresh-now').addEventListener('click', (event) =>
    act(event.currentTarget, async () => {
      const before = client.getAccessToken();
      // false: the server refused the refresh, the login has ended, and `session-ended` says so.
      if (before === null || !(await client.refresh())) return;
      const after = client.getAccessToken();
      const [old, now] = [decodeJwtPayload(before), decodeJwtPayload(after)];
      $('rotation-rows').replaceChildren(
        ...['jti', 'iat', 'exp'].map((name) =>
          row(ROTATION_COLUMNS, [name, claim(old, name), claim(now, name)], ['mono', 'mono wrap', 'mono wrap']),
        ),
      );
      rotatedTo = after;
      renderRotation();
      const check = await client.fetch('/auth/me');
      $('rotation-check').textContent = `GET /auth/me with the new token: ${check.status}.`;
      say('Refreshed: a new access token here, and a new refresh token in the cookie.');
    }),
  );

  return {
    loadRoles,
    loadKeys,
    /** After a login, logout or refresh: what depends on the token in memory. */
    render() {
      renderRotation();
      renderKeys();
    },
  };
}
