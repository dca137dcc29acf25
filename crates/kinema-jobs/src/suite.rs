//! `kinema eval --suite`: generate and measure characters × prompts × engines, then write
//! a report people can look at (index.html) and one programs can read (report.json).

use std::path::{Path, PathBuf};

use kinema_core::{Character, ClipSpec, Error, Job, Progress, Result};
use kinema_media::{EncodeOptions, InputFiles, OutputFormat, OutputTarget};
use kinema_metrics::ReportEntry;
use rayon::prelude::*;
use serde::Deserialize;

use crate::defaults;
use crate::engines::{build_engine, EngineOptions};

/// The suite file, as written by users.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteFile {
    #[serde(default = "default_engines")]
    engines: Vec<String>,
    /// Default: [`defaults::SECONDS`] worth at `fps`.
    frames: Option<u32>,
    #[serde(default = "default_fps")]
    fps: u32,
    #[serde(default = "default_seed")]
    seed: u64,
    #[serde(default, rename = "loop")]
    looping: bool,
    /// A folder of motion files (relative to the suite) the rig engine adds to its own.
    motions: Option<PathBuf>,
    prompts: Vec<String>,
    character: Vec<SuiteCharacter>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteCharacter {
    image: PathBuf,
    name: Option<String>,
    mask: Option<PathBuf>,
    /// Where the character is: `box = [x, y, width, height]` in pixels.
    #[serde(rename = "box")]
    subject_box: Option<[u32; 4]>,
}

fn default_engines() -> Vec<String> {
    vec![defaults::ENGINE.into()]
}
fn default_fps() -> u32 {
    defaults::FPS
}
fn default_seed() -> u64 {
    defaults::SEED
}

impl SuiteFile {
    fn spec(&self) -> ClipSpec {
        ClipSpec {
            frames: self.frames.unwrap_or_else(|| defaults::frames_at(self.fps)),
            fps: self.fps,
            seed: self.seed,
            looping: self.looping,
        }
    }
}

/// Where the suite writes a clip's preview, relative to the report folder.
fn preview_file(character: &str, prompt_index: usize, engine: &str) -> String {
    format!("previews/{character}-{prompt_index}-{engine}.png")
}

/// What a suite run produced.
#[derive(Debug)]
pub struct SuiteOutcome {
    pub entries: Vec<ReportEntry>,
    pub index: PathBuf,
}

fn parse_suite(path: &Path) -> Result<SuiteFile> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::invalid(
            format!("cannot read the suite file {}: {e}", path.display()),
            "check the --suite path",
        )
    })?;
    let suite: SuiteFile = toml::from_str(&text).map_err(|e| {
        // toml spans an unknown top-level key over the whole table; find the key's own line.
        let unknown = e
            .message()
            .split('`')
            .nth(1)
            .filter(|_| e.message().starts_with("unknown field"));
        let key_line = unknown.and_then(|k| {
            text.lines().position(|l| {
                l.trim_start()
                    .strip_prefix(k)
                    .is_some_and(|r| r.trim_start().starts_with('='))
            })
        });
        let line = key_line
            .map(|i| i + 1)
            .or_else(|| e.span().map(|s| text[..s.start].lines().count().max(1)));
        let at = line.map(|l| format!(":{l}")).unwrap_or_default();
        Error::invalid(
            format!("{}{at}: {}", path.display(), e.message()),
            "a suite has `prompts = [..]`, one or more [[character]] tables with `image = \"..\"`, \
             and optional engines, frames, fps, seed, loop, motions",
        )
    })?;
    if suite.prompts.is_empty() || suite.character.is_empty() {
        return Err(Error::invalid(
            format!("{} lists no prompts or no characters", path.display()),
            "add `prompts = [\"wave\"]` and at least one [[character]] with an image",
        ));
    }
    Ok(suite)
}

