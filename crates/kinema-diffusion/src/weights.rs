//! Loading diffusers-layout model folders: `config.json` plus `diffusion_pytorch_model.safetensors`
//! or its shards (`diffusion_pytorch_model.safetensors.index.json`).
//!
//! Weights are memory-mapped and converted to the requested dtype as each tensor is read.
//! Every file's safetensors header is validated here first (sizes, offsets, dtypes, byte
//! counts) so that a truncated download or a corrupt file is a clear error naming the file,
//! never a panic deep inside a parser. Lookups go through [`get`], which names the missing key
//! or the expected and actual shapes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use kinema_core::{Error, Result};
use serde::de::DeserializeOwned;

/// The single-file weights name diffusers writes.
pub const WEIGHTS_FILE: &str = "diffusion_pytorch_model.safetensors";
/// The shard index name diffusers writes for large models.
pub const INDEX_FILE: &str = "diffusion_pytorch_model.safetensors.index.json";
/// Headers beyond this are refused: real ones are a few hundred KiB.
const MAX_HEADER_BYTES: u64 = 100 << 20;

/// Reads `<dir>/config.json` into `T`, naming the file on any failure.
pub fn read_config<T: DeserializeOwned>(dir: &Path) -> Result<T> {
    let path = dir.join("config.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::model(format!("cannot read model config {}", path.display()))
            .with_source(e)
            .with_hint("point at a diffusers model folder (the one holding config.json)")
    })?;
    serde_json::from_str(&text)
        .map_err(|e| Error::model(format!("model config {} is not valid: {e}", path.display())))
}

/// The safetensors files of a model folder: the single file, or every shard the index names.
pub fn weight_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let single = dir.join(WEIGHTS_FILE);
    if single.is_file() {
        return Ok(vec![single]);
    }
    let index = dir.join(INDEX_FILE);
    if !index.is_file() {
        return Err(Error::model(format!(
            "no weights in {}: expected {WEIGHTS_FILE} or {INDEX_FILE}",
            dir.display()
        ))
        .with_hint("download the model folder completely (diffusers layout)"));
    }
    let text = std::fs::read_to_string(&index)
        .map_err(|e| Error::model(format!("cannot read {}", index.display())).with_source(e))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::model(format!("{} is not valid JSON: {e}", index.display())))?;
    let map = json
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or_else(|| Error::model(format!("{} has no \"weight_map\" object", index.display())))?;
    let mut names = BTreeSet::new();
    for (key, file) in map {
        let file = file.as_str().ok_or_else(|| {
            Error::model(format!(
                "{}: weight_map[{key:?}] is not a file name",
                index.display()
            ))
        })?;
        if file.contains('/') || file.contains('\\') || file == ".." {
            return Err(Error::model(format!(
                "{}: weight_map[{key:?}] = {file:?} points outside the model folder",
                index.display()
            )));
        }
        names.insert(file.to_string());
    }
    if names.is_empty() {
        return Err(Error::model(format!(
            "{}: weight_map is empty",
            index.display()
        )));
    }
    let mut files = Vec::new();
    for name in names {
        let path = dir.join(&name);
        if !path.is_file() {
            return Err(Error::model(format!(
                "shard {} listed in {} is missing",
                path.display(),
                index.display()
            ))
            .with_hint("re-download the missing shard"));
        }
        files.push(path);
    }
    Ok(files)
}

/// Bytes per element of a safetensors dtype name, or None for one we cannot load.
fn dtype_size(name: &str) -> Option<u64> {
    Some(match name {
        "BOOL" | "U8" | "I8" | "F8_E4M3" | "F8_E5M2" => 1,
        "U16" | "I16" | "F16" | "BF16" => 2,
        "U32" | "I32" | "F32" => 4,
        "U64" | "I64" | "F64" => 8,
        _ => return None,
    })
}

/// One tensor's entry in a validated header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorEntry {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<usize>,
}

