//! Data-driven parity against diffusers (and, for Open-Sora, against its own code).
//!
//! A *case* is a directory written by `tools/reference/make_fixtures.py`:
//! `case.json` (`{"component", "atol", "rtol", "params"}`), the component's folders as
//! diffusers' `save_pretrained` writes them (`vae/`, `scheduler/`, …) and `io.safetensors`
//! holding `in.<name>` inputs and `out.<name>` expected outputs. Keeping the machinery in the
//! library (rather than in the test) lets the CLI or a benchmark re-run the same checks on
//! user-supplied case directories (`KINEMA_PARITY_DIRS`), e.g. fixtures made from real
//! checkpoints that are too big to commit.

mod clip_vision;
mod hunyuan_vae;
mod opensora;
mod pipeline;
mod schedulers;
mod svd;
mod text_encoder;
mod text_encoders;
mod transformer;
mod vae;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use kinema_core::{Error, Result};
use serde::Deserialize;

/// Environment variable with extra case roots, colon-separated.
pub const DIRS_ENV: &str = "KINEMA_PARITY_DIRS";

/// The committed cases, next to the crate's integration tests.
pub fn builtin_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("parity")
}

/// Every case directory: the subdirectories of the built-in root and of each root listed in
/// `KINEMA_PARITY_DIRS`, sorted by path. A listed root that is itself a case (has
/// `case.json`) counts as one case, so a single fixture can be checked without a parent.
///
/// A listed root that does not exist is an error rather than zero cases: a typo in the
/// variable must not turn into a silently green run.
pub fn case_dirs() -> Result<Vec<PathBuf>> {
    let mut roots = vec![builtin_dir()];
    if let Ok(extra) = std::env::var(DIRS_ENV) {
        roots.extend(
            extra
                .split(':')
                .filter(|s| !s.trim().is_empty())
                .map(PathBuf::from),
        );
    }
    let mut dirs = Vec::new();
    for (i, root) in roots.iter().enumerate() {
        if i == 0 && !root.exists() {
            continue;
        }
        dirs.extend(cases_under(root)?);
    }
    Ok(dirs)
}

fn cases_under(root: &Path) -> Result<Vec<PathBuf>> {
    if root.join("case.json").is_file() {
        return Ok(vec![root.to_path_buf()]);
    }
    let entries = std::fs::read_dir(root).map_err(|e| {
        Error::invalid(
            format!("cannot list parity case root {}", root.display()),
            format!("check the path (roots come from the crate's tests/parity and {DIRS_ENV})"),
        )
        .with_source(e)
    })?;
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| {
            Error::model(format!("cannot read an entry of {}", root.display())).with_source(e)
        })?;
        let path = entry.path();
        if path.is_dir() {
            dirs.push(path);
        }
    }
    dirs.sort();
    Ok(dirs)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    component: String,
    atol: f64,
    rtol: f64,
    #[serde(default)]
    params: serde_json::Map<String, serde_json::Value>,
}

/// One parity case, loaded from its directory.
#[derive(Debug)]
pub struct Case {
    pub name: String,
    pub dir: PathBuf,
    pub component: String,
    pub atol: f64,
    pub rtol: f64,
    pub params: serde_json::Map<String, serde_json::Value>,
    tensors: HashMap<String, Tensor>,
}

