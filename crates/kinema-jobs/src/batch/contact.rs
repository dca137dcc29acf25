//! `out_dir/index.html`: every character × action with an animated preview and its files.
//!
//! One self-contained page with relative links only, so it opens from disk, offline, and
//! still works after the folder is zipped and sent to a teammate. Its small script records
//! in `body[data-previews]` how many previews loaded ("5/6"), which the browser test reads.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use kinema_core::Result;

use super::manifest::Manifest;
use super::plan::{JobWhat, PlannedJob};
use super::summary::{JobResult, JobStatus};

pub const CONTACT_SHEET: &str = "index.html";

/// Writes the page for this run and returns its path.
pub fn write_contact_sheet(
    manifest: &Manifest,
    jobs: &[PlannedJob],
    results: &[JobResult],
) -> Result<PathBuf> {
    let path = manifest.out_dir.join(CONTACT_SHEET);
    kinema_media::write_text(&path, &render(manifest, jobs, results), true)?;
    Ok(path)
}

/// The page's HTML; `jobs` and `results` are in the same order.
pub fn render(manifest: &Manifest, jobs: &[PlannedJob], results: &[JobResult]) -> String {
    let out = &manifest.out_dir;
    let mut columns: Vec<String> = Vec::new();
    for job in jobs {
        for clip in &job.clips {
            if !columns.contains(&clip.action) {
                columns.push(clip.action.clone());
            }
        }
    }
    let count = |s: JobStatus| results.iter().filter(|r| r.status == s).count();
    let title = format!(
        "Kinema batch: {}",
        manifest
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let mut h = String::with_capacity(16 * 1024);
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{t}</title>\n<style>{STYLE}</style>\n</head>\n\
         <body data-previews=\"pending\">\n<h1>{t}</h1>\n<p class=\"counts\">{} done · {} skipped · {} failed</p>\n<table>\n<thead><tr><th>character</th>",
        count(JobStatus::Done),
        count(JobStatus::Skipped),
        count(JobStatus::Failed),
        t = esc(&title),
    );
    for c in &columns {
        let _ = write!(h, "<th>{}</th>", esc(c));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for (index, ch) in manifest.characters.iter().enumerate() {
        let mine: Vec<(&PlannedJob, &JobResult)> = jobs
            .iter()
            .zip(results)
            .filter(|(j, _)| j.character == index)
            .collect();
        let _ = write!(
            h,
            "<tr><th scope=\"row\"><span class=\"name\">{}</span>",
            esc(&ch.name)
        );
        let set_sheets: Vec<&PathBuf> = mine
            .iter()
            .filter(|(j, _)| matches!(j.what, JobWhat::Actions(_)))
            .flat_map(|(_, r)| &r.sheet_files)
            .collect();
        file_list(&mut h, out, set_sheets);
        h.push_str("</th>");
        for col in &columns {
            let cell = mine.iter().find_map(|(j, r)| {
                j.clips
                    .iter()
                    .find(|c| &c.action == col)
                    .map(|c| (c, *j, *r))
            });
            match cell {
                None => h.push_str("<td class=\"none\">–</td>"),
                Some((_, _, r)) if r.status == JobStatus::Failed => {
                    let _ = write!(
                        h,
                        "<td class=\"failed\"><p class=\"status\">failed</p><p class=\"error\">{}</p></td>",
                        esc(r.error.as_deref().unwrap_or("unknown error"))
                    );
                }
                Some((clip, job, r)) => {
                    let status = if r.status == JobStatus::Done {
                        "done"
                    } else {
                        "skipped"
                    };
                    let _ = write!(h, "<td class=\"{status}\">");
                    match href(out, &clip.preview) {
                        Some(src) => {
                            let _ = write!(
                                h,
                                "<img class=\"preview\" src=\"{src}\" alt=\"{} {}\">",
                                esc(&ch.name),
                                esc(&clip.action)
                            );
                        }
                        None => h.push_str("<p class=\"error\">no preview</p>"),
                    }
                    let mut files: Vec<&PathBuf> = clip.files.iter().collect();
                    if matches!(job.what, JobWhat::Prompt { .. }) {
                        // How the prompt was read, as `generate` prints it, so a misread
                        // prompt shows beside its clip.
                        for line in &r.reading {
                            let _ = write!(h, "<p class=\"reading\">{}</p>", esc(line));
                        }
                        files.extend(&r.sheet_files);
                    }
                    file_list(&mut h, out, files);
                    let _ = write!(h, "<p class=\"status\">{status}</p></td>");
                }
            }
        }
        h.push_str("</tr>\n");
    }
    let _ = write!(
        h,
        "</tbody>\n</table>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    );
    h
}

fn file_list(h: &mut String, out: &Path, files: Vec<&PathBuf>) {
    let links: Vec<String> = files
        .iter()
        .filter_map(|p| {
            let link = href(out, p)?;
            let shown = p
                .strip_prefix(out)
                .unwrap_or(p)
                .to_string_lossy()
                .into_owned();
            let slash = if p.is_dir() { "/" } else { "" };
            Some(format!(
                "<li><a href=\"{link}{slash}\">{}{slash}</a></li>",
                esc(&shown)
            ))
        })
        .collect();
    if !links.is_empty() {
        let _ = write!(h, "<ul class=\"files\">{}</ul>", links.concat());
    }
}

/// A percent-encoded link relative to `out`, for paths inside it.
fn href(out: &Path, p: &Path) -> Option<String> {
    let rel = p.strip_prefix(out).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| {
            let s = c.as_os_str().to_string_lossy();
            s.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect()
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

const STYLE: &str = "
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2330;background:#f4f5f7}
h1{font-size:20px;margin:0 0 4px}
.counts{color:#555;margin:0 0 16px}
table{border-collapse:collapse;background:#fff}
th,td{border:1px solid #d8dbe2;padding:8px;vertical-align:top;text-align:left}
thead th{background:#e9ecf1}
th .name{font-size:16px}
td{min-width:140px;max-width:260px}
img.preview{display:block;max-width:240px;max-height:240px;image-rendering:pixelated;
 background-color:#fff;background-image:linear-gradient(45deg,#ddd 25%,transparent 25%,transparent 75%,#ddd 75%),
 linear-gradient(45deg,#ddd 25%,transparent 25%,transparent 75%,#ddd 75%);background-size:16px 16px;background-position:0 0,8px 8px}
img.preview[data-settled=error]{outline:2px solid #c0392b}
ul.files{margin:6px 0 0;padding-left:16px;font-size:12px;word-break:break-all}
.status{margin:4px 0 0;font-size:11px;text-transform:uppercase;color:#777}
.reading{margin:6px 0 0;font-size:12px;color:#2c4a7a}
td.failed{background:#fdecea}
.error{color:#a02618;white-space:pre-wrap;font-size:12px}
td.none{color:#aaa;text-align:center}
";

/// Counts previews that decoded (naturalWidth > 0) once every one has loaded or failed.
const SCRIPT: &str = "
(function(){
  var imgs=Array.prototype.slice.call(document.querySelectorAll('img.preview'));
  var total=imgs.length,settled=0,loaded=0;
  function finish(){document.body.setAttribute('data-previews',loaded+'/'+total);}
  function settle(img,ok){
    if(img.getAttribute('data-settled'))return;
    img.setAttribute('data-settled',ok?'loaded':'error');
    settled++;if(ok)loaded++;
    if(settled===total)finish();
  }
  if(total===0)finish();
  imgs.forEach(function(img){
    if(img.complete){settle(img,img.naturalWidth>0);return;}
    img.addEventListener('load',function(){settle(img,img.naturalWidth>0);});
    img.addEventListener('error',function(){settle(img,false);});
  });
})();
";

#[cfg(test)]
mod tests {
    use super::super::plan::plan;
    use super::*;

    #[test]
    fn page_links_relatively_and_escapes_text() {
        let m = Manifest::parse(
            Path::new("/p/m.toml"),
            "[[character]]\nname = \"hero\"\nimage = \"h.png\"\nformats = [\"gif\", \"mp4\"]\n\
             [[character]]\nname = \"bug\"\nimage = \"b.png\"\n\
             [[action]]\nactions = [\"idle\"]\n[[action]]\nname = \"wave\"\nprompt = \"waves\"\ncharacters = [\"hero\"]\n",
        )
        .unwrap();
        let jobs = plan(&m);
        let result = |j: &PlannedJob, status, error: Option<&str>| JobResult {
            id: j.id.clone(),
            character: String::new(),
            actions: vec![],
            status,
            error: error.map(str::to_string),
            hint: None,
            error_kind: None,
            outputs: vec![],
            sheet_files: vec![],
            reading: vec![],
            seconds: 0.0,
            provider_tasks: vec![],
        };
        let results = vec![
            result(&jobs[0], JobStatus::Done, None),
            result(&jobs[1], JobStatus::Skipped, None),
            result(
                &jobs[2],
                JobStatus::Failed,
                Some("image <bad> & \"broken\""),
            ),
        ];
        let page = render(&m, &jobs, &results);
        assert!(
            page.contains("<img class=\"preview\" src=\"hero/hero-idle.gif\""),
            "{page}"
        );
        assert!(page.contains("href=\"hero/hero-wave.mp4\""));
        assert!(page.contains("image &lt;bad&gt; &amp; &quot;broken&quot;"));
        assert!(page.contains("1 done · 1 skipped · 1 failed"));
        assert!(page.contains("<td class=\"none\">"), "bug has no wave cell");
        assert!(
            !page.contains("http:") && !page.contains("https:") && !page.contains("file:"),
            "page must stay offline"
        );
        assert_eq!(page.matches("<img ").count(), 2);
    }

    #[test]
    fn a_prompt_cell_says_how_the_prompt_was_read() {
        let m = Manifest::parse(
            Path::new("/p/m.toml"),
            "[[character]]\nname = \"hero\"\nimage = \"h.png\"\n\
             [[action]]\nactions = [\"idle\"]\n[[action]]\nname = \"fall\"\nprompt = \"gets hit <then> dies\"\n",
        )
        .unwrap();
        let jobs = plan(&m);
        let results: Vec<JobResult> = jobs
            .iter()
            .map(|j| JobResult {
                id: j.id.clone(),
                character: String::new(),
                actions: vec![],
                status: JobStatus::Done,
                error: None,
                hint: None,
                error_kind: None,
                outputs: vec![],
                sheet_files: vec![],
                reading: if matches!(j.what, JobWhat::Prompt { .. }) {
                    vec!["read as: hurt → die (12 + 12 frames)".into()]
                } else {
                    vec!["read idle as: idle".into()]
                },
                seconds: 0.0,
                provider_tasks: vec![],
            })
            .collect();
        let page = render(&m, &jobs, &results);
        assert!(
            page.contains("<p class=\"reading\">read as: hurt → die (12 + 12 frames)</p>"),
            "{page}"
        );
        assert_eq!(
            page.matches("class=\"reading\"").count(),
            1,
            "catalogue actions play their names"
        );
    }

    #[test]
    fn links_are_percent_encoded() {
        let out = Path::new("/o");
        assert_eq!(
            href(out, Path::new("/o/英雄/a b.gif")).as_deref(),
            Some("%E8%8B%B1%E9%9B%84/a%20b.gif")
        );
        assert_eq!(href(out, Path::new("/elsewhere/a.gif")), None);
    }
}