/// Runs the suite in `suite_path`, writing previews, plots, `report.json` and `index.html`
/// into `report_dir`. Refuses to replace an existing report unless `force`.
pub fn run_suite(
    suite_path: &Path,
    report_dir: &Path,
    force: bool,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<SuiteOutcome> {
    let suite = parse_suite(suite_path)?;
    let base = suite_path.parent().unwrap_or(Path::new("."));
    let spec = suite.spec();
    spec.validate(&defaults::limits())?;
    let index = report_dir.join("index.html");
    if index.exists() && !force {
        return Err(Error::output(format!("{} already exists", index.display()))
            .with_hint("pass --force to replace the report, or choose another --report folder"));
    }
    let motions = suite
        .motions
        .as_ref()
        .map(|dir| kinema_rig::MotionLibrary::load(&base.join(dir)))
        .transpose()?;
    let engines = suite
        .engines
        .iter()
        .map(|n| {
            // Motion files drive the rig engine; the others read prompts as free text.
            let options = EngineOptions {
                motions: motions.clone().filter(|_| n == "rig"),
                ..EngineOptions::default()
            };
            build_engine(n, &options)
        })
        .collect::<Result<Vec<_>>>()?;
    for engine in &engines {
        for prompt in &suite.prompts {
            engine.understand(prompt)?;
        }
    }
    let characters = suite
        .character
        .iter()
        .map(|c| {
            let subject_box = c
                .subject_box
                .map(kinema_media::SubjectBox::from_array)
                .transpose()?;
            let opts = defaults::load_options(c.mask.as_ref().map(|m| base.join(m)), subject_box);
            let mut ch = kinema_media::load_character(&base.join(&c.image), &opts)?;
            if let Some(name) = &c.name {
                ch.name = name.clone();
            }
            Ok(ch)
        })
        .collect::<Result<Vec<Character>>>()?;
    refuse_inputs(&suite, suite_path, report_dir, &characters, &engines)?;

    std::fs::create_dir_all(report_dir.join("previews")).map_err(|e| {
        Error::output(format!(
            "cannot create the report folder {}",
            report_dir.display()
        ))
        .with_hint("choose a writable --report folder")
        .with_source(e)
    })?;
    let mut jobs = Vec::new();
    for (ci, _) in characters.iter().enumerate() {
        for (pi, _) in suite.prompts.iter().enumerate() {
            for (ei, _) in engines.iter().enumerate() {
                jobs.push((ci, pi, ei));
            }
        }
    }
    let total = jobs.len() as u64;
    let done = std::sync::atomic::AtomicU64::new(0);
    let entries = jobs
        .par_iter()
        .map(|&(ci, pi, ei)| {
            let (character, prompt, engine) = (&characters[ci], &suite.prompts[pi], &engines[ei]);
            let job = Job {
                character,
                prompt,
                spec: &spec,
            };
            let clip = engine.generate(job, &|_| {})?.clip;
            let preview_file = preview_file(&character.name, pi, engine.name());
            let target = OutputTarget {
                path: report_dir.join(&preview_file),
                format: OutputFormat::Apng,
            };
            let opts = EncodeOptions {
                force: true,
                ..defaults::encode_options()
            };
            kinema_media::write_clip(&clip, &target, &opts)?;
            let report = kinema_metrics::evaluate(&clip, &character.image)?;
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress(Progress {
                stage: "evaluating",
                done: n,
                total,
            });
            Ok(ReportEntry {
                character: character.name.clone(),
                prompt: prompt.clone(),
                engine: engine.name().to_string(),
                preview_file,
                report,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    kinema_metrics::write_html_report(report_dir, &entries)?;
    Ok(SuiteOutcome { entries, index })
}

/// The report replaces its own files (previews, index.html, report.json) on every run;
/// none of them may be the suite file or one of its images, even with `--force`.
fn refuse_inputs(
    suite: &SuiteFile,
    suite_path: &Path,
    report_dir: &Path,
    characters: &[Character],
    engines: &[Box<dyn kinema_core::Engine>],
) -> Result<()> {
    let base = suite_path.parent().unwrap_or(Path::new("."));
    let mut inputs = InputFiles::new().with("the suite file", suite_path);
    for c in &suite.character {
        inputs.add("a suite image", &base.join(&c.image));
        if let Some(mask) = &c.mask {
            inputs.add("a suite mask", &base.join(mask));
        }
    }
    for name in ["index.html", "report.json"] {
        inputs.check_file(&report_dir.join(name))?;
    }
    for character in characters {
        for pi in 0..suite.prompts.len() {
            for engine in engines {
                inputs.check_file(&report_dir.join(preview_file(
                    &character.name,
                    pi,
                    engine.name(),
                )))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn malformed_suites_name_the_line_and_problem() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let p = write(
            &dir,
            "s.toml",
            "prompts = [\"wave\"]\nfsp = 3\n[[character]]\nimage = \"a.png\"\n",
        );
        let e = parse_suite(&p).unwrap_err().to_string();
        assert!(e.contains("s.toml:2") && e.contains("fsp"), "{e}");
        let p = write(
            &dir,
            "t.toml",
            "prompts = []\n[[character]]\nimage = \"a.png\"\n",
        );
        assert!(parse_suite(&p)
            .unwrap_err()
            .to_string()
            .contains("no prompts"));
    }

    #[test]
    fn a_suites_motion_folder_drives_the_rig_engine() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let suite = format!(
            "frames = 4\nfps = 8\nmotions = {:?}\nprompts = [\"prowl\"]\n[[character]]\nimage = {:?}\n",
            repo.join("samples/motions").display().to_string(),
            repo.join("samples/characters/slimeBlue.png").display().to_string(),
        );
        let p = write(tmp.path(), "suite.toml", &suite);
        let outcome = run_suite(&p, &tmp.path().join("report"), false, &|_| {}).unwrap();
        assert_eq!(outcome.entries[0].prompt, "prowl");
        let without = write(tmp.path(), "plain.toml", &suite.replace("motions = ", "# "));
        let e = run_suite(&without, &tmp.path().join("r2"), false, &|_| {}).unwrap_err();
        assert!(e.message.contains("`prowl`"), "{e}");
    }

    #[test]
    fn a_suite_that_says_nothing_uses_the_shared_defaults() {
        let tmp = tempfile::tempdir().unwrap();
        let p = write(
            tmp.path(),
            "s.toml",
            "prompts = [\"wave\"]\n[[character]]\nimage = \"a.png\"\n",
        );
        let suite = parse_suite(&p).unwrap();
        assert_eq!(suite.spec(), defaults::clip_spec());
        assert_eq!(suite.engines, vec![defaults::ENGINE.to_string()]);
        let p = write(
            tmp.path(),
            "t.toml",
            "fps = 8\nprompts = [\"wave\"]\n[[character]]\nimage = \"a.png\"\n",
        );
        assert_eq!(
            parse_suite(&p).unwrap().spec().frames,
            defaults::frames_at(8)
        );
    }

    #[test]
    fn a_report_folder_holding_an_input_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/characters");
        let report = tmp.path().join("report");
        std::fs::create_dir_all(report.join("previews")).unwrap();
        // The character's image sits exactly where its first preview would be written.
        let image = report.join("previews/slime-0-rig.png");
        std::fs::copy(samples.join("slimeBlue.png"), &image).unwrap();
        let before = std::fs::read(&image).unwrap();
        let p = write(
            tmp.path(),
            "suite.toml",
            "frames = 4\nprompts = [\"wave\"]\n[[character]]\nname = \"slime\"\nimage = \"report/previews/slime-0-rig.png\"\n",
        );
        let e = run_suite(&p, &report, true, &|_| {})
            .unwrap_err()
            .to_string();
        assert!(e.contains("a suite image") && e.contains("--force"), "{e}");
        assert_eq!(std::fs::read(&image).unwrap(), before);
    }

    #[test]
    fn a_suite_writes_an_offline_report_with_every_clip() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/characters");
        let suite = format!(
            "frames = 8\nfps = 8\nprompts = [\"wave\", \"jump\"]\n[[character]]\nimage = \"{}\"\n[[character]]\nimage = \"{}\"\n",
            samples.join("femaleAdventurer_idle.png").display(),
            samples.join("slimeBlue.png").display()
        );
        let p = write(&dir, "suite.toml", &suite);
        let out = dir.join("report");
        let outcome = run_suite(&p, &out, false, &|_| {}).unwrap();
        assert_eq!(outcome.entries.len(), 4);
        let html = std::fs::read_to_string(&outcome.index).unwrap();
        for e in &outcome.entries {
            assert!(out.join(&e.preview_file).is_file());
            assert!(html.contains(&e.preview_file));
            assert!(
                e.report.ssim > 0.95,
                "{}: ssim {}",
                e.character,
                e.report.ssim
            );
        }
        assert!(out.join("report.json").is_file());
        // A second run without --force refuses to replace the report.
        assert!(run_suite(&p, &out, false, &|_| {}).is_err());
    }
}
