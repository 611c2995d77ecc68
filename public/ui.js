/* global document */
// What every panel of the demo page shares: the status line, error messages, safe element creation
// (textContent only, never HTML) and running an action with its control disabled.
import { AuthClientError } from '/client/index.js';

export const $ = (id) => document.getElementById(id);
const status = $('status');

const MESSAGES = {
  invalid_credentials: 'The email or password is wrong.',
  email_taken: 'An account with this email already exists: log in instead.',
  weak_password: 'That password is too weak: use 8 to 128 characters, and not a common password.',
  csrf_rejected: 'The server refused a request that did not come from its own origin.',
  network_error: 'The server could not be reached.',
};

export function describe(error) {
  if (!(error instanceof AuthClientError)) return 'Something went wrong.';
  if (error.code === 'too_many_attempts') return `Too many attempts: try again in ${error.retryAfter ?? 'a few'} s.`;
  if (error.code === 'invalid_request' && error.errors.length > 0) {
    return error.errors.map((e) => `${e.path}: ${e.message}`).join(' ');
  }
  // The server says which rule the password broke (common, the email, the current password).
  if (error.code === 'weak_password' && error.errors.length > 0) {
    return `That password is not accepted: ${error.errors.map((e) => e.message).join(' ')}`;
  }
  return MESSAGES[error.code] ?? `${error.message} (${error.code}).`;
}

export function say(message, { error = false } = {}) {
  status.textContent = message;
  status.classList.toggle('error', error);
}

export function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

export const when = (iso) => new Date(iso).toLocaleString();

/** Runs an action with its form or button disabled, and reports a failure in the status line. */
export async function act(control, action) {
  const controls = control.tagName === 'FORM' ? [...control.elements] : [control];
  // Disabling the focused control drops focus to <body>: a keyboard or screen-reader user would
  // lose their place after every wrong password or added note. It is given back at the end.
  const focused = control.contains(document.activeElement) ? document.activeElement : null;
  for (const c of controls) c.disabled = true;
  control.setAttribute('aria-busy', 'true');
  try {
    await action();
  } catch (error) {
    say(describe(error), { error: true });
  } finally {
    for (const c of controls) c.disabled = false;
    control.removeAttribute('aria-busy');
    // Unless something else took focus meanwhile (a panel that appeared), or the control is gone.
    const free = document.activeElement === null || document.activeElement === document.body;
    if (focused?.isConnected && free && !focused.closest('[hidden]')) focused.focus();
  }
}
