//! Parity check for `wan_transformer`: one forward of `WanTransformer3DModel`.

use candle_core::Device;
use kinema_core::Result;

use super::{Case, Comparison};
use crate::models::wan::transformer::{TransformerInput, WanTransformer3DModel};

pub fn check(case: &Case, device: &Device) -> Result<Vec<Comparison>> {
    let dtype = case.dtype()?;
    let model = WanTransformer3DModel::from_dir(&case.folder("transformer")?, dtype, device)?;
    let on_device = |name: &str| -> Result<candle_core::Tensor> {
        let t = case.input(name)?;
        // Timesteps stay f32, as the pipeline passes them; activations take the case's dtype.
        let t = if name == "timestep" {
            t.clone()
        } else {
            t.to_dtype(dtype).map_err(|e| {
                kinema_core::Error::model(format!("parity case {}: casting in.{name}", case.name))
                    .with_source(e)
            })?
        };
        t.to_device(device).map_err(|e| {
            kinema_core::Error::model(format!(
                "parity case {}: moving in.{name} to {device:?}",
                case.name
            ))
            .with_source(e)
        })
    };
    let hidden_states = on_device("hidden_states")?;
    let timestep = on_device("timestep")?;
    let text = on_device("encoder_hidden_states")?;
    // Optional: only image-conditioned (I2V) cases carry image tokens.
    let image = if case.input("encoder_hidden_states_image").is_ok() {
        Some(on_device("encoder_hidden_states_image")?)
    } else {
        None
    };
    let out = model.forward(&TransformerInput {
        hidden_states: &hidden_states,
        timestep: &timestep,
        encoder_hidden_states: &text,
        encoder_hidden_states_image: image.as_ref(),
    })?;
    Ok(vec![case.compare("sample", &out)?])
}
