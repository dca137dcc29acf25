#!/usr/bin/env python3
"""Writes the Open-Sora 2.0 parity cases (`opensora_mmdit`, `opensora_sampling`) with
Open-Sora's own model and sampling code, run on the CPU in plain PyTorch.

Diffusers has no Open-Sora pipeline, so the reference is hpcaitech/Open-Sora itself, at the
pinned commit below. Its source is NOT part of this repository: give it with

    --opensora-src PATH   a checkout (or extracted GitHub archive) of that commit, or
    --fetch DIR           download https://github.com/hpcaitech/Open-Sora/archive/<commit>.tar.gz
                          into DIR, extract it there and use it.

Open-Sora's imports assume a CUDA training box. This script installs shims before importing
it (docs/OPENSORA.md describes each):
  flash_attn.flash_attn_func        -> torch scaled_dot_product_attention ([B, L, H, D] layout)
  liger_kernel LigerRMSNormFunction -> RMS norm in float32, cast back, times the weight
  liger_kernel LigerRopeFunction    -> q·cos + rotate_half(q)·sin (the same maths)
  torch.compile (timestep_embedding) -> identity while Open-Sora is imported
  colossalai / mmengine / peft, opensora.registry, opensora.acceleration.checkpoint,
  opensora.utils.ckpt, the dataset modules, the prompt refiner -> stubs (never called)
Only `opensora/models/mmdit/{math,layers,model}.py`, `opensora/utils/inference.py` and
`opensora/utils/sampling.py` run as written.

    python tools/reference/opensora_reference.py --opensora-src ~/src/Open-Sora \
        --out crates/kinema-diffusion/tests/parity
"""

import argparse
import copy
import dataclasses
import importlib
import json
import os
import subprocess
import sys
import tarfile
import types
import urllib.request

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import write_case  # noqa: E402  (same folder)

OPENSORA_COMMIT = "7ad6a96a135feb81f755c84fb391818718f6beb2"
ARCHIVE_URL = f"https://github.com/hpcaitech/Open-Sora/archive/{OPENSORA_COMMIT}.tar.gz"


# ---------------------------------------------------------------------------------------------
# Getting Open-Sora's source
# ---------------------------------------------------------------------------------------------

def fetch_source(dest):
    """Downloads and extracts the pinned commit's archive under `dest`; returns its root."""
    root = os.path.join(dest, f"Open-Sora-{OPENSORA_COMMIT}")
    if os.path.isdir(root):
        return root
    os.makedirs(dest, exist_ok=True)
    archive = os.path.join(dest, f"{OPENSORA_COMMIT}.tar.gz")
    print(f"downloading {ARCHIVE_URL}")
    urllib.request.urlretrieve(ARCHIVE_URL, archive)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    return root


def check_source(src):
    needed = ["opensora/models/mmdit/model.py", "opensora/models/mmdit/layers.py",
              "opensora/models/mmdit/math.py", "opensora/utils/sampling.py",
              "opensora/utils/inference.py"]
    missing = [p for p in needed if not os.path.isfile(os.path.join(src, p))]
    if missing:
        sys.exit(f"{src} is not an Open-Sora checkout (missing {', '.join(missing)}); "
                 f"use --fetch DIR or check out commit {OPENSORA_COMMIT}")
    if os.path.isdir(os.path.join(src, ".git")):
        head = subprocess.run(["git", "-C", src, "rev-parse", "HEAD"], capture_output=True,
                              text=True).stdout.strip()
        if head != OPENSORA_COMMIT:
            sys.exit(f"{src} is at {head}, not the pinned {OPENSORA_COMMIT}; "
                     f"run `git -C {src} checkout {OPENSORA_COMMIT}`")


# ---------------------------------------------------------------------------------------------
# Shims
# ---------------------------------------------------------------------------------------------

def _module(name, package_dir=None, **attrs):
    m = types.ModuleType(name)
    if package_dir is not None:
        m.__path__ = [package_dir]  # a package whose __init__.py is not run
    for k, v in attrs.items():
        setattr(m, k, v)
    sys.modules[name] = m
    return m


def _never(name):
    def fail(*_args, **_kwargs):
        raise RuntimeError(f"{name} is stubbed by opensora_reference.py and must not be called")
    return fail


def flash_attn_func(q, k, v):
    """flash-attn's layout is [B, L, H, D]; softmax scale 1/sqrt(D), no mask, no dropout."""
    out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
    return out.transpose(1, 2)