/// Checks a safetensors file's structure without trusting it: the header length against the
/// file size, the header JSON, each tensor's dtype, shape, byte count and offsets (inside the
/// data, not overlapping, covering it exactly as the format requires).
pub fn validate_safetensors(path: &Path) -> Result<Vec<TensorEntry>> {
    use std::io::Read;
    let bad = |what: String| {
        Error::model(format!(
            "{} is not a valid safetensors file: {what}",
            path.display()
        ))
        .with_hint("the file may be truncated or corrupt; download it again")
    };
    let mut file = std::fs::File::open(path)
        .map_err(|e| Error::model(format!("cannot open {}", path.display())).with_source(e))?;
    let file_len = file
        .metadata()
        .map_err(|e| Error::model(format!("cannot stat {}", path.display())).with_source(e))?
        .len();
    let mut len_bytes = [0u8; 8];
    file.read_exact(&mut len_bytes).map_err(|_| {
        bad(format!(
            "{file_len} bytes is too short for the 8-byte header length"
        ))
    })?;
    let header_len = u64::from_le_bytes(len_bytes);
    if header_len > MAX_HEADER_BYTES || header_len > file_len - 8 {
        return Err(bad(format!(
            "header length {header_len} does not fit the file ({file_len} bytes)"
        )));
    }
    let mut header = vec![0u8; header_len as usize];
    file.read_exact(&mut header)
        .map_err(|e| bad(format!("cannot read the header: {e}")))?;
    let json: serde_json::Value = serde_json::from_slice(&header)
        .map_err(|e| bad(format!("header is not valid JSON: {e}")))?;
    let obj = json
        .as_object()
        .ok_or_else(|| bad("header is not a JSON object".into()))?;
    let data_len = file_len - 8 - header_len;
    let mut spans = Vec::new();
    let mut entries = Vec::new();
    for (name, info) in obj {
        if name == "__metadata__" {
            continue;
        }
        let dtype = info
            .get("dtype")
            .and_then(|d| d.as_str())
            .ok_or_else(|| bad(format!("tensor {name:?} has no dtype")))?;
        let size = dtype_size(dtype)
            .ok_or_else(|| bad(format!("tensor {name:?} has unknown dtype {dtype:?}")))?;
        let shape = info
            .get("shape")
            .and_then(|s| s.as_array())
            .ok_or_else(|| bad(format!("tensor {name:?} has no shape")))?
            .iter()
            .map(|d| d.as_u64())
            .collect::<Option<Vec<u64>>>()
            .ok_or_else(|| bad(format!("tensor {name:?} has a non-integer dimension")))?;
        let offsets = info
            .get("data_offsets")
            .and_then(|s| s.as_array())
            .filter(|a| a.len() == 2)
            .and_then(|a| Some((a[0].as_u64()?, a[1].as_u64()?)))
            .ok_or_else(|| bad(format!("tensor {name:?} has no [begin, end] data_offsets")))?;
        let bytes = shape
            .iter()
            .try_fold(size, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| bad(format!("tensor {name:?} shape {shape:?} overflows")))?;
        let (begin, end) = offsets;
        if begin > end || end > data_len {
            return Err(bad(format!(
                "tensor {name:?} data_offsets [{begin}, {end}] fall outside the {data_len} data bytes"
            )));
        }
        if end - begin != bytes {
            return Err(bad(format!(
                "tensor {name:?} is {dtype} {shape:?} = {bytes} bytes but its offsets span {}",
                end - begin
            )));
        }
        spans.push((begin, end, name.clone()));
        let shape = shape
            .iter()
            .map(|&d| usize::try_from(d))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| bad(format!("tensor {name:?} dimension too large")))?;
        entries.push(TensorEntry {
            name: name.clone(),
            dtype: dtype.to_string(),
            shape,
        });
    }
    spans.sort();
    let mut cursor = 0;
    for (begin, end, name) in &spans {
        if *begin != cursor {
            return Err(bad(format!(
                "tensor {name:?} starts at byte {begin}, expected {cursor} (gap or overlap)"
            )));
        }
        cursor = *end;
    }
    if cursor != data_len {
        return Err(bad(format!(
            "tensor data covers {cursor} bytes but the file holds {data_len}"
        )));
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

/// Validates and memory-maps the weights of `dir`, converting each tensor to `dtype` as it is
/// read. The files must not change while the returned builder is alive (they are mapped).
pub fn load_var_builder(dir: &Path, dtype: DType, device: &Device) -> Result<VarBuilder<'static>> {
    let files = weight_files(dir)?;
    for f in &files {
        validate_safetensors(f)?;
    }
    // SAFETY: mmap requires the files stay unmodified while mapped; documented above. Each
    // header was validated, so candle's parser sees only well-formed files.
    unsafe { VarBuilder::from_mmaped_safetensors(&files, dtype, device) }.map_err(|e| {
        Error::model(format!("cannot map the weights in {}", dir.display())).with_source(e)
    })
}

