#!/usr/bin/env python3
"""Writes the parity cases that `crates/kinema-diffusion/tests/parity.rs` checks.

Each case is a directory under --out:
  case.json          {"component": NAME, "atol": f, "rtol": f, "params": {...}}
  <folder>/          the component as diffusers' save_pretrained writes it (vae/, scheduler/)
  io.safetensors     inputs `in.<name>` and reference outputs `out.<name>`

Everything runs on CPU with fixed seeds, so re-running reproduces the same files; in float32
except the `bf16` family, whose cases set params.dtype = "bf16" (both sides in bfloat16).
One function per component family; `--only` runs a subset:

    python tools/reference/make_fixtures.py --out crates/kinema-diffusion/tests/parity
    python tools/reference/make_fixtures.py --out /tmp/cases --only schedulers
"""

import argparse
import json
import os
import shutil
import sys

import torch
from safetensors.torch import save_file

MAX_CASE_BYTES = 1_100_000


def write_case(out_dir, name, component, atol, rtol, params, components, tensors):
    """Writes one case directory from scratch.

    components: {folder: object with save_pretrained}; tensors: {"in.x"/"out.y": tensor}.
    """
    case_dir = os.path.join(out_dir, name)
    if os.path.isdir(case_dir):
        shutil.rmtree(case_dir)
    os.makedirs(case_dir)
    for folder, model in components.items():
        model.save_pretrained(os.path.join(case_dir, folder))
    for key in tensors:
        if not (key.startswith("in.") or key.startswith("out.")):
            raise ValueError(f"tensor name {key!r} must start with 'in.' or 'out.'")
    save_file({k: v.detach().contiguous().to(torch.float32) for k, v in tensors.items()},
              os.path.join(case_dir, "io.safetensors"))
    with open(os.path.join(case_dir, "case.json"), "w") as f:
        json.dump({"component": component, "atol": atol, "rtol": rtol,
                   "params": params}, f, indent=2, sort_keys=True)
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(root, fn))
               for root, _, files in os.walk(case_dir) for fn in files)
    if size > MAX_CASE_BYTES:
        raise RuntimeError(f"case {name} is {size} bytes; keep committed cases under ~1 MB")
    print(f"  {name}: {component}, {size / 1024:.0f} KiB")


# ---------------------------------------------------------------------------------------------
# Schedulers: flow_match_euler, unipc_flow
# ---------------------------------------------------------------------------------------------

# The scheduler_config.json values of the released Wan checkpoints (Wan-AI/*-Diffusers).
# UniPC with flow sigmas; only flow_shift differs: 3.0 for Wan2.1 T2V, 5.0 for Wan2.2 TI2V-5B.
WAN_UNIPC = dict(
    beta_end=0.02,
    beta_schedule="linear",
    beta_start=0.0001,
    disable_corrector=[],
    dynamic_thresholding_ratio=0.995,
    final_sigmas_type="zero",
    lower_order_final=True,
    num_train_timesteps=1000,
    predict_x0=True,
    prediction_type="flow_prediction",
    rescale_betas_zero_snr=False,
    sample_max_value=1.0,
    solver_order=2,
    solver_p=None,
    solver_type="bh2",
    steps_offset=0,
    thresholding=False,
    timestep_spacing="linspace",
    trained_betas=None,
    use_beta_sigmas=False,
    use_exponential_sigmas=False,
    use_flow_sigmas=True,
    use_karras_sigmas=False,
)


def run_scheduler(scheduler, steps, shape, seed, mu=None):
    """Feeds random model outputs through `steps` steps, the way Wan's pipeline calls step()."""
    gen = torch.Generator().manual_seed(seed)
    sample = torch.randn(shape, generator=gen, dtype=torch.float32)
    model_outputs = torch.randn((steps, *shape), generator=gen, dtype=torch.float32)
    if mu is None:
        scheduler.set_timesteps(steps, device="cpu")
    else:
        scheduler.set_timesteps(steps, device="cpu", mu=mu)
    timesteps = scheduler.timesteps.clone()
    sigmas = scheduler.sigmas.clone()
    if len(timesteps) != steps:
        raise RuntimeError(f"expected {steps} timesteps, got {len(timesteps)}")
    x = sample
    outs = []
    for i, t in enumerate(timesteps):
        x = scheduler.step(model_outputs[i], t, x, return_dict=False)[0]
        outs.append(x)
    return {
        "in.sample": sample,
        "in.model_outputs": model_outputs,
        "out.timesteps": timesteps.to(torch.float32),
        "out.sigmas": sigmas.to(torch.float32),
        "out.samples": torch.stack(outs),
    }