class LigerRMSNormFunction:
    """liger-kernel's RMS norm with casting_mode "llama": float32 statistics, the normalised
    value cast back to the input dtype, then times (offset + weight)."""

    @staticmethod
    def apply(x, weight, eps, offset=0.0, casting_mode="llama", in_place=False):
        if casting_mode != "llama":
            raise NotImplementedError(casting_mode)
        xf = x.float()
        normed = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)
        return normed.to(x.dtype) * (offset + weight)


def _rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class LigerRopeFunction:
    """liger-kernel's rope: q, k [B, H, L, D], cos/sin [B or 1, L, D]; pairs (i, i + D/2)."""

    @staticmethod
    def apply(q, k, cos, sin):
        # The kernel computes in float32 and stores in the input's dtype.
        cos, sin = cos.unsqueeze(1).float(), sin.unsqueeze(1).float()

        def rotate(x):
            xf = x.float()
            return (xf * cos + _rotate_half(xf) * sin).to(x.dtype)

        return rotate(q), rotate(k)


def install_shims(src):
    pkg = os.path.join(src, "opensora")
    _module("flash_attn", flash_attn_func=flash_attn_func)
    _module("liger_kernel", package_dir="")
    _module("liger_kernel.ops", package_dir="")
    _module("liger_kernel.ops.rms_norm", LigerRMSNormFunction=LigerRMSNormFunction)
    _module("liger_kernel.ops.rope", LigerRopeFunction=LigerRopeFunction)
    _module("mmengine", package_dir="")
    _module("mmengine.config", Config=dict)
    _module("peft", PeftModel=type("PeftModel", (), {"from_pretrained": _never("peft")}))

    class Registry:
        def register_module(self, name=None, **_):
            return lambda fn: fn

    _module("opensora", package_dir=pkg)
    _module("opensora.registry", MODELS=Registry(), build_module=_never("build_module"))
    _module("opensora.acceleration", package_dir=os.path.join(pkg, "acceleration"))
    _module("opensora.acceleration.checkpoint",
            auto_grad_checkpoint=lambda module, *args, **kw: module(*args, **kw))
    _module("opensora.models", package_dir=os.path.join(pkg, "models"))
    _module("opensora.models.mmdit", package_dir=os.path.join(pkg, "models", "mmdit"))
    _module("opensora.models.text", package_dir="")
    _module("opensora.models.text.conditioner", HFEmbedder=object)
    _module("opensora.utils", package_dir=os.path.join(pkg, "utils"))
    _module("opensora.utils.ckpt", load_checkpoint=_never("load_checkpoint"))
    _module("opensora.utils.logger", log_message=print)
    _module("opensora.utils.prompt_refine", refine_prompts=_never("refine_prompts (needs OpenAI)"))
    _module("opensora.datasets", package_dir="", save_sample=_never("save_sample"))
    _module("opensora.datasets.aspect", get_image_size=_never("get_image_size"))
    _module("opensora.datasets.utils", read_from_path=_never("read_from_path"),
            rescale_image_by_path=_never("rescale_image_by_path"))


def import_opensora(src):
    """Imports the real model and sampling modules behind the shims."""
    install_shims(src)
    compile_ = torch.compile
    torch.compile = lambda fn=None, **_: (fn if fn is not None else (lambda f: f))
    try:
        model = importlib.import_module("opensora.models.mmdit.model")
        sampling = importlib.import_module("opensora.utils.sampling")
    finally:
        torch.compile = compile_
    return model, sampling


# ---------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------

class TransformerFolder:
    """`transformer/`: config.json with every MMDiTConfig field, the state dict under
    Open-Sora's own key names."""

    def __init__(self, model, config):
        self.model, self.config = model, config

    def save_pretrained(self, path):
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, "config.json"), "w") as f:
            json.dump(dataclasses.asdict(self.config), f, indent=2, sort_keys=True)
            f.write("\n")
        # float16 on disk (exact: tiny_model rounds the weights to it); loaded as float32.
        state = {k: v.detach().half().contiguous() for k, v in self.model.state_dict().items()}
        save_file(state, os.path.join(path, "diffusion_pytorch_model.safetensors"))


def tiny_model(mmdit, seed, **overrides):
    cfg = dict(from_pretrained=None, cache_dir=None, in_channels=64, vec_in_dim=16,
               context_in_dim=32, hidden_size=24, mlp_ratio=2.0, num_heads=2, depth=1,
               depth_single_blocks=1, axes_dim=[2, 4, 6], theta=10_000, qkv_bias=True,
               guidance_embed=False, cond_embed=True, fused_qkv=False, use_liger_rope=True,
               patch_size=2)
    cfg.update(overrides)
    config = mmdit.MMDiTConfig(**cfg)
    torch.manual_seed(seed)
    model = mmdit.MMDiTModel(config).eval()
    # cond_in starts at zero and the norm scales at one; perturb every parameter (seeded) so
    # each path carries signal.
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.2)
            # Stored as float16 to keep the committed cases small: round here so the
            # reference runs (in float32) on exactly the weights the case holds.
            p.copy_(p.half().float())
    return model, config


