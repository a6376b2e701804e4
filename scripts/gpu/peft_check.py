"""The GPU check's PEFT half, PEFT's side: loads what scripts/gpu/peft-export.ts wrote.

With torch, safetensors and peft (the device machine): a torch module with the same module names
(fc1, fc2, head) gets the frozen base weights, LoraConfig.from_pretrained reads
adapter_config.json, get_peft_model wraps it, set_peft_model_state_dict loads the safetensors;
no adapter key may be missing or unexpected, and its output must match swaglet's.
Without them (a machine with numpy only): the same checks on the files themselves: the keys are
PEFT's names for this model, and the LoRA forward computed in numpy matches swaglet's output.

    python3 scripts/gpu/peft_check.py DIR [RESULT.json]     exit 0 when it all holds
"""
import json
import struct
import sys
from pathlib import Path

TOLERANCE = 1e-4


def read_safetensors(path):
    """name -> float64 numpy array, for F32 files (the only dtype the export writes)."""
    import numpy as np

    raw = Path(path).read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + size])
    data = raw[8 + size :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name}: dtype {info['dtype']}, want F32")
        start, end = info["data_offsets"]
        out[name] = np.frombuffer(data[start:end], dtype="<f4").astype(np.float64).reshape(info["shape"])
    return out


def relative_error(got, want):
    import numpy as np

    return float(np.max(np.abs(np.asarray(got, dtype=np.float64) - want) / np.maximum(1.0, np.abs(want))))


def check_with_peft(root, config, io):
    import torch
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
    from safetensors.torch import load_file

    base = load_file(str(root / "base.safetensors"))
    features = base["fc1.weight"].shape[1]
    hidden = base["fc1.weight"].shape[0]
    classes = io["y"].shape[1]

    class Mlp(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = torch.nn.Linear(features, hidden)
            self.fc2 = torch.nn.Linear(hidden, hidden)
            self.head = torch.nn.Linear(hidden, classes)

        def forward(self, x):
            h = torch.relu(self.fc1(x))
            h = torch.relu(self.fc2(h))
            return self.head(h)

    model = Mlp()
    missing_base = model.load_state_dict(base, strict=False)
    # The head is the adapter's (modules_to_save); everything else must come from base.safetensors.
    if [k for k in missing_base.missing_keys if not k.startswith("head.")] or missing_base.unexpected_keys:
        raise ValueError(f"base.safetensors does not fit the module: {missing_base}")
    lora_config = LoraConfig.from_pretrained(str(root / "adapter"))
    peft_model = get_peft_model(model, lora_config)
    state = load_file(str(root / "adapter" / "adapter_model.safetensors"))
    result = set_peft_model_state_dict(peft_model, state)
    missing = [k for k in result.missing_keys if "lora_" in k or "modules_to_save" in k]
    unexpected = list(result.unexpected_keys)
    peft_model.eval()
    with torch.no_grad():
        y = peft_model(torch.tensor(io["x"], dtype=torch.float32)).double().numpy()
    import peft

    return {
        "mode": "peft",
        "peft_version": peft.__version__,
        "torch_version": torch.__version__,
        "r": lora_config.r,
        "lora_alpha": lora_config.lora_alpha,
        "target_modules": sorted(lora_config.target_modules),
        "adapter_keys": len(state),
        "missing_keys": missing,
        "unexpected_keys": unexpected,
        "max_rel_error": relative_error(y, io["y"]),
    }


def check_with_numpy(root, config, io):
    import numpy as np

    base = read_safetensors(root / "base.safetensors")
    state = read_safetensors(root / "adapter" / "adapter_model.safetensors")
    prefix = "base_model.model."
    want_keys = {f"{prefix}{m}.lora_{ab}.weight" for m in config["target_modules"] for ab in "AB"}
    want_keys |= {f"{prefix}{m}.{p}" for m in config["modules_to_save"] for p in ("weight", "bias")}
    scale = config["lora_alpha"] / (config["r"] ** 0.5 if config.get("use_rslora") else config["r"])

    def linear(name, x):
        y = x @ base[f"{name}.weight"].T + base[f"{name}.bias"]
        if name in config["target_modules"]:
            a = state[f"{prefix}{name}.lora_A.weight"]
            b = state[f"{prefix}{name}.lora_B.weight"]
            y = y + scale * ((x @ a.T) @ b.T)
        return y

    h = np.maximum(linear("fc1", io["x"]), 0)
    h = np.maximum(linear("fc2", h), 0)
    y = h @ state[f"{prefix}head.weight"].T + state[f"{prefix}head.bias"]
    return {
        "mode": "numpy (torch/peft not installed here)",
        "r": config["r"],
        "lora_alpha": config["lora_alpha"],
        "target_modules": sorted(config["target_modules"]),
        "adapter_keys": len(state),
        "missing_keys": sorted(want_keys - set(state)),
        "unexpected_keys": sorted(set(state) - want_keys),
        "max_rel_error": relative_error(y, io["y"]),
    }


def main(argv):
    if len(argv) < 2:
        print("usage: peft_check.py DIR [RESULT.json]", file=sys.stderr)
        return 2
    root = Path(argv[1])
    config = json.loads((root / "adapter" / "adapter_config.json").read_text())
    io = read_safetensors(root / "io.safetensors")
    try:
        import peft  # noqa: F401
        import torch  # noqa: F401

        result = check_with_peft(root, config, io)
    except ImportError:
        result = check_with_numpy(root, config, io)
    result["ok"] = not result["missing_keys"] and not result["unexpected_keys"] and result["max_rel_error"] < TOLERANCE
    text = json.dumps(result, indent=2)
    print(text)
    if len(argv) > 2:
        Path(argv[2]).write_text(text + "\n")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
