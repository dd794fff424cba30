/**
 * `billing-mart timestamps`: JSON lines on stdin → one normalised JSON line per input line, in order.
 * Streams in chunks (no whole-input buffering), batches output and honours backpressure. A bad line yields an
 * `error` for that line and the run goes on; the exit code is 0 unless stdin itself cannot be read.
 */
import { StringDecoder } from 'node:string_decoder';
import type { Writable } from 'node:stream';
import { FatalError } from '../../events/errors.js';
import { timestampLine } from '../../events/time-lines.js';
import type { ParseOptions } from '../../events/time.js';
import { CliExit, EXIT, type Register } from './context.js';

const FLUSH_AT = 64 * 1024;

export interface TimestampStreamResult {
  lines: number;
  /** Output stopped early because the reader went away (EPIPE, e.g. `| head`). */
  closed: boolean;
}

/** Writes `text`, waiting for 'drain' when the stream's buffer is full. Resolves false when the stream is gone. */
function writeWithBackpressure(out: Writable, text: string, state: { closed: boolean }): Promise<boolean> | boolean {
  if (state.closed) return false;
  if (out.write(text)) return true;
  return new Promise<boolean>((resolve) => {
    const done = (ok: boolean) => {
      out.off('drain', onDrain);
      out.off('close', onClose);
      out.off('error', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => {
      state.closed = true;
      done(false);
    };
    out.on('drain', onDrain);
    out.on('close', onClose);
    out.on('error', onClose);
  });
}

/** Runs the line protocol over any byte/text stream (stdin in the CLI, arrays in tests). */
export async function runTimestampStream(
  input: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
  out: Writable,
  options?: ParseOptions,
): Promise<TimestampStreamResult> {
  const state = { closed: false };
  const onError = (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') state.closed = true;
  };
  out.on('error', onError);
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let lineNo = 0;
  let buf = '';
  const emit = (line: string) => {
    lineNo++;
    const text = line.length > 0 && line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;
    buf += timestampLine(text, lineNo, options) + '\n';
  };
  try {
    for await (const chunk of input) {
      const text = rest + (typeof chunk === 'string' ? chunk : decoder.write(chunk));
      let start = 0;
      let nl = text.indexOf('\n', start);
      while (nl !== -1) {
        emit(text.slice(start, nl));
        start = nl + 1;
        nl = text.indexOf('\n', start);
      }
      rest = text.slice(start);
      if (buf.length >= FLUSH_AT) {
        const ok = await writeWithBackpressure(out, buf, state);
        buf = '';
        if (!ok) break;
      }
      if (state.closed) break;
    }
    if (!state.closed) {
      rest += decoder.end();
      if (rest !== '') emit(rest);
      if (buf !== '') await writeWithBackpressure(out, buf, state);
    }
  } finally {
    out.off('error', onError);
  }
  return { lines: lineNo, closed: state.closed };
}

const EPOCH_MODES = ['auto', 'seconds', 'milliseconds'] as const;

export const register: Register = (program) => {
  program
    .command('timestamps')
    .description('read {"raw":..., "source_tz":...} JSON lines on stdin and write the UTC normalisation of each, in order')
    .option('--epoch <mode>', 'how to read bare integers: auto (below 1e11 seconds, below 1e14 milliseconds), seconds, milliseconds', 'auto')
    .addHelpText(
      'after',
      [
        '',
        'Each output line: {"utc","utc_date","precision","truncated_to_midnight","ambiguous","nonexistent","source_local_date","error"}.',
        'A bad line gets an "error" and the run goes on; exit 0 unless stdin cannot be read. Policies: docs/timestamps.md.',
        '',
        'Example:',
        `  echo '{"raw":"2017-03-12 02:30","source_tz":"America/Los_Angeles"}' | billing-mart timestamps`,
      ].join('\n'),
    )
    .action(async (opts: { epoch: string }) => {
      const mode = EPOCH_MODES.find((m) => m === opts.epoch);
      if (!mode) throw new CliExit(EXIT.USAGE, `--epoch must be one of ${EPOCH_MODES.join(', ')} (got ${JSON.stringify(opts.epoch)})`);
      try {
        await runTimestampStream(process.stdin, process.stdout, { epoch: mode });
      } catch (e) {
        throw new FatalError(`cannot read stdin: ${(e as Error).message}`, { cause: e });
      }
    });
};