def grid_ids(batch, t, h, w):
    ids = torch.zeros(t, h, w, 3)
    ids[..., 0] += torch.arange(t)[:, None, None]
    ids[..., 1] += torch.arange(h)[None, :, None]
    ids[..., 2] += torch.arange(w)[None, None, :]
    return ids.reshape(1, t * h * w, 3).repeat(batch, 1, 1)


MMDIT_CASES = [
    # The released layout: split projections (q_proj/k_proj/v_mlp), liger rope, cond_in.
    ("opensora_mmdit_liger", dict()),
    # Flux's layout: fused qkv/linear1, interleaved rope, no qkv bias, guidance_in.
    ("opensora_mmdit_flux", dict(use_liger_rope=False, fused_qkv=True, qkv_bias=False,
                                 guidance_embed=True)),
]


def mmdit_inputs(config, seed, timesteps):
    """Random forward inputs (keyword names of MMDiTModel.forward) for 2x2x3 image tokens and
    5 text tokens, one row per time value."""
    g = torch.Generator().manual_seed(seed)
    b, t, h, w, length = len(timesteps), 2, 2, 3, 5
    n = t * h * w
    return {
        "img": torch.randn(b, n, config.in_channels, generator=g),
        "img_ids": grid_ids(b, t, h, w),
        "txt": torch.randn(b, length, config.context_in_dim, generator=g),
        "txt_ids": torch.zeros(b, length, 3),
        "timesteps": torch.tensor(timesteps),
        "y_vec": torch.randn(b, config.vec_in_dim, generator=g),
        "cond": torch.randn(b, n, config.in_channels + config.patch_size ** 2, generator=g),
    }


def make_mmdit_cases(mmdit, out_dir):
    for seed, (name, overrides) in enumerate(MMDIT_CASES, start=1800):
        model, config = tiny_model(mmdit, seed, **overrides)
        inputs = mmdit_inputs(config, seed, [0.83, 0.25])
        if config.guidance_embed:
            inputs["guidance"] = torch.tensor([7.5, 4.0])
        with torch.no_grad():
            out = model(**inputs)
        tensors = {f"in.{k}": v for k, v in inputs.items()}
        tensors["out.sample"] = out
        write_case(out_dir, name, "opensora_mmdit", 1e-4, 1e-4, {},
                   {"transformer": TransformerFolder(model, config)}, tensors)

    # The release layout with the whole model and its inputs in bfloat16, as Open-Sora runs it
    # (times and guidance in bfloat16 too). bfloat16 moves this model's output by ~1.9 from
    # float32, yet the same ops in bfloat16 on both sides agree to ~0.13, and a wrong RoPE
    # layout or a missed cast moves it by ≥3: the tolerance is a quarter of that gap.
    model, config = tiny_model(mmdit, 1850)
    inputs = mmdit_inputs(config, 1850, [0.61])
    inputs = {k: v.bfloat16() for k, v in inputs.items()}
    half = copy.deepcopy(model).to(torch.bfloat16)
    with torch.no_grad():
        full = model(**{k: v.float() for k, v in inputs.items()})
        out = half(**inputs)
    gap = (out.float() - full).abs().max().item()
    print(f"  mmdit bf16 vs f32 gap {gap:.3g}")
    tensors = {f"in.{k}": v for k, v in inputs.items()}
    tensors["out.sample"] = out
    write_case(out_dir, "opensora_mmdit_liger_bf16", "opensora_mmdit", max(gap / 4, 1e-2), 1e-2,
               {"dtype": "bf16"}, {"transformer": TransformerFolder(half, config)}, tensors)


SAMPLING_CASES = [
    # Open-Sora's inference defaults (guidance 7.5 / 3.0, every oscillation, resolution shift);
    # 12 steps reach the odd steps past 10 where oscillation switches guidance off.
    ("opensora_sampling_liger", dict(), 12, 3, (4, 6),
     dict(guidance=7.5, guidance_img=3.0, text_osci=True, image_osci=True,
          scale_temporal_osci=True, shift=True, flow_shift=None)),
    # Flux layout, fixed flow_shift, plain scales.
    ("opensora_sampling_flux", dict(use_liger_rope=False, fused_qkv=True), 4, 2, (4, 4),
     dict(guidance=5.0, guidance_img=2.0, text_osci=False, image_osci=False,
          scale_temporal_osci=False, shift=True, flow_shift=3.0)),
]

