//! A self-contained HTML page comparing engines clip by clip (`kinema eval --suite`).
//!
//! Everything the page shows lives in its folder (previews, SVG plots) and is referenced
//! by relative path, so the folder can be zipped, mailed or opened offline.

use std::fmt::Write as _;
use std::path::{Component, Path};

use kinema_core::{Error, Result};
use plotters::style::{RGBColor, BLUE, RED};
use serde::{Deserialize, Serialize};

use crate::plot::{line_plot, Line};
use crate::report::Report;

/// One evaluated clip: which character, prompt and engine made it, and its metrics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportEntry {
    pub character: String,
    pub prompt: String,
    pub engine: String,
    /// Animated GIF/APNG of the clip, relative to the report folder, already written there.
    pub preview_file: String,
    pub report: Report,
}

const PLOT_DIR: &str = "plots";
const GREEN: RGBColor = RGBColor(20, 140, 60);

/// Writes `index.html`, `report.json` and `plots/*.svg` into `dir` (created if missing).
///
/// Fails, before writing anything, when a preview file is missing or points outside `dir`.
pub fn write_html_report(dir: &Path, entries: &[ReportEntry]) -> Result<()> {
    for e in entries {
        check_preview(dir, &e.preview_file)?;
    }
    let plots = dir.join(PLOT_DIR);
    std::fs::create_dir_all(&plots).map_err(|e| {
        Error::output(format!(
            "cannot create the report folder {}",
            plots.display()
        ))
        .with_hint("choose a writable --out folder")
        .with_source(e)
    })?;
    let mut groups: Vec<((&str, &str), Vec<usize>)> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let key = (e.character.as_str(), e.prompt.as_str());
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(i),
            None => groups.push((key, vec![i])),
        }
    }
    let mut body = String::new();
    for ((character, prompt), members) in &groups {
        let _ = write!(
            body,
            "<section><h2>{} &mdash; &ldquo;{}&rdquo;</h2><div class=\"row\">",
            esc(character),
            esc(prompt)
        );
        for &i in members {
            let (identity_svg, motion_svg) = write_plots(dir, i, &entries[i].report)?;
            body.push_str(&card(&entries[i], &identity_svg, &motion_svg));
        }
        body.push_str("</div></section>\n");
    }
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Kinema evaluation</title>\n<style>{STYLE}</style></head>\n<body data-images=\"pending\"><h1>Kinema evaluation</h1><p>{} clips. Metrics are defined in docs/METRICS.md; raw numbers in <a href=\"report.json\">report.json</a>.</p>\n{body}<script>{SCRIPT}</script></body></html>\n",
        entries.len()
    );
    write(dir, "index.html", html.as_bytes())?;
    let json = serde_json::to_vec_pretty(entries)
        .map_err(|e| Error::internal("could not serialise the report").with_source(e))?;
    write(dir, "report.json", &json)
}

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;background:#f4f4f6;color:#222}\
section{margin-bottom:2em}.row{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}\
.card{background:#fff;border:1px solid #ccc;border-radius:6px;padding:.8em;max-width:460px}\
.card h3{margin:.2em 0 .5em}.preview{image-rendering:pixelated;max-width:100%;background:\
repeating-conic-gradient(#ddd 0 25%,#fff 0 50%) 0 0/16px 16px;min-height:64px}\
table{border-collapse:collapse;font-size:12px;margin:.5em 0}td{border-top:1px solid #eee;padding:2px 6px;vertical-align:top}\
td.v{font-family:monospace;white-space:nowrap}td.m{color:#666}img.plot{display:block;max-width:100%}";

/// Records in `body[data-images]` how many previews and plots decoded ("12/12"), so a
/// headless browser test (and a curious reader) can tell a broken report from a good one.
const SCRIPT: &str = "(function(){\
var imgs=Array.prototype.slice.call(document.querySelectorAll('img'));\
var total=imgs.length,settled=0,loaded=0;\
function finish(){document.body.setAttribute('data-images',loaded+'/'+total);}\
function settle(img,ok){if(img.getAttribute('data-settled'))return;\
img.setAttribute('data-settled',ok?'loaded':'error');settled++;if(ok)loaded++;if(settled===total)finish();}\
if(total===0)finish();\
imgs.forEach(function(img){if(img.complete){settle(img,img.naturalWidth>0);return;}\
img.addEventListener('load',function(){settle(img,img.naturalWidth>0);});\
img.addEventListener('error',function(){settle(img,false);});});})();";

fn card(entry: &ReportEntry, identity_svg: &str, motion_svg: &str) -> String {
    let mut rows = String::new();
    for [name, value, meaning] in entry.report.rows() {
        let _ = write!(
            rows,
            "<tr><td>{}</td><td class=\"v\">{}</td><td class=\"m\">{}</td></tr>",
            esc(&name),
            esc(&value),
            esc(&meaning)
        );
    }
    format!(
        "<div class=\"card\"><h3>{}</h3><img class=\"preview\" src=\"{}\" alt=\"{} preview\"><table>{rows}</table>\
<img class=\"plot\" src=\"{}\" alt=\"identity per frame\"><img class=\"plot\" src=\"{}\" alt=\"motion per frame pair\"></div>",
        esc(&entry.engine),
        esc(&url_path(&entry.preview_file)),
        esc(&entry.engine),
        esc(identity_svg),
        esc(motion_svg)
    )
}

/// Writes the two plots of entry `index`; returns their paths relative to `dir`.
fn write_plots(dir: &Path, index: usize, report: &Report) -> Result<(String, String)> {
    let s = &report.series;
    let identity = line_plot(
        "colour identity",
        "frame",
        &[
            Line {
                label: "vs reference",
                values: &s.identity,
                colour: BLUE,
            },
            Line {
                label: "vs previous frame",
                values: &s.consecutive_identity,
                colour: GREEN,
            },
        ],
        Some((0.0, 1.0)),
    )?;
    let motion = line_plot(
        "motion (px per frame)",
        "frame pair",
        &[
            Line {
                label: "mean flow",
                values: &s.flow_mean_px,
                colour: BLUE,
            },
            Line {
                label: "top 5% flow",
                values: &s.flow_top5_px,
                colour: RED,
            },
        ],
        None,
    )?;
    let identity_path = format!("{PLOT_DIR}/clip-{index:03}-identity.svg");
    let motion_path = format!("{PLOT_DIR}/clip-{index:03}-motion.svg");
    write(dir, &identity_path, identity.as_bytes())?;
    write(dir, &motion_path, motion.as_bytes())?;
    Ok((identity_path, motion_path))
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).map_err(|e| {
        Error::output(format!("cannot write {}", path.display()))
            .with_hint("check that the report folder is writable and the disk is not full")
            .with_source(e)
    })
}

/// A preview must be a relative path inside `dir` that exists, or the page would show a hole.
fn check_preview(dir: &Path, preview: &str) -> Result<()> {
    let rel = Path::new(preview);
    let inside = !preview.is_empty()
        && rel
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !inside {
        return Err(Error::invalid(
            format!("preview `{preview}` is not a path inside the report folder"),
            "give the preview as a relative path such as `previews/knight-rig.gif`, written into the report folder first",
        ));
    }
    if !dir.join(rel).is_file() {
        return Err(Error::invalid(
            format!("preview `{preview}` does not exist in {}", dir.display()),
            "write each clip's animated preview into the report folder before writing the report",
        ));
    }
    Ok(())
}

/// Percent-encodes what would break a relative URL; keeps `/` as the separator.
fn url_path(path: &str) -> String {
    let mut out = String::new();
    for part in path
        .split(['/', '\\'])
        .filter(|p| !p.is_empty() && *p != ".")
    {
        if !out.is_empty() {
            out.push('/');
        }
        for b in part.bytes() {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                out.push(b as char);
            } else {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// Escapes text for HTML element content and double-quoted attributes.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_encodes_urls() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(
            url_path("previews/挥手 1.gif"),
            "previews/%E6%8C%A5%E6%89%8B%201.gif"
        );
    }

    #[test]
    fn refuses_previews_outside_the_folder() {
        let dir = std::env::temp_dir();
        for bad in ["../x.gif", "/etc/passwd", ""] {
            let e = check_preview(&dir, bad).unwrap_err();
            assert!(e.hint.is_some(), "{bad}: {e}");
        }
    }
}
