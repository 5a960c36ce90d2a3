# The same Llama forward and AdamW step as bench/engine.ts, in PyTorch eager, for a side-by-side
# ratio. Written plainly from the architecture's definition; weights are random (speed only).
# Prints every timed run (after one warm-up), the threads and the BLAS library torch loaded: the
# caller (bench/torchBaseline.ts) picks its best configuration.
import json, math, resource, sys, time
import torch
import torch.utils.checkpoint

cfg = json.loads(sys.argv[1])
d = cfg["dims"]
torch.set_num_threads(cfg["threads"])
torch.manual_seed(0)
H, I, nh, nkv, hd, V, L = d["hidden"], d["intermediate"], d["heads"], d["kvHeads"], d["headDim"], d["vocab"], cfg["layers"]
B, T = cfg["batch"], cfg["seq"]

def p(*shape):
    return torch.nn.Parameter(torch.randn(*shape) * 0.02)

params = {"embed": p(V, H), "norm": torch.nn.Parameter(torch.ones(H)), "head": p(V, H)}
for l in range(L):
    params.update({f"{l}.q": p(nh * hd, H), f"{l}.k": p(nkv * hd, H), f"{l}.v": p(nkv * hd, H), f"{l}.o": p(H, nh * hd),
                   f"{l}.gate": p(I, H), f"{l}.up": p(I, H), f"{l}.down": p(H, I),
                   f"{l}.n1": torch.nn.Parameter(torch.ones(H)), f"{l}.n2": torch.nn.Parameter(torch.ones(H))})

inv = 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd))
ang = torch.arange(T).float()[:, None] * inv[None, :]
cos, sin = torch.cat([ang.cos(), ang.cos()], -1), torch.cat([ang.sin(), ang.sin()], -1)
mask = torch.full((T, T), float("-inf")).triu(1)

def rms(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * w

def rope(x, c=cos, s=sin):
    x1, x2 = x[..., : hd // 2], x[..., hd // 2 :]
    return x * c + torch.cat([-x2, x1], -1) * s

def layer(x, l, c=cos, s=sin, cache=None):
    # One decoder layer over x [b, t, H]; with `cache` (per-layer lists of keys and values, for
    # generation) this call's keys and values are appended to the layer's and attention reads them all.
    b, t = x.shape[0], x.shape[1]
    h = rms(x, params[f"{l}.n1"])
    q = rope((h @ params[f"{l}.q"].T).view(b, t, nh, hd).transpose(1, 2), c, s)
    k = rope((h @ params[f"{l}.k"].T).view(b, t, nkv, hd).transpose(1, 2), c, s)
    v = (h @ params[f"{l}.v"].T).view(b, t, nkv, hd).transpose(1, 2)
    if cache is not None:
        ks, vs = cache
        ks[l] = k if ks[l] is None else torch.cat([ks[l], k], 2)
        vs[l] = v if vs[l] is None else torch.cat([vs[l], v], 2)
        k, v = ks[l], vs[l]
    k = k.repeat_interleave(nh // nkv, dim=1)
    v = v.repeat_interleave(nh // nkv, dim=1)
    sc = q @ k.transpose(-1, -2) / math.sqrt(hd)
    if t > 1:  # the whole sequence or a prompt, both from position 0; one new token sees every key
        sc = sc + mask[:t, :t]
    a = torch.softmax(sc, -1) @ v
    x = x + a.transpose(1, 2).reshape(b, t, nh * hd) @ params[f"{l}.o"].T
    h = rms(x, params[f"{l}.n2"])
    return x + (torch.nn.functional.silu(h @ params[f"{l}.gate"].T) * (h @ params[f"{l}.up"].T)) @ params[f"{l}.down"].T

# With "recompute", each layer is checkpointed (torch.utils.checkpoint, the non-reentrant form):
# PyTorch's own activation recomputation, the baseline for deepen's --recompute.
recompute = cfg.get("recompute", False)

def loss_fn(tokens):
    x = params["embed"][tokens]
    for l in range(L):
        if recompute and torch.is_grad_enabled():
            x = torch.utils.checkpoint.checkpoint(layer, x, l, use_reentrant=False)
        else:
            x = layer(x, l)
    logits = rms(x, params["norm"]) @ params["head"].T
    return torch.nn.functional.cross_entropy(logits.view(-1, V), tokens.view(-1))

tokens = torch.randint(0, V, (B, T))
opt = torch.optim.AdamW(params.values(), lr=1e-4)

def timed(fn, n):
    fn()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
    return ts

def fwd():
    with torch.no_grad():
        loss_fn(tokens)

def step():
    opt.zero_grad()
    loss_fn(tokens).backward()
    opt.step()

def blas():
    # The BLAS shared object this process mapped (Debian switches it with update-alternatives).
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if "blas" in line.split()[-1]}
    return sorted(libs)

# Greedy generation with a key/value cache, batch 1: the prompt in one pass, then one token a pass,
# each layer's keys and values grown by concatenation (as transformers' default cache grows them).
gen_prompt, gen_new = cfg.get("genPrompt", 0), cfg.get("genNew", 0)

def decode(tok, pos, cache):
    t = tok.shape[1]
    c, s = cos[pos : pos + t], sin[pos : pos + t]
    x = params["embed"][tok]
    for l in range(L):
        x = layer(x, l, c, s, cache)
    return rms(x[:, -1], params["norm"]) @ params["head"].T

def generate():
    with torch.no_grad():
        cache = ([None] * L, [None] * L)
        logits = decode(tokens[:1, :gen_prompt], 0, cache)
        for i in range(gen_new):
            nxt = logits.argmax(-1)
            if i == gen_new - 1:
                break
            logits = decode(nxt.view(1, 1), gen_prompt + i, cache)

train = timed(step, cfg["steps"])
forward = timed(fwd, cfg["steps"])
generation = timed(generate, cfg["steps"]) if gen_new else []
print(json.dumps({"forward": forward, "train": train, "generate": generation, "version": torch.__version__,
                  "threads": torch.get_num_threads(), "blas": blas(),
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
