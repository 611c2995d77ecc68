// The panel that shows who may call a strict admin route. Text only, never HTML.
import { $, act, element, say } from '/ui.js';

/** Reads a problem's `code` without trusting the body to be JSON. */
async function codeOf(response) {
  const body = await response.json().catch(() => null);
  return typeof body?.code === 'string' ? body.code : 'no code';
}

/** Sets up the roles panel over `client`; the page calls what it returns. */
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

  return { loadRoles };
}
