//! Open-Sora 2.0's image-to-video sampling (`api_fn` and `I2VDenoiser` in
//! `opensora/utils/sampling.py`, `cond_type = "i2v_head"`), from latent noise and the
//! reference frame's latent to the denoised latents, ready for the VAE.
//!
//! - Latents `[1, C, T, h, w]` are packed into 2×2 tokens `(c ph pw)`.
//! - The condition is a mask (1 on latent frame 0) and the reference latents on frame 0,
//!   concatenated mask first and packed the same way: `C·4 + 4` channels.
//! - Every step runs one batch of three: [prompt, negative, negative], the condition on the
//!   first two and zeros on the third, and combines them as
//!   `u₂ + g_img·(u − u₂) + g_txt·(c − u)`: image guidance between "no image" and "image",
//!   text guidance between "negative text" and "prompt".
//! - Either scale can oscillate (full on even steps, off on odd steps after the tenth); with
//!   `scale_temporal_osci` the image scale also falls over the steps and grows along the
//!   latent frames, from 1 at frame 0.
//! - Euler steps on the shifted time grid of [`crate::schedulers::opensora`]; frame 0 of the
//!   result is replaced by the reference latents.
//!
//! One deliberate difference: Open-Sora keeps the latents in the model's dtype between steps
//! (bf16 in its configs); here they stay in f32 whatever the model runs in, so a bf16 model
//! only rounds inside each forward, not the running sum of 50 Euler steps.

use candle_core::{DType, Device, Tensor};
use kinema_core::{Error, Result};

use crate::models::opensora_mmdit::{MmditInput, MmditModel};
use crate::schedulers::opensora::{linspace_f32, oscillation_scale, schedule, ScheduleShift};

/// The sampling options of `SamplingOption`, with the defaults of Open-Sora's
/// `configs/diffusion/inference/256px.py`.
#[derive(Clone, Debug, PartialEq)]
pub struct I2vSampling {
    pub num_steps: usize,
    /// Text guidance scale.
    pub guidance: f64,
    /// Image guidance scale.
    pub guidance_img: f64,
    pub text_osci: bool,
    pub image_osci: bool,
    pub scale_temporal_osci: bool,
    pub shift: ScheduleShift,
}

impl Default for I2vSampling {
    fn default() -> Self {
        I2vSampling {
            num_steps: 50,
            guidance: 7.5,
            guidance_img: 3.0,
            text_osci: true,
            image_osci: true,
            scale_temporal_osci: true,
            shift: ScheduleShift {
                enabled: true,
                flow_shift: None,
            },
        }
    }
}

/// What one sampling run starts from.
pub struct I2vInputs<'a> {
    /// Initial noise `[1, C, T, h, w]` (latent frames and size).
    pub noise: &'a Tensor,
    /// The reference frame's latents `[1, C, 1, h, w]` (a VAE posterior sample, scaled).
    pub ref_latents: &'a Tensor,
    /// T5 embeddings of the prompt and of the negative prompt, `[1, L, context_in_dim]`.
    pub txt: &'a Tensor,
    pub txt_neg: &'a Tensor,
    /// Pooled CLIP embeddings of the prompt and of the negative prompt, `[1, vec_in_dim]`.
    pub y_vec: &'a Tensor,
    pub y_vec_neg: &'a Tensor,
}

/// The result: the time grid that was used and the latents `[1, C, T, h, w]` (f32).
pub struct I2vOutput {
    pub timesteps: Vec<f32>,
    pub latents: Tensor,
}

fn err(what: &'static str) -> impl FnOnce(candle_core::Error) -> Error {
    move |e| Error::model(format!("Open-Sora sampling: {what}")).with_source(e)
}

/// Latent frames for `num_frames` video frames: the causal VAE keeps frame 0 and compresses
/// the rest 4×, so only `4k + 1` frames map onto whole latents.
pub fn latent_frames(num_frames: usize) -> Result<usize> {
    if num_frames == 0 || !(num_frames - 1).is_multiple_of(4) {
        let below = num_frames.saturating_sub(1) / 4 * 4 + 1;
        return Err(Error::invalid(
            format!("{num_frames} frames cannot be made by Open-Sora: the count must be 4k+1"),
            format!("use {below} or {} frames", below + 4),
        ));
    }
    Ok((num_frames - 1) / 4 + 1)
}

/// `b c t (h ph) (w pw) -> b (t h w) (c ph pw)`.
pub fn pack(x: &Tensor, patch: usize) -> Result<Tensor> {
    let (b, c, t, hp, wp) = x.dims5().map_err(err("pack: latents must be 5-D"))?;
    if !hp.is_multiple_of(patch) || !wp.is_multiple_of(patch) {
        return Err(Error::invalid(
            format!("latent size {hp}×{wp} is not a multiple of the {patch}×{patch} patch"),
            "use a width and height that are multiples of 16 pixels",
        ));
    }
    let (h, w) = (hp / patch, wp / patch);
    x.reshape((b, c, t * h, patch, w, patch))
        .and_then(|x| x.permute((0, 2, 4, 1, 3, 5)))
        .and_then(|x| x.reshape((b, t * h * w, c * patch * patch)))
        .map_err(err("pack"))
}

