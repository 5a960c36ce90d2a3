# PyTorch side of bench/lora.ts: the same LoRA merge as `deepen lora merge`, in PyTorch's best
# configuration here (threads set by the caller, float32 matmul, no autograd). Reads and writes the
# safetensors files directly (8-byte little-endian header length, JSON header, data), as the
# safetensors package would: each file read whole into memory, every tensor a view of it.
#   merge MODEL ADAPTER OUT THREADS: load every tensor, W = bf16(W + (alpha/r)·B@A) for each LoRA pair
#     (the matmul and the sum in float32), write OUT with the model's shard layout; prints JSON.
#   compare DIR_A DIR_B MODEL ADAPTER: the largest difference over the updated tensors, in absolute
#     terms and in bf16 ulps (each element's ulp taken at the largest of W and the two outputs there), the
#     count of elements that differ, whether every other tensor is byte-identical; prints JSON.
import json, os, re, shutil, sys, time

t_start = time.perf_counter()
import torch

DTYPES = {"BF16": torch.bfloat16, "F16": torch.float16, "F32": torch.float32}
NAMES = {v: k for k, v in DTYPES.items()}


def peak_rss_mib():
    """The resident high-water mark (VmHWM), which unlike ru_maxrss is not inherited across exec."""
    with open("/proc/self/status") as f:
        return int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1)) / 1024


def read_safetensors(path):
    """Every tensor of one file, as views of the file's bytes read whole."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        size = os.fstat(f.fileno()).st_size - 8 - n
        buf = bytearray(size)
        f.readinto(buf)
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        dtype = DTYPES[e["dtype"]]
        count = (b - a) // torch.tensor([], dtype=dtype).element_size()
        t = torch.frombuffer(buf, dtype=dtype, count=count, offset=a) if count else torch.empty(0, dtype=dtype)
        out[name] = t.view(e["shape"])
    return out


def write_safetensors(path, tensors):
    header, offset = {}, 0
    for name, t in tensors:
        n = t.numel() * t.element_size()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + n]}
        offset += n
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for _, t in tensors:
            f.write(t.contiguous().view(-1).view(torch.uint8).numpy().data)


def model_shards(folder):
    """Shard file → tensor names in the file's order, from the index (or the single model.safetensors)."""
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            weight_map = json.load(f)["weight_map"]
        shards = {}
        for name, shard in weight_map.items():
            shards.setdefault(shard, []).append(name)
        return shards, index
    return {"model.safetensors": None}, None


class LazyModel:
    """A model folder's tensors read one at a time (for compare, so three models need not fit in memory)."""

    def __init__(self, folder):
        shards, _ = model_shards(folder)
        self.entries = {}
        for shard in shards:
            path = os.path.join(folder, shard)
            with open(path, "rb") as f:
                n = int.from_bytes(f.read(8), "little")
                header = json.loads(f.read(n))
            for name, e in header.items():
                if name != "__metadata__":
                    self.entries[name] = (path, 8 + n + e["data_offsets"][0], e)

    def __getitem__(self, name):
        path, at, e = self.entries[name]
        a, b = e["data_offsets"]
        buf = bytearray(b - a)
        with open(path, "rb") as f:
            f.seek(at)
            f.readinto(buf)
        if not buf:
            return torch.empty(e["shape"], dtype=DTYPES[e["dtype"]])
        return torch.frombuffer(buf, dtype=DTYPES[e["dtype"]]).view(e["shape"])


def read_adapter(folder):
    with open(os.path.join(folder, "adapter_config.json")) as f:
        cfg = json.load(f)
    t = read_safetensors(os.path.join(folder, "adapter_model.safetensors"))
    pairs = {}
    prefix = "base_model.model."
    for name, a in t.items():
        if name.endswith(".lora_A.weight"):
            module = name[len(prefix) : -len(".lora_A.weight")]
            pairs[module + ".weight"] = (a, t[name.replace(".lora_A.", ".lora_B.")])
    return cfg["lora_alpha"] / cfg["r"], pairs


def load_model(folder):
    shards, index = model_shards(folder)
    tensors = {}
    for shard in shards:
        tensors.update(read_safetensors(os.path.join(folder, shard)))
    return shards, index, tensors


def merge(model, adapter, out, threads):
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    with torch.no_grad():
        scale, pairs = read_adapter(adapter)
        shards, index, tensors = load_model(model)
        for target, (a, b) in pairs.items():
            w = tensors[target]
            tensors[target] = torch.addmm(w.float(), b.float(), a.float(), alpha=scale).to(w.dtype)
        os.makedirs(out, exist_ok=True)
        total = 0
        for shard, names in shards.items():
            items = [(n, tensors[n]) for n in (names if names is not None else tensors)]
            write_safetensors(os.path.join(out, shard), items)
            total += sum(t.numel() * t.element_size() for _, t in items)
        if index:
            shutil.copy(index, out)
        shutil.copy(os.path.join(model, "config.json"), out)
    print(
        json.dumps(
            {
                "seconds_after_import": time.perf_counter() - t0,
                "import_seconds": t0 - t_start,
                "bytes": total,
                "modules": len(pairs),
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
                "peak_rss_mib": peak_rss_mib(),
            }
        )
    )


def compare(dir_a, dir_b, model, adapter):
    _, pairs = read_adapter(adapter)
    ta, tb, tw = LazyModel(dir_a), LazyModel(dir_b), LazyModel(model)
    max_abs = max_ulps = max_value = 0.0
    differ = total = 0
    for name in pairs:
        a, b = ta[name].float(), tb[name].float()
        d = (a - b).abs()
        # The scale of an element: the largest of the base weight and both results, so that an
        # output cancelled to near zero (W ≈ -s·B·A) is judged by its operands' ulp, not its own.
        big = torch.maximum(torch.maximum(a.abs(), b.abs()), tw[name].float().abs())
        _, e = torch.frexp(big)
        ulp = torch.ldexp(torch.ones_like(big), e - 8)  # bf16: 8 significant bits, |x| in [2^(e-1), 2^e)
        max_abs = max(max_abs, d.max().item())
        max_ulps = max(max_ulps, (d / ulp).max().item())
        max_value = max(max_value, torch.maximum(a.abs(), b.abs()).max().item())
        differ += int((d > 0).sum().item())
        total += d.numel()
    others = [n for n in ta.entries if n not in pairs]
    identical = set(ta.entries) == set(tb.entries) and all(
        torch.equal(ta[n].view(-1).view(torch.uint8), tb[n].view(-1).view(torch.uint8)) for n in others
    )
    _, e = torch.frexp(torch.tensor(max_value))
    print(
        json.dumps(
            {
                "tensors": len(pairs),
                "elements": total,
                "elements_differing": differ,
                "max_abs_diff": max_abs,
                "max_diff_ulps": max_ulps,
                "max_abs_value": max_value,
                "ulp_at_max_value": 2.0 ** (e.item() - 8),
                "others_identical": identical,
            }
        )
    )


if sys.argv[1] == "merge":
    merge(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
elif sys.argv[1] == "compare":
    compare(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
else:
    raise SystemExit(f"unknown mode {sys.argv[1]}")