def make_scheduler_cases(out_dir):
    from diffusers import FlowMatchEulerDiscreteScheduler, UniPCMultistepScheduler

    # (name, config, steps, sample shape[, mu]); the seed is the list position.
    euler = [
        ("fme_shift1_steps1", dict(), 1, (1, 4, 2, 3, 3)),
        ("fme_shift3_steps10", dict(shift=3.0), 10, (1, 16, 3, 5, 7)),
        ("fme_shift5_steps2", dict(shift=5.0), 2, (2, 3, 5, 7)),
        ("fme_shift5_steps30", dict(shift=5.0), 30, (1, 48, 2, 3, 5)),
        ("fme_shift5_steps50", dict(shift=5.0), 50, (1, 16, 1, 5, 3)),
        ("fme_terminal_steps7", dict(shift=3.0, shift_terminal=0.1), 7, (3, 4, 5)),
        ("fme_invert_steps5", dict(shift=2.0, invert_sigmas=True), 5, (2, 2, 3)),
        ("fme_dynamic_steps9", dict(use_dynamic_shifting=True), 9, (1, 4, 3, 3), 0.8),
        ("fme_dynamic_linear_steps4", dict(use_dynamic_shifting=True, time_shift_type="linear"),
         4, (5, 3), 1.3),
    ]
    for seed, (name, cfg, steps, shape, *mu) in enumerate(euler):
        scheduler = FlowMatchEulerDiscreteScheduler(**cfg)
        mu = mu[0] if mu else None
        tensors = run_scheduler(scheduler, steps, shape, seed, mu)
        params = {"num_inference_steps": steps}
        if mu is not None:
            params["mu"] = mu
        write_case(out_dir, name, "flow_match_euler", 1e-5, 1e-5,
                   params, {"scheduler": scheduler}, tensors)

    wan21 = dict(WAN_UNIPC, flow_shift=3.0)
    wan22 = dict(WAN_UNIPC, flow_shift=5.0)
    unipc = [
        ("unipc_wan22_steps1", wan22, 1, (1, 48, 1, 2, 3)),
        ("unipc_wan22_steps2", wan22, 2, (1, 48, 2, 3, 3)),
        ("unipc_wan22_steps3", wan22, 3, (2, 5, 3, 7)),
        ("unipc_wan22_steps10", wan22, 10, (1, 48, 2, 3, 5)),
        ("unipc_wan22_steps50", wan22, 50, (1, 48, 1, 3, 5)),
        ("unipc_wan21_steps30", wan21, 30, (1, 16, 3, 5, 7)),
        ("unipc_wan21_steps50", wan21, 50, (1, 16, 2, 3, 3)),
        # Beyond Wan's defaults: order 3 (solves the rho system), bh1, skipped correctors,
        # sigma_min final step without lower-order final, terminal stretch.
        # (bh1 with a final sigma of zero makes diffusers' last step inf * 0 = NaN.)
        ("unipc_order3_bh1_steps12", dict(wan22, solver_order=3, solver_type="bh1",
                                          final_sigmas_type="sigma_min"), 12, (2, 3, 4)),
        ("unipc_order3_steps25", dict(wan21, solver_order=3), 25, (1, 4, 3, 5)),
        ("unipc_sigmamin_steps8", dict(wan22, final_sigmas_type="sigma_min", lower_order_final=False,
                                       disable_corrector=[0, 3]), 8, (1, 6, 2, 3)),
        ("unipc_terminal_steps6", dict(wan21, shift_terminal=0.05, solver_order=1), 6, (4, 5)),
    ]
    for seed, (name, cfg, steps, shape) in enumerate(unipc, start=100):
        scheduler = UniPCMultistepScheduler(**cfg)
        tensors = run_scheduler(scheduler, steps, shape, seed)
        write_case(out_dir, name, "unipc_flow", 1e-5, 1e-5,
                   {"num_inference_steps": steps}, {"scheduler": scheduler}, tensors)


# ---------------------------------------------------------------------------------------------
# VAE: wan_vae_encode, wan_vae_decode (written by the VAE side)
# ---------------------------------------------------------------------------------------------