/// `b (t h w) (c ph pw) -> b c t (h ph) (w pw)`, for `h`, `w` in tokens.
pub fn unpack(x: &Tensor, t: usize, h: usize, w: usize, patch: usize) -> Result<Tensor> {
    let (b, _, cpp) = x.dims3().map_err(err("unpack: tokens must be 3-D"))?;
    let c = cpp / (patch * patch);
    x.reshape((b, t * h, w, c, patch, patch))
        .and_then(|x| x.permute((0, 3, 1, 4, 2, 5)))
        .and_then(|x| x.reshape((b, c, t, h * patch, w * patch)))
        .map_err(err("unpack"))
}

/// (t, row, col) of every token, `[N, 3]` f32, in packing order.
pub fn position_ids(t: usize, h: usize, w: usize, device: &Device) -> Result<Tensor> {
    let mut ids = Vec::with_capacity(t * h * w * 3);
    for f in 0..t {
        for r in 0..h {
            for c in 0..w {
                ids.extend([f as f32, r as f32, c as f32]);
            }
        }
    }
    Tensor::from_vec(ids, (t * h * w, 3), device).map_err(err("position ids"))
}

/// The packed `i2v_head` condition `[1, N, (C+1)·p²]`: mask (1 on frame 0) then the
/// reference latents on frame 0, zeros elsewhere.
pub fn head_condition(ref_latents: &Tensor, frames: usize, patch: usize) -> Result<Tensor> {
    let (b, c, _, h, w) = ref_latents.dims5().map_err(err("reference latents"))?;
    let device = ref_latents.device();
    let build = || -> candle_core::Result<Tensor> {
        let reference = ref_latents.narrow(2, 0, 1)?.to_dtype(DType::F32)?;
        let mut mask = Tensor::ones((b, 1, 1, h, w), DType::F32, device)?;
        let mut masked = reference;
        if frames > 1 {
            let rest = |ch| Tensor::zeros((b, ch, frames - 1, h, w), DType::F32, device);
            mask = Tensor::cat(&[&mask, &rest(1)?], 2)?;
            masked = Tensor::cat(&[&masked, &rest(c)?], 2)?;
        }
        Tensor::cat(&[&mask, &masked], 1)
    };
    pack(&build().map_err(err("condition"))?, patch)
}

/// The per-token image guidance of `scale_temporal_osci` at `step`: the step's upper bound
/// falls linearly from `image_scale` to 1 over the grid; along the `frames` latent frames the
/// scale rises from 1 to that bound. `[1, N, 1]`.
fn temporal_image_scale(
    image_scale: f64,
    step: usize,
    grid_len: usize,
    frames: usize,
    tokens_per_frame: usize,
    device: &Device,
) -> Result<Tensor> {
    let upper = linspace_f32(image_scale as f32, 1.0, grid_len)[step];
    let per_frame = linspace_f32(1.0, upper, frames);
    let values: Vec<f32> = per_frame
        .iter()
        .flat_map(|&s| std::iter::repeat_n(s, tokens_per_frame))
        .collect();
    Tensor::from_vec(values, (1, frames * tokens_per_frame, 1), device)
        .map_err(err("temporal image guidance"))
}

