// A Hugging Face Hub on 127.0.0.1 for tests: exactly the routes @huggingface/hub calls for a
// download, with the headers and X-Error-Codes the real Hub sends, LFS content on a CDN of another
// origin (as the real one), Range support, request counting, and faults to inject (a connection
// dropped mid-file, a corrupted body, a slow body, a Range ignored, an error status for the body).
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join, relative } from "node:path";
import { contentHash } from "../../../src/checkpoint/hub/contentHash.js";

export interface HubFile {
  content: Buffer;
  lfs: boolean;
}

export interface HubRepo {
  /** Branches and tags → commit. */
  refs: Map<string, string>;
  /** commit → path → file. */
  commits: Map<string, Map<string, HubFile>>;
  /** Gated: only this token gets the files (401 without a token, 403 with another). */
  token?: string;
}

export interface LoggedRequest {
  method: string;
  url: string;
  range: string | undefined;
  authorization: string | undefined;
}

/** Files with these endings are stored in LFS, as the Hub's default .gitattributes says. */
const LFS = /\.(safetensors|bin|gguf|pt|pth|onnx|h5|msgpack|model)$/;

/** Every file under `dir` (relative paths), as a commit's content. */
export function filesOf(dir: string, extra: Record<string, string | Buffer> = {}): Map<string, HubFile> {
  const files = new Map<string, HubFile>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else files.set(relative(dir, p), { content: readFileSync(p), lfs: LFS.test(name) });
    }
  };
  walk(dir);
  for (const [path, content] of Object.entries(extra))
    files.set(path, { content: Buffer.from(content), lfs: LFS.test(path) });
  return files;
}

/** A fake commit hash derived from a label. */
export const commitOf = (label: string): string => createHash("sha1").update(label).digest("hex");

const lfsPointer = (f: HubFile) =>
  Buffer.from(
    `version https://git-lfs.github.com/spec/v1\noid sha256:${contentHash(true, f.content)}\nsize ${f.content.length}\n`,
  );

/** The tree listing entry the Hub gives: oid is the git blob (the pointer for LFS files). */
function treeEntry(path: string, f: HubFile) {
  const pointer = lfsPointer(f);
  return f.lfs
    ? {
        type: "file",
        path,
        size: f.content.length,
        oid: contentHash(false, pointer),
        lfs: { oid: contentHash(true, f.content), size: f.content.length, pointerSize: pointer.length },
      }
    : { type: "file", path, size: f.content.length, oid: contentHash(false, f.content) };
}

export class FakeHub {
  readonly repos = new Map<string, HubRepo>();
  readonly requests: LoggedRequest[] = [];
  /** Bytes of file bodies sent, per path. */
  readonly bodyBytes = new Map<string, number>();
  /** Next time this path's body is served: send this many bytes, then drop the connection. */
  readonly dropAfter = new Map<string, number>();
  /** Paths whose body is served with one byte flipped. */
  readonly corrupt = new Set<string>();
  /** Paths whose body is sent in ten pieces spread over this many milliseconds. */
  readonly slow = new Map<string, number>();
  /** Next time this path's body is asked for with a Range, the whole file is sent (200). */
  readonly ignoreRangeOnce = new Set<string>();
  /** Next time this path's body (not the size probe) is asked for, answer this status instead. */
  readonly failBody = new Map<string, number>();
  private server: Server | undefined;
  private cdn: Server | undefined;
  url = "";
  /** The CDN's origin: another port, so fetch drops Authorization on the redirect, as for the real one. */
  cdnUrl = "";

  add(
    repo: string,
    commit: string,
    files: Map<string, HubFile>,
    refs: string[] = ["main"],
    token?: string,
  ): void {
    const r = this.repos.get(repo) ?? { refs: new Map(), commits: new Map(), token };
    r.commits.set(commit, files);
    for (const ref of refs) r.refs.set(ref, commit);
    this.repos.set(repo, r);
  }

  async start(): Promise<string> {
    const listen = async (s: Server) => {
      await new Promise<void>((ok) => s.listen(0, "127.0.0.1", ok));
      return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    };
    this.server = createServer((req, res) => this.handle(req, res, this.url));
    this.cdn = createServer((req, res) => this.handle(req, res, this.cdnUrl));
    this.url = await listen(this.server);
    this.cdnUrl = await listen(this.cdn);
    return this.url;
  }

  async stop(): Promise<void> {
    for (const s of [this.server, this.cdn]) {
      s?.closeAllConnections();
      await new Promise((ok) => s?.close(ok));
    }
  }

  private fail(res: ServerResponse, status: number, code: string, message: string) {
    res.writeHead(status, { "Content-Type": "application/json", "X-Error-Code": code });
    res.end(JSON.stringify({ error: message }));
  }