impl Case {
    /// Reads `case.json` and `io.safetensors` (onto the CPU; checkers move what they need).
    pub fn load(dir: &Path) -> Result<Case> {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let case_json = dir.join("case.json");
        let text = std::fs::read_to_string(&case_json).map_err(|e| {
            Error::model(format!("parity case {name}: cannot read {}", case_json.display()))
                .with_source(e)
                .with_hint("every case directory needs a case.json; regenerate with tools/reference/make_fixtures.py")
        })?;
        let file: CaseFile = serde_json::from_str(&text).map_err(|e| {
            Error::model(format!(
                "parity case {name}: {} is malformed",
                case_json.display()
            ))
            .with_source(e)
            .with_hint(r#"expected {"component": NAME, "atol": f, "rtol": f, "params": {...}}"#)
        })?;
        if !(file.atol >= 0.0 && file.rtol >= 0.0) {
            return Err(Error::model(format!(
                "parity case {name}: atol {} / rtol {} must be non-negative numbers",
                file.atol, file.rtol
            )));
        }
        let io_path = dir.join("io.safetensors");
        let tensors = candle_core::safetensors::load(&io_path, &Device::Cpu).map_err(|e| {
            Error::model(format!(
                "parity case {name}: cannot load {}",
                io_path.display()
            ))
            .with_source(e)
        })?;
        Ok(Case {
            name,
            dir: dir.to_path_buf(),
            component: file.component,
            atol: file.atol,
            rtol: file.rtol,
            params: file.params,
            tensors,
        })
    }

    /// The input tensor `in.<name>`.
    pub fn input(&self, name: &str) -> Result<&Tensor> {
        self.tensor(&format!("in.{name}"))
    }

    /// The expected output tensor `out.<name>`.
    pub fn expected(&self, name: &str) -> Result<&Tensor> {
        self.tensor(&format!("out.{name}"))
    }

    fn tensor(&self, key: &str) -> Result<&Tensor> {
        self.tensors.get(key).ok_or_else(|| {
            let mut have: Vec<&str> = self.tensors.keys().map(String::as_str).collect();
            have.sort_unstable();
            Error::model(format!(
                "parity case {}: io.safetensors has no tensor `{key}` (component {} needs it; it has: {})",
                self.name,
                self.component,
                have.join(", ")
            ))
        })
    }

    /// A sub-folder of the case (`vae`, `scheduler`…), which must exist.
    pub fn folder(&self, name: &str) -> Result<PathBuf> {
        let path = self.dir.join(name);
        if path.is_dir() {
            Ok(path)
        } else {
            Err(Error::model(format!(
                "parity case {}: component {} needs the folder {}",
                self.name,
                self.component,
                path.display()
            )))
        }
    }

    /// The dtype both sides ran in: `params.dtype` (`"f32"`, `"bf16"`, `"f16"`), float32 when
    /// absent. Inputs are cast to it and models loaded in it; outputs compare in f64.
    pub fn dtype(&self) -> Result<DType> {
        match self.params.get("dtype") {
            None => Ok(DType::F32),
            Some(v) => match v.as_str() {
                Some("f32" | "float32") => Ok(DType::F32),
                Some("bf16" | "bfloat16") => Ok(DType::BF16),
                Some("f16" | "float16") => Ok(DType::F16),
                _ => Err(Error::model(format!(
                    "parity case {}: params.dtype is {v}; use \"f32\", \"bf16\" or \"f16\"",
                    self.name
                ))),
            },
        }
    }

    /// A required unsigned integer in `params`.
    pub fn param_usize(&self, key: &str) -> Result<usize> {
        self.params
            .get(key)
            .and_then(serde_json::Value::as_u64)
            .map(|v| v as usize)
            .ok_or_else(|| {
                Error::model(format!(
                    "parity case {}: params.{key} is missing or not a non-negative integer",
                    self.name
                ))
            })
    }

    /// A required number in `params`.
    pub fn param_f64(&self, key: &str) -> Result<f64> {
        self.params
            .get(key)
            .and_then(serde_json::Value::as_f64)
            .ok_or_else(|| {
                Error::model(format!(
                    "parity case {}: params.{key} is missing or not a number",
                    self.name
                ))
            })
    }

    /// A required boolean in `params`.
    pub fn param_bool(&self, key: &str) -> Result<bool> {
        self.params
            .get(key)
            .and_then(serde_json::Value::as_bool)
            .ok_or_else(|| {
                Error::model(format!(
                    "parity case {}: params.{key} is missing or not a boolean",
                    self.name
                ))
            })
    }

    /// Compares `actual` with `out.<name>` under this case's tolerances.
    pub fn compare(&self, name: &str, actual: &Tensor) -> Result<Comparison> {
        let expected = self.expected(name)?;
        compare(name, actual, expected, self.atol, self.rtol)
            .map_err(|e| Error::model(format!("parity case {}: {}", self.name, e.message)))
    }
}

/// How one output tensor compared with its reference.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    pub name: String,
    pub max_abs_err: f64,
    /// `|actual - expected| <= atol + rtol * |expected|` everywhere (torch.allclose, NaN fails).
    pub ok: bool,
    /// Flat index of the worst element, to find it again when debugging.
    pub worst_index: usize,
}

