/**
 * The one way a store URL, a configuration value or any text that may quote one is shown to a
 * person or a log: passwords in URL userinfo (`esdb://user:secret@host`), secret-looking
 * query parameters (`?password=…`, `token=…`) and Stripe secrets (`sk_live_…`, `rk_test_…`,
 * `whsec_…`, wherever they appear) become `***`. Applied where text leaves the
 * process (log lines, error messages, CLI output), so a driver that quotes its connection
 * string in an error cannot leak it either.
 */

export const REDACTED = '***';

// scheme://user:password@ — the password is anything up to the last @ before the host part.
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@:"'`]*):([^\s/?#"'`]*)@/gi;
const SECRET_PARAM = /([?&;](?:password|passwd|pwd|pass|secret|token|api[-_]?key|access[-_]?key)=)([^&#\s"'`]*)/gi;
// The prefix stays (it says which kind of key and which mode); the rest, the secret itself, goes.
const STRIPE_SECRET = /\b((?:sk|rk)_(?:live|test)_|whsec_)[A-Za-z0-9_*]+/g;

export function redactSecrets(text: string): string {
  if (!text.includes('://') && !text.includes('=') && !text.includes('_')) return text;
  return text
    .replace(USERINFO, `$1$2:${REDACTED}@`)
    .replace(SECRET_PARAM, `$1${REDACTED}`)
    .replace(STRIPE_SECRET, `$1${REDACTED}`);
}