# (name, AutoencoderKLWan kwargs, video shape for encode [B,3,T,H,W], latent shape for decode).
# The first two are the tiny VAEs of diffusers' own Wan tests (tests/pipelines/wan/: Wan2.1
# T2V and Wan2.2 TI2V-5B); the others add width, depth, odd sizes and several frame chunks.
VAE_CASES = [
    ("wan21_tiny", dict(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                        temperal_downsample=[False, True, True]),
     (1, 3, 9, 16, 16), (1, 16, 3, 2, 2)),
    ("wan22_tiny", dict(base_dim=3, z_dim=48, in_channels=12, out_channels=12, is_residual=True,
                        patch_size=2, latents_mean=[0.0] * 48, latents_std=[1.0] * 48,
                        dim_mult=[1, 1, 1, 1], num_res_blocks=1, scale_factor_spatial=16,
                        scale_factor_temporal=4, temperal_downsample=[False, True, True]),
     (1, 3, 9, 32, 32), (1, 48, 3, 2, 2)),
    # Wider, two res blocks, channel changes between stages, 13 frames (4 chunks), odd sizes.
    ("wan21_odd", dict(base_dim=6, z_dim=16, dim_mult=[1, 2, 2, 2], num_res_blocks=2,
                       temperal_downsample=[False, True, True]),
     (1, 3, 13, 20, 28), (1, 16, 4, 3, 5)),
    # Wan2.2 layout with a wider decoder than encoder, like the real 160/256 checkpoint.
    ("wan22_wide", dict(base_dim=4, decoder_base_dim=6, z_dim=48, in_channels=12, out_channels=12,
                        is_residual=True, patch_size=2, latents_mean=[0.0] * 48,
                        latents_std=[1.0] * 48, dim_mult=[1, 2, 2, 2], num_res_blocks=2,
                        scale_factor_spatial=16, scale_factor_temporal=4,
                        temperal_downsample=[False, True, True]),
     (1, 3, 13, 32, 48), (1, 48, 4, 3, 2)),
]


def make_vae_cases(out_dir):
    from diffusers import AutoencoderKLWan

    for seed, (name, cfg, video_shape, latent_shape) in enumerate(VAE_CASES, start=1000):
        torch.manual_seed(seed)
        vae = AutoencoderKLWan(**cfg).eval()
        # Default init leaves every norm gamma at 1; perturb them so a mis-wired gamma shows.
        with torch.no_grad():
            for pname, p in vae.named_parameters():
                if pname.endswith("gamma"):
                    p.copy_(1.0 + 0.2 * torch.randn_like(p))
        gen = torch.Generator().manual_seed(seed)
        video = torch.rand(video_shape, generator=gen) * 2 - 1
        latents = torch.randn(latent_shape, generator=gen)
        with torch.no_grad():
            mean = vae.encode(video).latent_dist.mean
            decoded = vae.decode(latents).sample
        write_case(out_dir, f"vae_{name}_encode", "wan_vae_encode", 1e-4, 1e-4, {},
                   {"vae": vae}, {"in.video": video, "out.mean": mean})
        write_case(out_dir, f"vae_{name}_decode", "wan_vae_decode", 1e-4, 1e-4, {},
                   {"vae": vae}, {"in.latents": latents, "out.video": decoded})

    # Spatial tiling (enable_tiling) with small tiles so several overlap and blend.
    tiled = [
        ("wan21_tiny", 0, dict(tile_sample_min_height=32, tile_sample_min_width=32,
                               tile_sample_stride_height=24, tile_sample_stride_width=24),
         (1, 3, 5, 40, 56), (1, 16, 2, 6, 7)),
        ("wan22_tiny", 1, dict(tile_sample_min_height=64, tile_sample_min_width=64,
                               tile_sample_stride_height=48, tile_sample_stride_width=48),
         (1, 3, 5, 96, 80), (1, 48, 2, 6, 5)),
    ]
    for name, index, tiling, video_shape, latent_shape in tiled:
        seed = 2000 + index
        torch.manual_seed(seed)
        vae = AutoencoderKLWan(**VAE_CASES[index][1]).eval()
        with torch.no_grad():
            for pname, p in vae.named_parameters():
                if pname.endswith("gamma"):
                    p.copy_(1.0 + 0.2 * torch.randn_like(p))
        vae.enable_tiling(**tiling)
        gen = torch.Generator().manual_seed(seed)
        video = torch.rand(video_shape, generator=gen) * 2 - 1
        latents = torch.randn(latent_shape, generator=gen)
        with torch.no_grad():
            mean = vae.encode(video).latent_dist.mean
            decoded = vae.decode(latents).sample
        params = {"tiling": tiling}
        write_case(out_dir, f"vae_{name}_tiled_encode", "wan_vae_encode", 1e-4, 1e-4, params,
                   {"vae": vae}, {"in.video": video, "out.mean": mean})
        write_case(out_dir, f"vae_{name}_tiled_decode", "wan_vae_decode", 1e-4, 1e-4, params,
                   {"vae": vae}, {"in.latents": latents, "out.video": decoded})


# ---------------------------------------------------------------------------------------------
# Text encoder: umt5_encoder, umt5_prompt
# ---------------------------------------------------------------------------------------------

