//! Parameter counts and dtypes from safetensors headers, without reading the tensors.
//!
//! A safetensors file starts with an 8-byte little-endian header length and a JSON
//! header listing every tensor's dtype, shape and byte range; the data follows. Reading
//! only that prefix makes `info` instant on a 20 GB model.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use kinema_core::{Error, Result};
use safetensors::tensor::Metadata;
use serde::Serialize;

/// The safetensors crate's own ceiling on header size.
const MAX_HEADER: u64 = 100_000_000;

/// Totals over one or more safetensors files.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WeightSummary {
    pub tensors: u64,
    pub parameters: u64,
    /// Parameters per dtype name (`BF16`, `F32`, …).
    pub dtypes: BTreeMap<String, u64>,
}

impl WeightSummary {
    pub fn add(&mut self, other: &WeightSummary) {
        self.tensors += other.tensors;
        self.parameters += other.parameters;
        for (dtype, count) in &other.dtypes {
            *self.dtypes.entry(dtype.clone()).or_default() += count;
        }
    }
}

/// Reads one file's header and counts its parameters; checks the file is long enough
/// for the data the header announces, which catches truncated downloads.
pub fn read_header(path: &Path) -> Result<WeightSummary> {
    let damaged = |why: String| {
        Error::model(format!(
            "{} is not a usable safetensors file: {why}",
            path.display()
        ))
        .with_hint("the file may be damaged or cut off: pull the model again")
    };
    let mut file = std::fs::File::open(path)
        .map_err(|e| Error::model(format!("cannot open {}", path.display())).with_source(e))?;
    let file_len = file
        .metadata()
        .map_err(|e| Error::model(format!("cannot read {}", path.display())).with_source(e))?
        .len();
    let mut len_bytes = [0u8; 8];
    file.read_exact(&mut len_bytes)
        .map_err(|_| damaged("shorter than its 8-byte header length".into()))?;
    let header_len = u64::from_le_bytes(len_bytes);
    if header_len > MAX_HEADER || header_len + 8 > file_len {
        return Err(damaged(format!(
            "header length {header_len} does not fit the {file_len}-byte file"
        )));
    }
    let mut header = vec![0u8; header_len as usize];
    file.read_exact(&mut header)
        .map_err(|e| damaged(format!("header unreadable ({e})")))?;
    let metadata: Metadata =
        serde_json::from_slice(&header).map_err(|e| damaged(format!("bad header ({e})")))?;
    let data_end = 8 + header_len + metadata.data_len() as u64;
    if data_end > file_len {
        return Err(damaged(format!(
            "its tensors need {data_end} bytes but the file has {file_len}"
        )));
    }
    let mut summary = WeightSummary::default();
    for info in metadata.tensors().values() {
        let count: u64 = info.shape.iter().map(|&d| d as u64).product();
        summary.tensors += 1;
        summary.parameters += count;
        *summary
            .dtypes
            .entry(format!("{:?}", info.dtype))
            .or_default() += count;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use safetensors::tensor::TensorView;
    use safetensors::Dtype;

    fn write_file(path: &Path) {
        let a = vec![0u8; 6 * 4];
        let b = vec![0u8; 10 * 2];
        let tensors = vec![
            ("a", TensorView::new(Dtype::F32, vec![2, 3], &a).unwrap()),
            ("b", TensorView::new(Dtype::BF16, vec![10], &b).unwrap()),
        ];
        std::fs::write(path, safetensors::serialize(tensors, None).unwrap()).unwrap();
    }

    #[test]
    fn counts_parameters_per_dtype() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        write_file(&path);
        let s = read_header(&path).unwrap();
        assert_eq!(s.tensors, 2);
        assert_eq!(s.parameters, 16);
        assert_eq!(s.dtypes.get("F32"), Some(&6));
        assert_eq!(s.dtypes.get("BF16"), Some(&10));
    }

    #[test]
    fn truncated_and_garbage_files_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        write_file(&path);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 4]).unwrap();
        let e = read_header(&path).unwrap_err();
        assert!(e.message.contains("need"), "{e}");
        std::fs::write(&path, b"\xff\xff\xff\xff\xff\xff\xff\xffjunk").unwrap();
        assert!(read_header(&path).is_err());
        std::fs::write(&path, b"abc").unwrap();
        assert!(read_header(&path).is_err());
    }
}