/// `nn.Linear(input, output)` with bias, at `vb`, shape-checked.
pub fn linear(vb: &VarBuilder, input: usize, output: usize) -> Result<crate::nn::Linear> {
    Ok(crate::nn::Linear::new(
        get(vb, &[output, input], "weight")?,
        Some(get(vb, &[output], "bias")?),
    ))
}

/// `nn.Linear(input, output, bias=False)` at `vb`, shape-checked.
pub fn linear_no_bias(vb: &VarBuilder, input: usize, output: usize) -> Result<crate::nn::Linear> {
    Ok(crate::nn::Linear::new(
        get(vb, &[output, input], "weight")?,
        None,
    ))
}

/// Fetches `name` under `vb` with an exact `shape`, naming the full key on failure.
pub fn get(vb: &VarBuilder, shape: &[usize], name: &str) -> Result<Tensor> {
    let key = if vb.prefix().is_empty() {
        name.to_string()
    } else {
        format!("{}.{name}", vb.prefix())
    };
    vb.get(shape, name).map_err(|e| {
        let msg = e.to_string();
        if !vb.contains_tensor(name) {
            Error::model(format!("weights have no tensor `{key}` (expected shape {shape:?})")).with_hint(
                "the checkpoint does not match the model config; check config.json and the weights come from the same model",
            )
        } else if msg.contains("shape mismatch") {
            Error::model(format!("tensor `{key}` has the wrong shape: expected {shape:?} ({msg})"))
                .with_hint("the checkpoint does not match the model config")
        } else {
            Error::model(format!("cannot load tensor `{key}`")).with_source(e)
        }
    })
}

/// Deterministic stand-in weights, for benchmarks and tests of architectures whose real
/// checkpoints are gigabytes: every tensor is uniform in ±`1/sqrt(fan_in)` (fan-in = all dims
/// after the first), seeded by its key, except norm `gamma`s, which are near 1 as trained
/// ones are. The same key always gives the same values.
pub struct RandomWeights {
    pub seed: u64,
}

impl RandomWeights {
    /// A builder that invents every tensor it is asked for.
    pub fn var_builder(seed: u64, dtype: DType, device: &Device) -> VarBuilder<'static> {
        VarBuilder::from_backend(Box::new(RandomWeights { seed }), dtype, device.clone())
    }
}

impl candle_nn::var_builder::SimpleBackend for RandomWeights {
    fn get(
        &self,
        s: candle_core::Shape,
        name: &str,
        _: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        let mut state = name
            .bytes()
            .fold(self.seed ^ 0xcbf2_9ce4_8422_2325, |h, b| {
                (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
            });
        let dims = s.dims();
        let fan_in: usize = dims.iter().skip(1).product::<usize>().max(1);
        let (center, spread) = if name.ends_with("gamma") {
            (1.0, 0.1)
        } else {
            (0.0, 1.0 / (fan_in as f64).sqrt())
        };
        let values: Vec<f32> = (0..s.elem_count())
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let u = (state >> 40) as f64 / (1u64 << 24) as f64;
                (center + spread * (2.0 * u - 1.0)) as f32
            })
            .collect();
        Tensor::from_vec(values, s, &Device::Cpu)?
            .to_dtype(dtype)?
            .to_device(dev)
    }

    fn get_unchecked(&self, name: &str, _: DType, _: &Device) -> candle_core::Result<Tensor> {
        candle_core::bail!("random weights need a shape for {name}")
    }

    fn contains_tensor(&self, _: &str) -> bool {
        true
    }
}

#[cfg(test)]
#[path = "weights_tests.rs"]
mod tests;