/// Compares two tensors element-wise in f64. Shapes must match exactly.
pub fn compare(
    name: &str,
    actual: &Tensor,
    expected: &Tensor,
    atol: f64,
    rtol: f64,
) -> Result<Comparison> {
    if actual.dims() != expected.dims() {
        return Err(Error::model(format!(
            "output `{name}` has shape {:?}, the reference has {:?}",
            actual.dims(),
            expected.dims()
        )));
    }
    let flat = |t: &Tensor| -> Result<Vec<f64>> {
        t.to_device(&Device::Cpu)
            .and_then(|t| t.to_dtype(DType::F64))
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f64>())
            .map_err(|e| {
                Error::internal(format!("cannot read output `{name}` for comparison"))
                    .with_source(e)
            })
    };
    let (a, e) = (flat(actual)?, flat(expected)?);
    let mut ok = true;
    let mut max_abs_err = 0.0f64;
    let mut worst_index = 0;
    for (i, (&x, &y)) in a.iter().zip(&e).enumerate() {
        let err = (x - y).abs();
        // NaN compares false, so a NaN anywhere fails and is reported as the worst element.
        let within = err <= atol + rtol * y.abs();
        ok &= within;
        if err > max_abs_err || (err.is_nan() && !max_abs_err.is_nan()) {
            max_abs_err = err;
            worst_index = i;
        }
    }
    Ok(Comparison {
        name: name.to_string(),
        max_abs_err,
        ok,
        worst_index,
    })
}

/// The outcome of one case: every output compared.
#[derive(Clone, Debug)]
pub struct CaseReport {
    pub name: String,
    pub component: String,
    pub comparisons: Vec<Comparison>,
}

impl CaseReport {
    pub fn max_abs_err(&self) -> f64 {
        self.comparisons
            .iter()
            .map(|c| c.max_abs_err)
            .fold(0.0, |m, e| if e.is_nan() { e } else { m.max(e) })
    }

    /// True when at least one output was compared and all were within tolerance.
    pub fn ok(&self) -> bool {
        !self.comparisons.is_empty() && self.comparisons.iter().all(|c| c.ok)
    }

    /// The outputs that failed, for the failure message.
    pub fn failures(&self) -> Vec<&Comparison> {
        self.comparisons.iter().filter(|c| !c.ok).collect()
    }
}

/// Runs one case on `device`. An unknown component is an error, never a skip.
pub fn run_case(case: &Case, device: &Device) -> Result<CaseReport> {
    let comparisons = match case.component.as_str() {
        "flow_match_euler" | "unipc_flow" | "euler_karras" | "euler_discrete" => {
            schedulers::check(case, device)?
        }
        "wan_vae_encode" => vae::check_encode(case, device)?,
        "wan_vae_decode" => vae::check_decode(case, device)?,
        "hunyuan_vae_encode" => hunyuan_vae::check_encode(case, device)?,
        "hunyuan_vae_decode" => hunyuan_vae::check_decode(case, device)?,
        "clip_vision" => clip_vision::check(case, device)?,
        "umt5_encoder" | "umt5_prompt" => text_encoder::check(case, device)?,
        "t5_encoder" => text_encoders::check_t5(case, device)?,
        "clip_text_pooled" => text_encoders::check_clip(case, device)?,
        "wan_transformer" => transformer::check(case, device)?,
        "wan_pipeline" => pipeline::check(case, device)?,
        "svd_vae_encode" => svd::check_vae_encode(case, device)?,
        "svd_vae_decode" => svd::check_vae_decode(case, device)?,
        "svd_unet" => svd::check_unet(case, device)?,
        "clip_vision_projection" => svd::check_clip_projection(case, device)?,
        "svd_resize_antialias" => svd::check_resize(case, device)?,
        "svd_pipeline" => svd::check_pipeline(case, device)?,
        "opensora_mmdit" => opensora::check_mmdit(case, device)?,
        "opensora_sampling" => opensora::check_sampling(case, device)?,
        other => {
            return Err(Error::model(format!(
                "parity case {}: unknown component `{other}`",
                case.name
            ))
            .with_hint(format!("known components: {}", KNOWN_COMPONENTS.join(", "))))
        }
    };
    Ok(CaseReport {
        name: case.name.clone(),
        component: case.component.clone(),
        comparisons,
    })
}

