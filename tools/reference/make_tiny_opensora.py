"""The `--variant opensora` of make_tiny_model.py: a tiny Open-Sora 2.0 folder in the layout
`hpcai-tech/Open-Sora-v2` ships (see docs/OPENSORA.md), for the `opensora` engine's tests:

    Open_Sora_v2.safetensors + config.json    Open-Sora's own MMDiT (built by its code at the
                                              pinned commit, so its key names are the real ones)
    hunyuan_vae.safetensors + hunyuan_vae_config.json
                                              diffusers' AutoencoderKLHunyuanVideo, 16 latent
                                              channels at toy widths
    google/t5-v1_1-xxl/                       transformers T5EncoderModel + tokenizer.json
    openai/clip-vit-large-patch14/            transformers CLIPTextModel + tokenizer.json

The VAE file is also loaded, strict, into Open-Sora's own `AutoencoderKLCausal3D` (HunyuanVideo's
original module tree) and both decode the same latents: that is the check that the released
`hunyuan_vae.safetensors` key names are diffusers' ones, so Kinema reads it unrenamed.

Weights are float16 on disk (Kinema loads them as float32). Outputs are noise.
"""

import json
import os
import shutil
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import _perturbed, _tiny_tokenizer  # noqa: E402
import opensora_reference as osr  # noqa: E402

T5_DIR = os.path.join("google", "t5-v1_1-xxl")
CLIP_DIR = os.path.join("openai", "clip-vit-large-patch14")
VAE_CONFIG = dict(in_channels=3, out_channels=3, latent_channels=16,
                  block_out_channels=[8, 8, 16, 16], layers_per_block=1, norm_num_groups=4,
                  scaling_factor=0.476986, spatial_compression_ratio=8,
                  temporal_compression_ratio=4, mid_block_add_attention=True)


def _half_state(module):
    return {k: v.detach().half().contiguous() for k, v in module.state_dict().items()}


def _clip_tokenizer():
    """A word-level tokenizer with CLIP's special tokens: `<|startoftext|> … <|endoftext|>`,
    padding with `<|endoftext|>` as CLIP-L's does."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    words = ["<|startoftext|>", "<|endoftext|>", "the", "knight", "swings", "his", "sword",
             "a", "slime", "bounces", "waves", "hello", ".", "fps", "motion", "score",
             "1", "2", "3", "4", "5", "6", "7", "24", "<unk>"]
    vocab = {w: i for i, w in enumerate(words)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Whitespace(), pre_tokenizers.Punctuation()])
    tok.post_processor = processors.TemplateProcessing(
        single="<|startoftext|> $A <|endoftext|>",
        special_tokens=[("<|startoftext|>", 0), ("<|endoftext|>", 1)])
    return tok, len(words)


def _opensora_vae_class(src):
    """Open-Sora's `AutoencoderKLCausal3D` and its config class, behind the reference shims."""
    osr.install_shims(src)
    pkg = os.path.join(src, "opensora")
    osr._module("opensora.models.hunyuan_vae", package_dir=os.path.join(pkg, "models", "hunyuan_vae"))
    osr._module("opensora.models.vae", package_dir=os.path.join(pkg, "models", "vae"))
    sys.modules["opensora.acceleration.checkpoint"].checkpoint = lambda m, *a, **k: m(*a, **k)
    import importlib

    mod = importlib.import_module("opensora.models.hunyuan_vae.autoencoder_kl_causal_3d")
    return mod.AutoencoderKLCausal3D, mod.AutoEncoder3DConfig


def _check_vae_names(src, vae, path):
    """Loads the written file, strict, into Open-Sora's own VAE and compares a decode."""
    from safetensors.torch import load_file

    cls, config_cls = _opensora_vae_class(src)
    c = VAE_CONFIG
    theirs = cls(config_cls(
        from_pretrained=None, in_channels=3, out_channels=3, latent_channels=c["latent_channels"],
        layers_per_block=c["layers_per_block"], norm_num_groups=c["norm_num_groups"],
        block_out_channels=tuple(c["block_out_channels"]), scale_factor=c["scaling_factor"],
        time_compression_ratio=4, spatial_compression_ratio=8)).eval()
    state = {k: v.float() for k, v in load_file(path).items()}
    theirs.load_state_dict(state, strict=True)  # raises on any missing or unexpected key
    vae.load_state_dict(state, strict=True)
    z = torch.randn(1, 16, 2, 2, 2, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        a = vae.decode(z).sample
        # Open-Sora's decode divides by scale_factor first (its encode multiplies).
        b = theirs.decode(z * c["scaling_factor"])
    diff = (a - b).abs().max().item()
    assert diff < 1e-4, f"Open-Sora's and diffusers' HunyuanVideo VAE decode differ by {diff}"
    print(f"hunyuan_vae.safetensors: {len(state)} keys load strict into Open-Sora's "
          f"AutoencoderKLCausal3D; decodes agree to {diff:.1e}")


def build_opensora(out, src):
    from diffusers import AutoencoderKLHunyuanVideo
    from transformers import CLIPTextConfig, CLIPTextModel, T5Config, T5EncoderModel

    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)

    t5_tok = _tiny_tokenizer()
    torch.manual_seed(40)
    t5 = _perturbed(T5EncoderModel(T5Config(
        vocab_size=len(t5_tok), d_model=32, d_kv=8, num_heads=4, d_ff=64, num_layers=2,
        relative_attention_num_buckets=32, feed_forward_proj="gated-gelu",
        is_encoder_decoder=False)), 40, 0.05)
    t5.half().save_pretrained(os.path.join(out, T5_DIR), safe_serialization=True)
    t5_tok.backend_tokenizer.save(os.path.join(out, T5_DIR, "tokenizer.json"))

    clip_tok, clip_vocab = _clip_tokenizer()
    torch.manual_seed(41)
    clip = _perturbed(CLIPTextModel(CLIPTextConfig(
        vocab_size=clip_vocab, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
        num_attention_heads=2, max_position_embeddings=77, bos_token_id=0, eos_token_id=1,
        pad_token_id=1, projection_dim=16)), 41, 0.05)
    clip.half().save_pretrained(os.path.join(out, CLIP_DIR), safe_serialization=True)
    clip_tok.save(os.path.join(out, CLIP_DIR, "tokenizer.json"))

    torch.manual_seed(42)
    vae = _perturbed(AutoencoderKLHunyuanVideo(**VAE_CONFIG), 42, 0.05)
    vae_path = os.path.join(out, "hunyuan_vae.safetensors")
    save_file(_half_state(vae), vae_path)
    with open(os.path.join(out, "hunyuan_vae_config.json"), "w") as f:
        json.dump(dict(VAE_CONFIG, _class_name="AutoencoderKLHunyuanVideo"), f, indent=2,
                  sort_keys=True)
        f.write("\n")

    mmdit_mod, _sampling = osr.import_opensora(os.path.abspath(src))
    model, config = osr.tiny_model(mmdit_mod, 43, context_in_dim=32, vec_in_dim=16)
    folder = osr.TransformerFolder(model, config)
    folder.save_pretrained(out)  # config.json + diffusion_pytorch_model.safetensors
    os.replace(os.path.join(out, "diffusion_pytorch_model.safetensors"),
               os.path.join(out, "Open_Sora_v2.safetensors"))

    _check_vae_names(os.path.abspath(src), vae, vae_path)
    return out