def _resave_io(out_dir, name, tensors):
    """write_case stores every tensor as float32; token ids and masks are rewritten as int64,
    the dtype transformers takes (the Rust side accepts either)."""
    save_file({k: v.detach().contiguous() for k, v in tensors.items()},
              os.path.join(out_dir, name, "io.safetensors"))


def _tiny_tokenizer():
    """A small SentencePiece-style (Metaspace + Unigram) tokenizer with T5's special tokens
    and `</s>` appended, built in code; umT5-XXL's real tokenizer.json has the same shape."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    words = ["▁the", "▁knight", "▁swing", "s", "▁his", "▁sword", "▁a", "▁slime", "▁bounce",
             "▁wave", "▁hand", "▁walk", "▁cycle", "▁&", "▁<", ">", "▁idle", "▁pixel", "▁art",
             "▁dance", "▁monkey", "▁", "ing", "ed"]
    chars = list("abcdefghijklmnopqrstuvwxyz&<>.,!")
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [(w, -2.0 - 0.1 * i) for i, w in enumerate(words)]
    vocab += [(c, -8.0) for c in chars]
    tok = Tokenizer(models.Unigram(vocab, unk_id=2, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>",
                                   unk_token="<unk>")


def make_umt5_cases(out_dir):
    from transformers import UMT5Config, UMT5EncoderModel

    def encoder(seed, **kw):
        torch.manual_seed(seed)
        return UMT5EncoderModel(UMT5Config(**kw)).eval()

    # 1. The brief's tiny config; 24 tokens reach the logarithmic buckets (max_exact = 8).
    model = encoder(0, vocab_size=120, d_model=32, d_kv=8, num_heads=4, d_ff=64, num_layers=2,
                    relative_attention_num_buckets=32)
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(3, 120, (2, 24), generator=g)
    mask = torch.ones(2, 24, dtype=torch.int64)
    mask[1, 9:] = 0
    ids[1, 9:] = 0
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask).last_hidden_state
    tensors = {"in.input_ids": ids, "in.attention_mask": mask, "out.last_hidden_state": out}
    write_case(out_dir, "umt5_encoder_tiny", "umt5_encoder", 1e-4, 1e-4, {},
               {"text_encoder": model}, tensors)
    _resave_io(out_dir, "umt5_encoder_tiny", tensors)

    # 2. Longer than max_distance (clamped buckets), three layers, odd widths, three rows.
    model = encoder(2, vocab_size=300, d_model=48, d_kv=16, num_heads=3, d_ff=72, num_layers=3,
                    relative_attention_num_buckets=16, relative_attention_max_distance=20)
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(3, 300, (3, 70), generator=g)
    mask = torch.ones(3, 70, dtype=torch.int64)
    for row, length in ((1, 41), (2, 5)):
        mask[row, length:] = 0
        ids[row, length:] = 0
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask).last_hidden_state
    tensors = {"in.input_ids": ids, "in.attention_mask": mask, "out.last_hidden_state": out}
    write_case(out_dir, "umt5_encoder_long", "umt5_encoder", 1e-4, 1e-4, {},
               {"text_encoder": model}, tensors)
    _resave_io(out_dir, "umt5_encoder_long", tensors)

    # 3. The whole prompt path of diffusers' Wan pipelines (_get_t5_prompt_embeds).
    import types
    from diffusers import WanPipeline

    tokenizer = _tiny_tokenizer()
    model = encoder(4, vocab_size=len(tokenizer), d_model=32, d_kv=8, num_heads=4, d_ff=64,
                    num_layers=2, relative_attention_num_buckets=32)
    prompts = ["the knight swings his sword",
               "  a   slime &amp; bounce\n\tidle ",
               "挥手",
               "the knight swings his sword the knight swings his sword walk cycle pixel art dance"]
    max_len = 16
    fake = types.SimpleNamespace(tokenizer=tokenizer, text_encoder=model)
    with torch.no_grad():
        embeds = WanPipeline._get_t5_prompt_embeds(fake, prompt=prompts, max_sequence_length=max_len,
                                                   device=torch.device("cpu"), dtype=torch.float32)
    # The cleaned text goes to the tokenizer, so the mask is taken from the cleaned prompts.
    from diffusers.pipelines.wan.pipeline_wan import prompt_clean
    mask = tokenizer([prompt_clean(p) for p in prompts], padding="max_length", max_length=max_len,
                     truncation=True, add_special_tokens=True, return_tensors="pt").attention_mask
    tensors = {"out.prompt_embeds": embeds, "out.mask": mask}
    write_case(out_dir, "umt5_prompt_tiny", "umt5_prompt", 1e-4, 1e-4,
               {"prompts": prompts, "max_sequence_length": max_len},
               {"text_encoder": model, "tokenizer": tokenizer}, tensors)
    _resave_io(out_dir, "umt5_prompt_tiny", tensors)


# ---------------------------------------------------------------------------------------------
# Transformer: wan_transformer
# ---------------------------------------------------------------------------------------------

# Wan2.2 TI2V-style transformer: 48 channels, three layers, wider heads.
TI2V_PER_TOKEN_DIT = dict(patch_size=(1, 2, 2), num_attention_heads=3, attention_head_dim=16,
                          in_channels=48, out_channels=48, text_dim=32, freq_dim=256, ffn_dim=40,
                          num_layers=3, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
                          rope_max_seq_len=32)


def _random_transformer(seed, **kw):
    from diffusers import WanTransformer3DModel

    torch.manual_seed(seed)
    m = WanTransformer3DModel(**kw).eval()
    # Random init leaves some tables at zero-ish values; perturb every parameter so each
    # path (norm weights, biases, modulation tables) carries signal.
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return m


def _per_token_timesteps(f, h, w, values=(999.0, 412.5)):
    """Per-token timesteps as the pipeline's expand_timesteps builds them for a f x h x w
    latent: the first latent frame (the conditioning image) at 0, the rest at each value."""
    mask = torch.ones(1, 1, f, h, w)
    mask[:, :, 0] = 0
    return torch.stack([(mask[0][0][:, ::2, ::2] * t).flatten() for t in values])


def make_transformer_cases(out_dir):
    model = _random_transformer

    def run(m, hidden, timestep, text, image=None):
        with torch.no_grad():
            return m(hidden_states=hidden, timestep=timestep, encoder_hidden_states=text,
                     encoder_hidden_states_image=image, return_dict=False)[0]

    def case(name, m, hidden, timestep, text, image=None, atol=1e-4):
        tensors = {"in.hidden_states": hidden, "in.timestep": timestep,
                   "in.encoder_hidden_states": text}
        if image is not None:
            tensors["in.encoder_hidden_states_image"] = image
        tensors["out.sample"] = run(m, hidden, timestep, text, image)
        write_case(out_dir, name, "wan_transformer", atol, 1e-4, {}, {"transformer": m}, tensors)

    g = torch.Generator().manual_seed(10)
    # 1. diffusers' own model test (tests/models/transformers/test_models_transformer_wan.py).
    m = model(0, patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=4,
              out_channels=4, text_dim=16, freq_dim=256, ffn_dim=32, num_layers=2,
              cross_attn_norm=True, qk_norm="rms_norm_across_heads", rope_max_seq_len=32)
    case("wan_transformer_t2v_tiny", m, torch.randn(1, 4, 2, 16, 16, generator=g),
         torch.tensor([617.0]), torch.randn(1, 12, 16, generator=g))

    # 2. Wan2.2 TI2V-style: 48 channels, per-token timesteps as the pipeline's expand_timesteps
    # builds them (first latent frame = the conditioning image at t=0), three layers, an uneven
    # 3x6x10 latent, batch 2 with different timesteps, wider heads.
    m = model(1, **TI2V_PER_TOKEN_DIT)
    f, h, w = 3, 6, 10
    hidden = torch.randn(2, 48, f, h, w, generator=g)
    timestep = _per_token_timesteps(f, h, w)
    case("wan_transformer_ti2v_per_token", m, hidden, timestep, torch.randn(2, 16, 32, generator=g))

    # 3. Wan2.1 I2V-style: image tokens with their own key/value projections (added_kv_proj_dim)
    # and the CLIP image embedder; diffusers splits the context at 512 text tokens, so the text
    # is 512 long as in the real pipeline.
    m = model(2, patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=36,
              out_channels=16, text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2,
              cross_attn_norm=True, qk_norm="rms_norm_across_heads", rope_max_seq_len=32,
              image_dim=20, added_kv_proj_dim=24)
    case("wan_transformer_i2v_added_kv", m, torch.randn(1, 36, 3, 4, 6, generator=g),
         torch.tensor([250.0]), torch.randn(1, 512, 32, generator=g),
         torch.randn(1, 7, 20, generator=g))

    # 4. The I2V pipeline test's config: image_dim without added projections (image tokens join
    # the text context), no cross-attention norm.
    m = model(3, patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=36,
              out_channels=16, text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2,
              cross_attn_norm=False, qk_norm="rms_norm_across_heads", rope_max_seq_len=32,
              image_dim=4)
    case("wan_transformer_i2v_image_in_context", m, torch.randn(1, 36, 2, 4, 4, generator=g),
         torch.tensor([10.0]), torch.randn(1, 16, 32, generator=g), torch.randn(1, 5, 4, generator=g))


# ---------------------------------------------------------------------------------------------
# CLIP vision encoder: clip_vision (Wan2.1 I2V's image_encoder, hidden_states[-2])
# ---------------------------------------------------------------------------------------------

def make_clip_cases(out_dir):
    from transformers import CLIPVisionConfig, CLIPVisionModel

    g = torch.Generator().manual_seed(30)
    # Wan2.1's ViT-H uses exact GELU; transformers' CLIP default is quick_gelu. Odd sizes:
    # 5x5 patches of 6 pixels, 5 heads of 8, batch 2.
    for name, act, seed in [("clip_vision_gelu", "gelu", 31), ("clip_vision_quick_gelu", "quick_gelu", 32)]:
        torch.manual_seed(seed)
        cfg = CLIPVisionConfig(hidden_size=40, intermediate_size=56, num_attention_heads=5,
                               num_hidden_layers=3, image_size=30, patch_size=6, hidden_act=act)
        m = CLIPVisionModel(cfg).eval()
        with torch.no_grad():
            for p in m.parameters():
                p.add_(torch.randn_like(p) * 0.1)
        pixels = torch.randn(2, 3, 30, 30, generator=g)
        with torch.no_grad():
            hidden = m(pixel_values=pixels, output_hidden_states=True).hidden_states[-2]
        write_case(out_dir, name, "clip_vision", 1e-4, 1e-4, {}, {"image_encoder": m},
                   {"in.pixel_values": pixels, "out.hidden_states": hidden})


# ---------------------------------------------------------------------------------------------
# Half precision: the same components run in bfloat16 on both sides (params.dtype)
# ---------------------------------------------------------------------------------------------

def _bf16_tolerance(reduced, full):
    """Twice the gap between diffusers' own bfloat16 and float32 outputs, so the case accepts
    bfloat16 rounding noise and still fails on anything structural (a module computed in
    the wrong dtype, a dropped upcast), which moves outputs by far more."""
    gap = (reduced.float() - full).abs().max().item()
    return max(2.0 * gap, 1e-3), gap


def make_bf16_cases(out_dir):
    import tempfile

    from diffusers import AutoencoderKLWan, WanTransformer3DModel

    g = torch.Generator().manual_seed(20)
    # Transformer: the TI2V per-token config. Loading with torch_dtype keeps diffusers'
    # _keep_in_fp32_modules (time embedder, modulation tables, norms) in float32, as a real
    # bfloat16 checkpoint is used; the case folder is saved from that mixed-dtype model.
    m = _random_transformer(21, **TI2V_PER_TOKEN_DIT)
    with tempfile.TemporaryDirectory() as tmp:
        m.save_pretrained(tmp)
        mb = WanTransformer3DModel.from_pretrained(tmp, torch_dtype=torch.bfloat16).eval()
    f, h, w = 3, 6, 10
    hidden = torch.randn(2, 48, f, h, w, generator=g).bfloat16()
    timestep = _per_token_timesteps(f, h, w)
    text = torch.randn(2, 16, 32, generator=g).bfloat16()
    with torch.no_grad():
        out = mb(hidden_states=hidden, timestep=timestep, encoder_hidden_states=text,
                 return_dict=False)[0]
        full = m(hidden_states=hidden.float(), timestep=timestep,
                 encoder_hidden_states=text.float(), return_dict=False)[0]
    atol, gap = _bf16_tolerance(out, full)
    print(f"  transformer bf16 vs f32 gap {gap:.3g}")
    write_case(out_dir, "wan_transformer_ti2v_bf16", "wan_transformer", atol, 1e-2,
               {"dtype": "bf16"}, {"transformer": mb},
               {"in.hidden_states": hidden, "in.timestep": timestep,
                "in.encoder_hidden_states": text, "out.sample": out})

    # VAE decode: the Wan2.2 tiny config, whole model in bfloat16.
    name, cfg, _, latent_shape = VAE_CASES[1]
    torch.manual_seed(22)
    vae = AutoencoderKLWan(**cfg).eval()
    with torch.no_grad():
        for pname, p in vae.named_parameters():
            if pname.endswith("gamma"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
    latents = torch.randn(latent_shape, generator=g).bfloat16()
    with torch.no_grad():
        full = vae.decode(latents.float()).sample
        vae = vae.to(torch.bfloat16)
        out = vae.decode(latents).sample
    atol, gap = _bf16_tolerance(out, full)
    print(f"  vae decode bf16 vs f32 gap {gap:.3g}")
    write_case(out_dir, f"vae_{name}_decode_bf16", "wan_vae_decode", atol, 1e-2,
               {"dtype": "bf16"}, {"vae": vae}, {"in.latents": latents, "out.video": out})


# ---------------------------------------------------------------------------------------------
# Pipeline: wan_pipeline (WanImageToVideoPipeline, prompt embeddings fed directly)
# ---------------------------------------------------------------------------------------------

def _perturbed(module, seed, scale=0.1):
    """Random init leaves norms at 1 and some tables at 0; nudge every parameter (seeded) so
    each path carries signal."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn(p.shape, generator=g) * scale)
    return module.eval()


