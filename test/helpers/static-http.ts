/**
 * A read-only HTTP server on 127.0.0.1 over one directory, with HEAD and single-range GET (what an object
 * store offers a reader such as icebird/hyparquet, which read only through fetch). Symlinks are followed.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface StaticServer {
  url: string;
  /** Paths requested so far (relative, decoded), for asserting what a reader touched. */
  requests: string[];
  close(): Promise<void>;
}

export async function serveDirectory(root: string): Promise<StaticServer> {
  const requests: string[] = [];
  const server = http.createServer(async (req, res) => {
    try {
      const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '');
      const abs = path.resolve(root, rel);
      if (!abs.startsWith(path.resolve(root) + path.sep)) {
        res.writeHead(403).end();
        return;
      }
      requests.push(rel);
      const st = await stat(abs).catch(() => null);
      if (!st?.isFile()) {
        res.writeHead(404).end();
        return;
      }
      const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
      let start = 0;
      let end = st.size - 1;
      if (range) {
        if (range[1] === '') start = Math.max(0, st.size - Number(range[2]));
        else {
          start = Number(range[1]);
          if (range[2] !== '') end = Math.min(end, Number(range[2]));
        }
        if (start > end || start >= st.size) {
          res.writeHead(416, { 'content-range': `bytes */${st.size}` }).end();
          return;
        }
      }
      const headers: http.OutgoingHttpHeaders = { 'content-length': end - start + 1, 'accept-ranges': 'bytes' };
      if (range) headers['content-range'] = `bytes ${start}-${end}/${st.size}`;
      res.writeHead(range ? 206 : 200, headers);
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      createReadStream(abs, { start, end }).pipe(res);
    } catch (e) {
      res.writeHead(500).end(String(e));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
}

export interface SnapshotView {
  'snapshot-id': number;
  'parent-snapshot-id'?: number;
  'sequence-number': number;
  summary: Record<string, string>;
}
/** Snapshots of icebird's metadata (its type names only the summary keys it knows; ours are read as text). */
export const snaps = (m: { snapshots?: unknown[] }) => (m.snapshots ?? []) as SnapshotView[];
