/** Small file helpers for billing outputs (kept local so billing does not depend on other jobs/ internals). */
import { randomBytes } from 'node:crypto';

export function uniqueSuffix(): string {
  return `${process.pid}-${randomBytes(6).toString('hex')}`;
}

export function isErrno(e: unknown, code: string): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === code;
}