/// Loads and runs the case in `dir`.
pub fn run_dir(dir: &Path, device: &Device) -> Result<CaseReport> {
    run_case(&Case::load(dir)?, device)
}

/// Components this build can check (for the unknown-component hint).
pub const KNOWN_COMPONENTS: &[&str] = &[
    "flow_match_euler",
    "unipc_flow",
    "wan_vae_encode",
    "wan_vae_decode",
    "hunyuan_vae_encode",
    "hunyuan_vae_decode",
    "clip_vision",
    "umt5_encoder",
    "umt5_prompt",
    "t5_encoder",
    "clip_text_pooled",
    "wan_transformer",
    "wan_pipeline",
    "euler_karras",
    "euler_discrete",
    "svd_vae_encode",
    "svd_vae_decode",
    "svd_unet",
    "clip_vision_projection",
    "svd_resize_antialias",
    "svd_pipeline",
    "opensora_mmdit",
    "opensora_sampling",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f32]) -> Tensor {
        Tensor::new(v, &Device::Cpu).unwrap()
    }

    #[test]
    fn compare_reports_max_error_and_tolerance() {
        let c = compare("x", &t(&[1.0, 2.0, 3.0]), &t(&[1.0, 2.5, 3.0]), 1e-3, 0.0).unwrap();
        assert_eq!(c.max_abs_err, 0.5);
        assert_eq!(c.worst_index, 1);
        assert!(!c.ok);
        let c = compare("x", &t(&[1.0, 2.0]), &t(&[1.0, 2.001]), 0.0, 1e-3).unwrap();
        assert!(c.ok, "rtol allows 2e-3 at 2.0");
    }

    #[test]
    fn compare_fails_on_nan_and_shape_mismatch() {
        let c = compare("x", &t(&[f32::NAN, 1.0]), &t(&[0.0, 1.0]), 1.0, 1.0).unwrap();
        assert!(!c.ok);
        assert!(c.max_abs_err.is_nan());
        let e = compare("x", &t(&[1.0, 2.0]), &t(&[1.0]), 1.0, 1.0).unwrap_err();
        assert!(
            e.message.contains("[2]") && e.message.contains("[1]"),
            "{}",
            e.message
        );
    }

    #[test]
    fn unknown_component_and_missing_files_are_errors() {
        let dir =
            std::env::temp_dir().join(format!("kinema-parity-unknown-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let err = Case::load(&dir).unwrap_err();
        assert!(err.message.contains("case.json"), "{}", err.message);

        std::fs::write(
            dir.join("case.json"),
            r#"{"component":"frobnicate","atol":1e-4,"rtol":0}"#,
        )
        .unwrap();
        let err = Case::load(&dir).unwrap_err();
        assert!(err.message.contains("io.safetensors"), "{}", err.message);

        let x = Tensor::zeros(2, DType::F32, &Device::Cpu).unwrap();
        candle_core::safetensors::save(&HashMap::from([("in.x", x)]), dir.join("io.safetensors"))
            .unwrap();
        let case = Case::load(&dir).unwrap();
        let err = run_case(&case, &Device::Cpu).unwrap_err();
        assert!(
            err.message.contains("unknown component `frobnicate`"),
            "{}",
            err.message
        );
        let err = case.expected("y").unwrap_err();
        assert!(
            err.message.contains("out.y") && err.message.contains("in.x"),
            "{}",
            err.message
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn listed_root_that_is_a_case_counts_once() {
        let dir = std::env::temp_dir().join(format!("kinema-parity-root-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("case.json"), "{}").unwrap();
        assert_eq!(cases_under(&dir).unwrap(), vec![dir.clone()]);
        std::fs::remove_file(dir.join("case.json")).unwrap();
        assert_eq!(cases_under(&dir).unwrap(), vec![dir.join("sub")]);
        assert!(cases_under(&dir.join("missing")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