PROMPT = "a knight waves hello. 24 FPS. 4 motion score."


def make_sampling_cases(mmdit, sampling, out_dir):
    for seed, (name, overrides, steps, frames, (h, w), opts) in enumerate(SAMPLING_CASES,
                                                                            start=1900):
        model, config = tiny_model(mmdit, seed, **overrides)
        channels = config.in_channels // config.patch_size ** 2
        g = torch.Generator().manual_seed(seed)
        noise = torch.randn(1, channels, frames, h, w, generator=g)
        ref = torch.randn(1, channels, 1, h, w, generator=g)
        txt = torch.randn(1, 6, config.context_in_dim, generator=g)
        txt_neg = torch.randn(1, 6, config.context_in_dim, generator=g)
        y_vec = torch.randn(1, config.vec_in_dim, generator=g)
        y_vec_neg = torch.randn(1, config.vec_in_dim, generator=g)

        embeds = {PROMPT: (txt, y_vec), "": (txt_neg, y_vec_neg)}

        def t5(prompts, **_):
            return torch.cat([embeds[p][0] for p in prompts])

        def clip(prompts):
            return torch.cat([embeds[p][1] for p in prompts])

        class IdentityVae:
            compression = (4, 8, 8)

            @staticmethod
            def decode(x):
                return x

        captured = {}
        get_schedule = sampling.get_schedule

        def schedule_spy(*args, **kwargs):
            captured["timesteps"] = get_schedule(*args, **kwargs)
            return captured["timesteps"]

        def noise_of(num, height, width, num_frames, *_args, channel=16, patch_size=2, **_kw):
            want = (num, channel, num_frames, patch_size * -(-height // 16),
                    patch_size * -(-width // 16))
            if tuple(noise.shape) != want:
                raise RuntimeError(f"noise shape {tuple(noise.shape)} != api_fn's {want}")
            return noise.clone()

        sampling.get_noise = noise_of
        sampling.get_schedule = schedule_spy
        sampling.collect_references_batch = lambda *a, **k: [[ref[0]]]
        option = sampling.SamplingOption(
            height=h * 8, width=w * 8, num_frames=(frames - 1) * 4 + 1, num_steps=steps,
            method="i2v", temporal_reduction=4, is_causal_vae=True, **opts)
        option = sampling.sanitize_sampling_option(option)
        api = sampling.prepare_api(model, IdentityVae(), t5, clip, {})
        latents = api(option, cond_type="i2v_head", seed=0, text=[PROMPT], neg=None,
                      patch_size=config.patch_size, channel=config.in_channels, ref=["ref"])
        sampling.get_schedule = get_schedule
        if latents.shape != noise.shape:
            raise RuntimeError(f"{name}: latents {tuple(latents.shape)} != {tuple(noise.shape)}")
        params = dict(opts, num_steps=steps, patch_size=config.patch_size, cond_type="i2v_head")
        tensors = {"in.noise": noise, "in.ref_latents": ref, "in.txt": txt, "in.txt_neg": txt_neg,
                   "in.y_vec": y_vec, "in.y_vec_neg": y_vec_neg,
                   "out.timesteps": torch.tensor(captured["timesteps"], dtype=torch.float32),
                   "out.latents": latents}
        write_case(out_dir, name, "opensora_sampling", 1e-4, 1e-4, params,
                   {"transformer": TransformerFolder(model, config)}, tensors)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--opensora-src", help=f"Open-Sora checkout at {OPENSORA_COMMIT}")
    source.add_argument("--fetch", metavar="DIR", help="download the pinned archive into DIR")
    parser.add_argument("--out", required=True, help="directory to write the case folders into")
    parser.add_argument("--only", action="append", choices=["mmdit", "sampling"],
                        help="case family (repeatable); default: both")
    args = parser.parse_args(argv)

    src = args.opensora_src or fetch_source(args.fetch)
    check_source(src)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    mmdit, sampling = import_opensora(os.path.abspath(src))
    os.makedirs(args.out, exist_ok=True)
    families = args.only or ["mmdit", "sampling"]
    if "mmdit" in families:
        make_mmdit_cases(mmdit, args.out)
    if "sampling" in families:
        make_sampling_cases(mmdit, sampling, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
