/**
 * The one redactor: credentials never reach a person or a file. Every user-visible text — configuration output,
 * log lines, run records, error messages, status and the HTML report — goes through `redact`, which hides the
 * password of any URL (`postgres://bm:p@ss@host/db` → `postgres://bm:***@host/db`, the password may contain `@`),
 * `password=` query parameters, and every secret remembered with `rememberSecret` (e.g. PGPASSWORD).
 */

const URL_IN_TEXT = /[a-z][a-z0-9+.-]*:\/\/[^\s'"<>`]+/gi;
/** scheme://userinfo@ — userinfo runs to the LAST `@` before the path, so a password may hold `@`. */
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#\s]*)@/i;

/** `postgres://user:secret@host/db` → `postgres://user:***@host/db` (also `?password=...`). */
export function redactUrl(url: string): string {
  let out = url.replace(USERINFO, (_m, scheme: string, info: string) => {
    const colon = info.indexOf(':');
    return colon < 0 ? `${scheme}${info}@` : `${scheme}${info.slice(0, colon)}:***@`;
  });
  out = out.replace(/([?&]password=)[^&#\s'"]*/gi, '$1***');
  return out;
}

/** The password of a URL (for scrubbing messages that quote it elsewhere), or null. */
export function urlPassword(url: string): string | null {
  if (URL.canParse(url)) {
    const u = new URL(url);
    if (u.password) return decodeURIComponent(u.password);
    return u.searchParams.get('password') || null;
  }
  const m = USERINFO.exec(url);
  const info = m?.[2];
  return info && info.includes(':') ? info.slice(info.indexOf(':') + 1) : null;
}

const remembered = new Set<string>();

/** Remembers a secret (a password from the configuration or the environment) so `redact` hides it anywhere. */
export function rememberSecret(secret: string | null | undefined): void {
  // very short values would blank out ordinary text; they are still hidden inside URLs
  if (secret && secret.length >= 4) remembered.add(secret);
}

/** Replaces every occurrence of each secret (and redacts any URL) in `text`. */
export function scrub(text: string, secrets: Iterable<string | null | undefined>): string {
  let out = text.replace(URL_IN_TEXT, (u) => redactUrl(u));
  for (const s of secrets) {
    if (s && s.length >= 1) {
      out = out.split(s).join('***');
      const enc = encodeURIComponent(s);
      if (enc !== s) out = out.split(enc).join('***');
    }
  }
  return out;
}

/** `scrub` with the remembered secrets: what every user-visible text goes through. */
export function redact(text: string): string {
  return scrub(text, remembered);
}