def _manual_i2v(vae, transformer, scheduler, image, prompt_embeds, negative_embeds, latents,
                steps, guidance, expand_timesteps, image_embeds=None):
    """The same sampling as WanImageToVideoPipeline, written out by hand: the fixture is only
    written if this and the pipeline agree."""
    import copy

    sched = copy.deepcopy(scheduler)
    z = vae.config.z_dim
    mean = torch.tensor(vae.config.latents_mean).view(1, z, 1, 1, 1)
    std = torch.tensor(vae.config.latents_std).view(1, z, 1, 1, 1)
    first = (image * 2 - 1).unsqueeze(2)
    frames = (latents.shape[2] - 1) * 4 + 1
    if expand_timesteps:
        video = first
    else:
        video = torch.cat([first, torch.zeros(1, 3, frames - 1, *first.shape[3:])], dim=2)
    cond = (vae.encode(video).latent_dist.mode() - mean) / std
    keep = torch.ones_like(latents[:, :1])
    keep[:, :, 0] = 0  # 0 where the image's latent frame is kept
    sched.set_timesteps(steps)
    x = latents
    for t in sched.timesteps:
        if expand_timesteps:
            inp = cond * (1 - keep) + x * keep
            ts = (keep[0, 0, :, ::2, ::2] * t).flatten()[None]
        else:
            i2v_mask = torch.zeros(1, 4, *latents.shape[2:])
            i2v_mask[:, :, 0] = 1
            inp = torch.cat([x, i2v_mask, cond], dim=1)
            ts = t.expand(1)

        def model(text):
            return transformer(hidden_states=inp, timestep=ts, encoder_hidden_states=text,
                               encoder_hidden_states_image=image_embeds, return_dict=False)[0]

        c = model(prompt_embeds)
        pred = c if guidance <= 1 else model(negative_embeds) + guidance * (c - model(negative_embeds))
        x = sched.step(pred, t, x, return_dict=False)[0]
    if expand_timesteps:
        x = cond * (1 - keep) + x * keep
    video = vae.decode(x * std + mean).sample
    return (video / 2 + 0.5).clamp(0, 1).permute(0, 2, 1, 3, 4)


