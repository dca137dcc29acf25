//! `model_index.json` of a diffusers Wan pipeline folder: which components it holds and the
//! pipeline-level switches (`expand_timesteps`, `boundary_ratio`) that change the sampling.

use std::path::Path;

use kinema_core::{Error, Result};
use serde_json::Value;

/// Pipeline classes whose folders this crate can run as image-to-video. Wan2.2 TI2V-5B ships
/// as `WanPipeline` with `expand_timesteps: true`; diffusers loads the same folder into
/// `WanImageToVideoPipeline`, which is what we reproduce.
pub const PIPELINE_CLASSES: &[&str] = &["WanImageToVideoPipeline", "WanPipeline"];

/// The parts of `model_index.json` that decide how to run the folder.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelIndex {
    pub class_name: String,
    /// Wan2.2 TI2V: the image is the first latent frame and has its own (zero) timestep.
    pub expand_timesteps: bool,
    /// Wan2.2 A14B: switch to `transformer_2` below this fraction of the timesteps.
    pub boundary_ratio: Option<f64>,
    pub has_text_encoder: bool,
    pub has_image_encoder: bool,
    pub has_transformer_2: bool,
}

impl ModelIndex {
    /// Reads `<dir>/model_index.json`.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join("model_index.json");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::model(format!("`{}` is not a model folder: cannot read {}", dir.display(), path.display()))
                .with_source(e)
                .with_hint("pass the folder of a diffusers Wan checkpoint (e.g. a download of Wan-AI/Wan2.2-TI2V-5B-Diffusers), the one holding model_index.json")
        })?;
        Self::from_json(&text).map_err(|e| Error {
            message: format!("{}: {}", path.display(), e.message),
            ..e
        })
    }

    pub fn from_json(text: &str) -> Result<Self> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| Error::model(format!("not valid JSON: {e}")))?;
        let class_name = value
            .get("_class_name")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::model("no string `_class_name`"))?
            .to_string();
        if !PIPELINE_CLASSES.contains(&class_name.as_str()) {
            return Err(Error::unsupported(format!(
                "pipeline class `{class_name}` is not supported"
            ))
            .with_hint(format!("supported: {}", PIPELINE_CLASSES.join(", "))));
        }
        // A component entry is `[library, class]`, or `[null, null]` when left out.
        let present = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|v| !v.is_null()))
        };
        let flag = |key: &str| -> Result<bool> {
            match value.get(key) {
                None | Some(Value::Null) => Ok(false),
                Some(Value::Bool(b)) => Ok(*b),
                Some(other) => Err(Error::model(format!(
                    "`{key}` must be a boolean, got {other}"
                ))),
            }
        };
        let boundary_ratio = match value.get("boundary_ratio") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_f64().ok_or_else(|| {
                Error::model(format!("`boundary_ratio` must be a number, got {v}"))
            })?),
        };
        for required in ["transformer", "vae", "scheduler"] {
            if !present(required) {
                return Err(
                    Error::model(format!("the pipeline has no `{required}` component"))
                        .with_hint("download the complete model folder"),
                );
            }
        }
        Ok(ModelIndex {
            class_name,
            expand_timesteps: flag("expand_timesteps")?,
            boundary_ratio,
            has_text_encoder: present("text_encoder") && present("tokenizer"),
            has_image_encoder: present("image_encoder"),
            has_transformer_2: present("transformer_2"),
        })
    }

    /// Refuses the variants this crate does not run yet, saying which.
    pub fn check_supported(&self) -> Result<()> {
        if self.has_transformer_2 || self.boundary_ratio.is_some() {
            return Err(Error::unsupported(
                "two-expert Wan2.2 A14B checkpoints (transformer_2 / boundary_ratio) are not supported yet",
            )
            .with_hint("use Wan-AI/Wan2.2-TI2V-5B-Diffusers"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TI2V: &str = r#"{"_class_name": "WanPipeline", "boundary_ratio": null,
        "expand_timesteps": true, "scheduler": ["diffusers", "UniPCMultistepScheduler"],
        "text_encoder": ["transformers", "UMT5EncoderModel"], "tokenizer": ["transformers", "T5TokenizerFast"],
        "transformer": ["diffusers", "WanTransformer3DModel"], "transformer_2": [null, null],
        "vae": ["diffusers", "AutoencoderKLWan"]}"#;

    #[test]
    fn reads_the_ti2v_index() {
        let idx = ModelIndex::from_json(TI2V).unwrap();
        assert!(idx.expand_timesteps && idx.has_text_encoder);
        assert!(!idx.has_image_encoder && !idx.has_transformer_2);
        idx.check_supported().unwrap();
    }

    #[test]
    fn refuses_unknown_classes_and_two_experts() {
        let err = ModelIndex::from_json(&TI2V.replace("WanPipeline", "FluxPipeline")).unwrap_err();
        assert!(err.message.contains("FluxPipeline"), "{}", err.message);
        let a14b = TI2V
            .replace(r#""boundary_ratio": null"#, r#""boundary_ratio": 0.875"#)
            .replace(
                r#""transformer_2": [null, null]"#,
                r#""transformer_2": ["diffusers", "WanTransformer3DModel"]"#,
            );
        let err = ModelIndex::from_json(&a14b)
            .unwrap()
            .check_supported()
            .unwrap_err();
        assert!(err.message.contains("A14B"), "{}", err.message);
        let err = ModelIndex::from_json(&TI2V.replace(
            r#""vae": ["diffusers", "AutoencoderKLWan"]"#,
            r#""vae": [null, null]"#,
        ))
        .unwrap_err();
        assert!(err.message.contains("`vae`"), "{}", err.message);
    }

    #[test]
    fn missing_folder_says_it_is_not_a_model_folder() {
        let err = ModelIndex::read(Path::new("/nonexistent/wan")).unwrap_err();
        assert!(
            err.message.contains("is not a model folder"),
            "{}",
            err.message
        );
        assert!(err.hint.is_some());
    }
}
