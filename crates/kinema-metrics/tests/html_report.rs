//! The HTML report: self-contained, every referenced file exists, JSON round-trips.

mod common;

use std::path::{Path, PathBuf};

use common::translating;
use kinema_metrics::{evaluate, write_html_report, ReportEntry};

/// A fresh, empty folder under the system temp dir for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kinema-metrics-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The smallest valid GIF: one transparent pixel.
const TINY_GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";

/// Values of `attr="..."` in `html`.
fn attribute_values(html: &str, attr: &str) -> Vec<String> {
    let needle = format!("{attr}=\"");
    html.match_indices(&needle)
        .filter_map(|(i, _)| {
            let rest = &html[i + needle.len()..];
            rest.find('"').map(|end| rest[..end].to_string())
        })
        .collect()
}

fn entries(dir: &Path) -> Vec<ReportEntry> {
    std::fs::create_dir_all(dir.join("previews")).unwrap();
    let mut out = Vec::new();
    for (engine, k) in [("rig", 1), ("dit", 3)] {
        for (prompt, frames) in [("wave", 6), ("挥手 <fast> & \"big\"", 5)] {
            let (clip, reference) = translating(k, frames);
            let preview = format!("previews/{engine}-{frames}.gif");
            std::fs::write(dir.join(&preview), TINY_GIF).unwrap();
            out.push(ReportEntry {
                character: "knight".into(),
                prompt: prompt.into(),
                engine: engine.into(),
                preview_file: preview,
                report: evaluate(&clip, &reference).unwrap(),
            });
        }
    }
    out
}

#[test]
fn html_references_only_files_that_exist_and_nothing_online() {
    let dir = scratch("html");
    let entries = entries(&dir);
    write_html_report(&dir, &entries).unwrap();
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    let mut refs = attribute_values(&html, "src");
    refs.extend(attribute_values(&html, "href"));
    // 4 previews + 8 plots + the JSON link.
    assert_eq!(refs.len(), 13, "{refs:?}");
    for r in &refs {
        assert!(
            !r.contains("://") && !r.starts_with('/'),
            "non-local reference {r}"
        );
        assert!(dir.join(r).is_file(), "{r} referenced but missing");
    }
    for svg in refs.iter().filter(|r| r.ends_with(".svg")) {
        let text = std::fs::read_to_string(dir.join(svg)).unwrap();
        assert!(
            text.contains("<svg") && !text.contains("href"),
            "{svg} is not a standalone SVG"
        );
    }
    // Engines side by side: one section per character x prompt, two cards in each.
    assert_eq!(html.matches("<section>").count(), 2);
    assert_eq!(html.matches("class=\"card\"").count(), 4);
    assert!(
        html.contains("&lt;fast&gt; &amp; &quot;big&quot;"),
        "prompt not escaped"
    );
    let back: Vec<ReportEntry> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(back.len(), 4);
    assert_eq!(back[3].prompt, entries[3].prompt);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_preview_is_refused_before_anything_is_written() {
    let dir = scratch("missing");
    let mut entries = entries(&dir);
    entries[1].preview_file = "previews/nowhere.gif".into();
    let e = write_html_report(&dir, &entries).unwrap_err();
    assert!(
        e.to_string().contains("nowhere.gif") && e.hint.is_some(),
        "{e}"
    );
    assert!(!dir.join("index.html").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
