import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { pathToFileURL } from "node:url";
import ort from "onnxruntime-node";
import { DeepenError, GraphError } from "../errors.js";
import { type GDType, Graph } from "../graph/graph.js";
import { type OnnxModel, toOnnx } from "../graph/toOnnx.js";

export type Device = "cpu" | "cuda" | "webgpu";
export const DEVICES: readonly Device[] = ["cpu", "cuda", "webgpu"];

export type HostData = Float32Array | Float64Array | BigInt64Array | Uint8Array;
export interface HostTensor {
  dtype: GDType;
  shape: readonly number[];
  data: HostData;
}

/** Token rows [B][T] as an int64 tensor. */
export function int64Rows(rows: number[][]): HostTensor {
  return {
    dtype: "int64",
    shape: [rows.length, rows[0]?.length ?? 0],
    data: BigInt64Array.from(rows.flat().map((t) => BigInt(t))),
  };
}

const ORT_TYPE: Record<GDType, "float32" | "float64" | "int64" | "bool"> = {
  float32: "float32",
  float64: "float64",
  int64: "int64",
  bool: "bool",
};

export interface SessionOptions {
  device?: Device;
  /** Intra-op threads; default: every core. */
  threads?: number;
  /** Graph optimisation; "all" by default. Float64 graphs (reference checks) want "basic": the fused
   * kernels "extended" introduces (QuickGelu, …) exist for float32 only. */
  optimization?: "all" | "extended" | "basic" | "disabled";
  /**
   * onnxruntime's memory pattern: it plans one arena block for a run's intermediates from the first
   * run, and for a training step it plans a second one on the second run, which stays allocated:
   * a 125M step peaked at 11.3 GiB with it and 7.5 GiB without, at the same speed. Default on
   * (inference graphs run many shapes once each); the training step turns it off.
   */
  memPattern?: boolean;
}

// onnxruntime's native logger writes straight to stderr; failures reach deepen as exceptions, which
// it reports on one line, so the logger stays quiet unless DEEPEN_ORT_LOG asks for it.
ort.env.logLevel = (process.env.DEEPEN_ORT_LOG as typeof ort.env.logLevel) ?? "fatal";

const probed = new Map<Device, Promise<void>>();

// A provider's native libraries (Dawn's Vulkan loader, CUDA's) write to stderr while they look for a
// device; the probe runs in a child process so that a user sees deepen's one line, not theirs.
const PROBE = `
const ort = (await import(process.env.DEEPEN_ORT_URL)).default;
try {
  const s = await ort.InferenceSession.create(Buffer.from(process.env.DEEPEN_PROBE_MODEL, "base64"), {
    executionProviders: [process.env.DEEPEN_PROBE_DEVICE],
    logSeverityLevel: 4,
  });
  await s.release();
} catch (e) {
  process.stdout.write(String(e?.message ?? e));
  process.exit(1);
}`;

/**
 * Checks, once per process, that onnxruntime-node can run on `device` by opening a one-node
 * session there in a child process (a provider can be listed yet lack its libraries), with an error
 * that says how to get it otherwise.
 */
export function checkDevice(device: Device): Promise<void> {
  if (device === "cpu") return Promise.resolve();
  let p = probed.get(device);
  if (!p) {
    p = (async () => {
      const g = new Graph();
      const x = g.input("x", "float32", [1]);
      const model = toOnnx(g, { y: g.op("Neg", [x]) }).bytes;
      const r = spawnSync(process.execPath, ["--input-type=module", "-e", PROBE], {
        encoding: "utf8",
        env: {
          ...process.env,
          DEEPEN_ORT_URL: pathToFileURL(createRequire(import.meta.url).resolve("onnxruntime-node")).href,
          DEEPEN_PROBE_MODEL: Buffer.from(model).toString("base64"),
          DEEPEN_PROBE_DEVICE: device,
        },
      });
      if (r.status === 0) return;
      const how =
        device === "cuda"
          ? "this install of onnxruntime-node has no CUDA provider (package.json's allowScripts skips its download); " +
            "on a CUDA machine run ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install"
          : "this build of onnxruntime-node has no working WebGPU provider";
      const why = (r.stdout || r.stderr || `exit status ${r.status}`).trim().split("\n")[0]!.slice(0, 200);
      throw new DeepenError(`--device ${device}: ${how} (${why})`);
    })();
    probed.set(device, p);
  }
  return p;
}

/** A compiled graph: an onnxruntime session and the names it takes and gives. */
export class CompiledGraph {
  private readonly declared: ReadonlySet<string>;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly inputs: readonly string[],
    readonly outputs: readonly string[],
  ) {
    this.declared = new Set(inputs);
  }

  /** Whether the graph takes `name` (toOnnx leaves out inputs no output depends on). */
  takes(name: string): boolean {
    return this.declared.has(name);
  }

  /** The tensors among `named` that the graph takes: a model's parameters less those it pruned. */
  taken(named: Iterable<[string, HostTensor]>): Record<string, HostTensor> {
    const feeds: Record<string, HostTensor> = {};
    for (const [name, t] of named) if (this.declared.has(name)) feeds[name] = t;
    return feeds;
  }

  static async create(model: OnnxModel, opts: SessionOptions = {}): Promise<CompiledGraph> {
    const device = opts.device ?? "cpu";
    await checkDevice(device);
    const session = await ort.InferenceSession.create(model.bytes, {
      executionProviders: [device],
      graphOptimizationLevel: opts.optimization ?? "all",
      intraOpNumThreads: opts.threads ?? availableParallelism(),
      interOpNumThreads: 1,
      enableMemPattern: opts.memPattern ?? true,
      // Adam moments of tiny gradients underflow into subnormals, which x86 computes ~100× slower; flush them to zero.
      extra: { session: { set_denormal_as_zero: "1" } },
    });
    return new CompiledGraph(session, model.inputs, model.outputs);
  }

  async run(feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
    // A feed the graph does not take is a caller's bug (a misspelt or pruned input would otherwise
    // be dropped silently, as clip_norm once was): refuse it by name.
    for (const name of Object.keys(feeds)) {
      if (!this.declared.has(name)) throw new GraphError(`feed ${name} is not an input of this graph`);
    }
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const name of this.inputs) {
      const t = feeds[name];
      if (!t) throw new DeepenError(`graph input ${name} was not fed`);
      ortFeeds[name] = new ort.Tensor(ORT_TYPE[t.dtype], t.data as never, [...t.shape]);
    }
    const res = await this.session.run(ortFeeds);
    const out: Record<string, HostTensor> = {};
    for (const name of this.outputs) {
      const t = res[name]!;
      out[name] = { dtype: t.type as GDType, shape: [...t.dims], data: t.data as HostData };
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Compiled graphs keyed by what shaped them (batch, sequence length, …): each is built once. */
export class GraphCache {
  private readonly entries = new Map<string, Promise<CompiledGraph>>();
  constructor(private readonly opts: SessionOptions = {}) {}

  get(key: string, build: () => OnnxModel): Promise<CompiledGraph> {
    let p = this.entries.get(key);
    if (!p) {
      p = CompiledGraph.create(build(), this.opts);
      this.entries.set(key, p);
    }
    return p;
  }

  async release(): Promise<void> {
    for (const p of this.entries.values()) await (await p).release();
    this.entries.clear();
  }
}
