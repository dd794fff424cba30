/** Credentials never reach a log line or an error message: everything user-visible goes through here. */

/** `postgres://user:secret@host/db` → `postgres://user:***@host/db` (also `?password=...`). */
export function redactUrl(url: string): string {
  let out = url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@?#]*):[^@/?#]*@/i, '$1:***@');
  out = out.replace(/([?&]password=)[^&#]*/gi, '$1***');
  return out;
}

/** Extracts the password of a URL (for scrubbing messages), or null. */
export function urlPassword(url: string): string | null {
  if (URL.canParse(url)) {
    const u = new URL(url);
    if (u.password) return decodeURIComponent(u.password);
    return u.searchParams.get('password') || null;
  }
  // not a parseable URL: fall back to the userinfo pattern
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^:/@]*:([^@/]*)@/i.exec(url);
  return m ? m[1]! : null;
}

/** Replaces every occurrence of each secret (and redacts any URL) in `text`. */
export function scrub(text: string, secrets: readonly (string | null | undefined)[]): string {
  let out = text.replace(/[a-z][a-z0-9+.-]*:\/\/[^\s'"]+/gi, (u) => redactUrl(u));
  for (const s of secrets) {
    if (s && s.length >= 1) out = out.split(s).join('***');
  }
  return out;
}