  private json(res: ServerResponse, body: unknown) {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify(body));
  }

  /** The repo and commit a request names, or why not (the response already sent). */
  private locate(req: IncomingMessage, res: ServerResponse, repo: string, rev: string) {
    const r = this.repos.get(repo);
    // Without a token the Hub cannot say a repo is missing rather than private: 401 either way.
    if (!r)
      return req.headers.authorization === undefined
        ? this.fail(res, 401, "RepoNotFound", "Invalid username or password.")
        : this.fail(res, 404, "RepoNotFound", "Repository not found");
    if (r.token !== undefined) {
      const auth = req.headers.authorization;
      if (auth === undefined)
        return this.fail(res, 401, "GatedRepo", "Access to model is restricted. You must be authenticated.");
      if (auth !== `Bearer ${r.token}`)
        return this.fail(res, 403, "GatedRepo", "Access to model is restricted.");
    }
    const commit = r.refs.get(rev) ?? (r.commits.has(rev) ? rev : undefined);
    if (commit === undefined) return this.fail(res, 404, "RevisionNotFound", "Invalid rev id");
    return { files: r.commits.get(commit)!, commit };
  }

  private handle(req: IncomingMessage, res: ServerResponse, origin: string): void {
    const url = new URL(req.url!, origin);
    this.requests.push({
      method: req.method!,
      url: req.url!,
      range: req.headers.range,
      authorization: req.headers.authorization,
    });
    const path = decodeURIComponent(url.pathname);
    const onCdn = origin === this.cdnUrl;
    let m = onCdn ? null : /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(path);
    if (m) {
      const at = this.locate(req, res, m[1]!, m[2]!);
      if (at)
        this.json(res, {
          _id: "x",
          id: m[1],
          private: false,
          gated: false,
          downloads: 0,
          likes: 0,
          lastModified: new Date().toISOString(),
          sha: at.commit,
        });
      return;
    }
    m = onCdn ? null : /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)$/.exec(path);
    if (m) {
      const at = this.locate(req, res, m[1]!, m[2]!);
      if (at)
        this.json(
          res,
          [...at.files].map(([p, f]) => treeEntry(p, f)),
        );
      return;
    }
    m = onCdn ? null : /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (m) {
      const at = this.locate(req, res, m[1]!, m[2]!);
      if (!at) return;
      const f = at.files.get(m[3]!);
      if (!f) return this.fail(res, 404, "EntryNotFound", "Entry not found");
      const common = { "X-Repo-Commit": at.commit };
      if (f.lfs) {
        // LFS content lives on the CDN: the Hub redirects there, saying what it will be.
        res.writeHead(302, {
          ...common,
          Location: `${this.cdnUrl}/cdn/${contentHash(true, f.content)}?file=${encodeURIComponent(m[3]!)}`,
          ETag: `"${contentHash(false, lfsPointer(f))}"`,
          "X-Linked-Etag": `"${contentHash(true, f.content)}"`,
          "X-Linked-Size": String(f.content.length),
        });
        res.end();
        return;
      }
      return this.serve(req, res, m[3]!, f, { ...common, ETag: `"${contentHash(false, f.content)}"` });
    }
    m = onCdn ? /^\/cdn\/([0-9a-f]{64})$/.exec(path) : null;
    if (m) {
      const file = url.searchParams.get("file") ?? "";
      for (const r of this.repos.values())
        for (const files of r.commits.values()) {
          const f = files.get(file);
          if (f && contentHash(true, f.content) === m[1])
            return this.serve(req, res, file, f, { ETag: `"${m[1]}"` });
        }
    }
    res.writeHead(404);
    res.end();
  }

  /** A file body, whole or the Range asked for (206), with the faults set for it. */
  private serve(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    f: HubFile,
    headers: Record<string, string>,
  ) {
    const probe = req.headers.range === "bytes=0-0";
    const status0 = probe ? undefined : this.failBody.get(path);
    if (status0 !== undefined) {
      this.failBody.delete(path);
      res.writeHead(status0, { "Content-Type": "application/xml" });
      res.end("<Error><Code>AccessDenied</Code></Error>");
      return;
    }
    let body = f.content;
    if (this.corrupt.has(path)) {
      body = Buffer.from(body);
      body[body.length >> 1]! ^= 0xff;
    }
    const total = body.length;
    let range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    if (range && !probe && this.ignoreRangeOnce.delete(path)) range = null;
    let status = 200;
    const h: Record<string, string> = {
      ...headers,
      "Accept-Ranges": "bytes",
      "Content-Type": "application/octet-stream",
    };
    if (range) {
      const start = Number(range[1]);
      const end = range[2] ? Math.min(Number(range[2]), total - 1) : total - 1;
      if (start >= total) {
        res.writeHead(416, { "Content-Range": `bytes */${total}` });
        res.end();
        return;
      }
      body = body.subarray(start, end + 1);
      status = 206;
      h["Content-Range"] = `bytes ${start}-${end}/${total}`;
    }
    h["Content-Length"] = String(body.length);
    res.writeHead(status, h);
    const drop = body.length > 1 ? this.dropAfter.get(path) : undefined;
    const sent = drop === undefined ? body : body.subarray(0, drop);
    this.bodyBytes.set(path, (this.bodyBytes.get(path) ?? 0) + sent.length);
    const spread = probe ? undefined : this.slow.get(path);
    if (drop === undefined && spread !== undefined) {
      const piece = Math.ceil(body.length / 10);
      let at = 0;
      const next = () => {
        res.write(body.subarray(at, at + piece));
        at += piece;
        if (at < body.length) setTimeout(next, spread / 10);
        else res.end();
      };
      next();
      return;
    }
    if (drop === undefined) {
      res.end(body);
      return;
    }
    this.dropAfter.delete(path);
    res.write(sent, () => setTimeout(() => res.socket?.destroy(), 20));
  }
}