/// Runs the sampler; `progress(step, total)` is called after each step.
pub fn sample(
    model: &MmditModel,
    inputs: &I2vInputs,
    options: &I2vSampling,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<I2vOutput> {
    let config = model.config();
    let patch = config.patch_size;
    let (nb, c, frames, h, w) = inputs
        .noise
        .dims5()
        .map_err(err("noise must be [1, C, T, h, w]"))?;
    let bad = |msg: String| {
        Err(Error::invalid(
            format!("Open-Sora sampling: {msg}"),
            "check the latent and text shapes",
        ))
    };
    if nb != 1 {
        return bad(format!("noise batch is {nb}; one clip at a time"));
    }
    if c * patch * patch != config.in_channels {
        return bad(format!(
            "noise has {c} channels; the model takes {} packed, {} per latent",
            config.in_channels,
            config.in_channels / (patch * patch)
        ));
    }
    if inputs.ref_latents.dims() != [1, c, 1, h, w] {
        return bad(format!(
            "reference latents are {:?}; expected [1, {c}, 1, {h}, {w}]",
            inputs.ref_latents.dims()
        ));
    }
    if inputs.txt.dims() != inputs.txt_neg.dims() || inputs.y_vec.dims() != inputs.y_vec_neg.dims()
    {
        return bad(format!(
            "prompt and negative embeddings differ in shape ({:?} / {:?}, {:?} / {:?}); pad both to the same length",
            inputs.txt.dims(),
            inputs.txt_neg.dims(),
            inputs.y_vec.dims(),
            inputs.y_vec_neg.dims()
        ));
    }
    if options.num_steps == 0 {
        return Err(Error::invalid(
            "Open-Sora sampling: 0 steps",
            "use --steps 1 or more (Open-Sora uses 50)",
        ));
    }
    let device = inputs.noise.device();
    let (th, tw) = (h / patch, w / patch);
    let tokens_per_frame = th * tw;
    let timesteps = schedule(options.num_steps, tokens_per_frame, frames, options.shift);

    let mut x = pack(
        &inputs.noise.to_dtype(DType::F32).map_err(err("noise"))?,
        patch,
    )?;
    let ids = position_ids(frames, th, tw, device)?;
    let n = ids.dim(0).map_err(err("position ids"))?;
    let three = |a: &Tensor, b: &Tensor| Tensor::cat(&[a, b, b], 0);
    let img_ids = ids
        .unsqueeze(0)
        .and_then(|i| i.repeat((3, 1, 1)))
        .map_err(err("ids"))?;
    let txt = three(inputs.txt, inputs.txt_neg).map_err(err("text batch"))?;
    let y_vec = three(inputs.y_vec, inputs.y_vec_neg).map_err(err("pooled text batch"))?;
    let txt_ids = Tensor::zeros((3, txt.dim(1).map_err(err("txt"))?, 3), DType::F32, device)
        .map_err(err("text ids"))?;
    let cond1 = head_condition(inputs.ref_latents, frames, patch)?;
    let cond = Tensor::cat(
        &[&cond1, &cond1, &cond1.zeros_like().map_err(err("cond"))?],
        0,
    )
    .map_err(err("condition batch"))?;
    // Open-Sora builds the time and guidance vectors in the model's dtype (bf16 in a bf16 run).
    let guidance = Tensor::full(options.guidance as f32, 3, device)
        .and_then(|g| g.to_dtype(model.dtype()))
        .map_err(err("guidance"))?;
    debug_assert_eq!(n, frames * tokens_per_frame);

    for (i, pair) in timesteps.windows(2).enumerate() {
        let (t_curr, t_prev) = (pair[0], pair[1]);
        let img = x.repeat((3, 1, 1)).map_err(err("latent batch"))?;
        let t_vec = Tensor::full(t_curr, 3, device)
            .and_then(|t| t.to_dtype(model.dtype()))
            .map_err(err("timesteps"))?;
        let pred = model
            .forward(&MmditInput {
                img: &img,
                img_ids: &img_ids,
                txt: &txt,
                txt_ids: &txt_ids,
                timesteps: &t_vec,
                y_vec: &y_vec,
                cond: Some(&cond),
                guidance: config.guidance_embed.then_some(&guidance),
            })?
            .to_dtype(DType::F32)
            .map_err(err("prediction"))?;
        let text_scale = if options.text_osci {
            oscillation_scale(options.guidance, i)
        } else {
            options.guidance
        };
        let image_scale = if options.image_osci {
            oscillation_scale(options.guidance_img, i)
        } else {
            options.guidance_img
        };
        let combine = || -> Result<Tensor> {
            let chunk = |k| pred.narrow(0, k, 1).map_err(err("prediction chunk"));
            let (cond_pred, uncond, uncond_img) = (chunk(0)?, chunk(1)?, chunk(2)?);
            let image_delta = (&uncond - &uncond_img).map_err(err("guidance"))?;
            let image_term = if image_scale > 1.0 && options.scale_temporal_osci {
                let scale = temporal_image_scale(
                    image_scale,
                    i,
                    timesteps.len(),
                    frames,
                    tokens_per_frame,
                    device,
                )?;
                image_delta.broadcast_mul(&scale)
            } else {
                image_delta * image_scale
            }
            .map_err(err("image guidance"))?;
            let text_term = ((&cond_pred - &uncond).map_err(err("guidance"))? * text_scale)
                .map_err(err("text guidance"))?;
            (uncond_img + image_term)
                .and_then(|g| g + text_term)
                .map_err(err("guidance"))
        };
        let velocity = combine()?;
        let dt = f64::from(t_prev) - f64::from(t_curr);
        x = (x + (velocity * dt).map_err(err("euler step"))?).map_err(err("euler step"))?;
        progress(i + 1, options.num_steps);
    }

    let latents = unpack(&x, frames, th, tw, patch)?;
    let latents = if frames > 1 {
        let rest = latents.narrow(2, 1, frames - 1).map_err(err("frames"))?;
        let reference = inputs
            .ref_latents
            .to_dtype(DType::F32)
            .map_err(err("reference"))?;
        Tensor::cat(&[&reference, &rest], 2).map_err(err("frame 0"))?
    } else {
        inputs
            .ref_latents
            .to_dtype(DType::F32)
            .map_err(err("reference"))?
    };
    Ok(I2vOutput { timesteps, latents })
}

#[cfg(test)]
#[path = "opensora_i2v_tests.rs"]
mod tests;