def make_pipeline_cases(out_dir):
    from diffusers import (AutoencoderKLWan, UniPCMultistepScheduler, WanImageToVideoPipeline,
                           WanTransformer3DModel)

    # (name, vae kwargs, transformer kwargs, expand_timesteps, image_dim tokens, H, W, frames,
    #  steps, guidance, flow_shift). VAE/transformer configs are those of diffusers' fast tests
    # (tests/pipelines/wan/test_wan_22_image_to_video.py: the TI2V-5B class; the Wan2.1 I2V
    # one from test_wan_image_to_video.py), with non-trivial latents_mean/std.
    g = torch.Generator().manual_seed(77)
    ti2v_vae = dict(base_dim=3, z_dim=48, in_channels=12, out_channels=12, is_residual=True,
                    patch_size=2, latents_mean=(torch.randn(48, generator=g) * 0.3).tolist(),
                    latents_std=(torch.rand(48, generator=g) + 0.5).tolist(),
                    dim_mult=[1, 1, 1, 1], num_res_blocks=1, scale_factor_spatial=16,
                    scale_factor_temporal=4, temperal_downsample=[False, True, True])
    ti2v_dit = dict(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12,
                    in_channels=48, out_channels=48, text_dim=32, freq_dim=256, ffn_dim=32,
                    num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
                    rope_max_seq_len=32)
    i2v_vae = dict(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                   temperal_downsample=[False, True, True],
                   latents_mean=(torch.randn(16, generator=g) * 0.3).tolist(),
                   latents_std=(torch.rand(16, generator=g) + 0.5).tolist())
    i2v_dit = dict(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12,
                   in_channels=36, out_channels=16, text_dim=32, freq_dim=256, ffn_dim=32,
                   num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
                   rope_max_seq_len=32, image_dim=4)
    cases = [
        ("wan_pipeline_ti2v_tiny", ti2v_vae, ti2v_dit, True, None, 32, 32, 9, 2, 6.0, 3.0),
        ("wan_pipeline_ti2v_wide", ti2v_vae, ti2v_dit, True, None, 32, 64, 9, 4, 5.0, 5.0),
        ("wan_pipeline_ti2v_noguide", ti2v_vae, ti2v_dit, True, None, 64, 32, 5, 3, 1.0, 5.0),
        ("wan_pipeline_i2v_tiny", i2v_vae, i2v_dit, False, 5, 32, 48, 9, 3, 5.0, 3.0),
    ]
    for seed, (name, vae_cfg, dit_cfg, expand, image_tokens, h, w, frames, steps, guidance,
               shift) in enumerate(cases, start=500):
        torch.manual_seed(seed)
        vae = _perturbed(AutoencoderKLWan(**vae_cfg), seed, 0.05)
        transformer = _perturbed(WanTransformer3DModel(**dit_cfg), seed + 1)
        scheduler = UniPCMultistepScheduler(**dict(WAN_UNIPC, flow_shift=shift))
        pipe = WanImageToVideoPipeline(tokenizer=None, text_encoder=None, vae=vae,
                                       scheduler=scheduler, transformer=transformer,
                                       transformer_2=None, image_encoder=None,
                                       image_processor=None, boundary_ratio=None,
                                       expand_timesteps=expand)
        pipe.set_progress_bar_config(disable=True)
        gen = torch.Generator().manual_seed(seed)
        image = torch.rand(1, 3, h, w, generator=gen)
        prompt_embeds = torch.randn(1, 16, 32, generator=gen)
        prompt_embeds[:, 9:] = 0  # padded positions are zero, as the text encoder path leaves them
        negative = torch.randn(1, 16, 32, generator=gen)
        negative[:, 12:] = 0
        z = vae.config.z_dim
        latents = torch.randn(1, z, (frames - 1) // 4 + 1, h // vae.config.scale_factor_spatial,
                              w // vae.config.scale_factor_spatial, generator=gen)
        image_embeds = None if image_tokens is None else torch.randn(1, image_tokens, 4, generator=gen)
        if image_embeds is not None:
            # diffusers refuses `image` together with `image_embeds`, but I2V needs both (the
            # image is also VAE-encoded); stand in for the CLIP encoder with the fixed tokens.
            pipe.encode_image = lambda _image, _device: image_embeds
        with torch.no_grad():
            video = pipe(image=image, prompt_embeds=prompt_embeds,
                         negative_prompt_embeds=negative if guidance > 1 else None,
                         height=h, width=w, num_frames=frames,
                         num_inference_steps=steps, guidance_scale=guidance,
                         latents=latents.clone(), output_type="pt").frames
            manual = _manual_i2v(vae, transformer, scheduler, image, prompt_embeds, negative,
                                 latents.clone(), steps, guidance, expand, image_embeds)
        # Not bit-equal: the pipeline normalises with `* (1 / std)` and `/ (1 / std)`, the
        # hand-written loop with `/ std` and `* std`; that rounding stays far below atol.
        diff = (video - manual).abs().max().item()
        if video.shape != (1, frames, 3, h, w) or diff > 2e-5:
            raise RuntimeError(f"{name}: pipeline and hand-written loop disagree "
                               f"(shape {tuple(video.shape)}, max diff {diff})")
        tensors = {"in.image": image, "in.prompt_embeds": prompt_embeds,
                   "in.negative_prompt_embeds": negative, "in.latents": latents,
                   "out.video": video}
        if image_embeds is not None:
            tensors["in.image_embeds"] = image_embeds
        params = {"height": h, "width": w, "num_frames": frames, "num_inference_steps": steps,
                  "guidance_scale": guidance, "expand_timesteps": expand}
        write_case(out_dir, name, "wan_pipeline", 1e-4, 1e-4, params, {".": pipe}, tensors)


FAMILIES = {
    "schedulers": make_scheduler_cases,
    "vae": make_vae_cases,
    "umt5": make_umt5_cases,
    "transformer": make_transformer_cases,
    "clip": make_clip_cases,
    "pipeline": make_pipeline_cases,
    "bf16": make_bf16_cases,
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="directory to write the case folders into")
    parser.add_argument("--only", action="append", choices=sorted(FAMILIES),
                        help="component family to generate (repeatable); default: all")
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    os.makedirs(args.out, exist_ok=True)
    for family in args.only or list(FAMILIES):
        print(f"{family}:")
        FAMILIES[family](args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
