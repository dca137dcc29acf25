//! From a manifest to jobs: which requests to run and exactly which files each writes.
//!
//! A character's catalogue actions form ONE job (one request in action-set mode), so they
//! share a canvas and ground line and fill one sprite sheet; each prompt is its own job.
//! File names are fixed here, before anything runs, so resume checks and the contact
//! sheet agree with what the request writes.

use std::path::{Path, PathBuf};

use kinema_core::ClipSpec;

use super::manifest::{ActionKind, CharacterEntry, Format, Manifest, Settings};

/// Folder (inside `out_dir`) for previews of jobs whose formats a browser cannot animate.
pub const PREVIEW_DIR: &str = ".previews";

/// What one job renders.
#[derive(Clone, Debug, PartialEq)]
pub enum JobWhat {
    /// Catalogue actions, one canvas.
    Actions(Vec<String>),
    /// Free text; the clip is named by the action entry.
    Prompt { name: String, text: String },
}

/// One clip a job produces and the files it lands in.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedClip {
    pub action: String,
    /// One per format, in the manifest's order (a folder for `frames`).
    pub files: Vec<PathBuf>,
    /// An animated image a browser can show: one of `files`, or a file under `.previews/`.
    pub preview: PathBuf,
}

/// One request of the batch.
#[derive(Clone, Debug)]
pub struct PlannedJob {
    /// Stable across runs (`hero/*` for the action set, `hero/wave` for a prompt): the key
    /// of the state file, so changing the action list still finds the old outputs.
    pub id: String,
    /// Index into `Manifest::characters`.
    pub character: usize,
    pub what: JobWhat,
    pub spec: ClipSpec,
    pub settings: Settings,
    /// Output bases handed to the request (expanded per action in action-set mode).
    pub outs: Vec<PathBuf>,
    pub sheet: Option<PathBuf>,
    pub clips: Vec<PlannedClip>,
}

impl PlannedJob {
    /// `hero: idle, walk` — for logs and progress lines.
    pub fn label(&self, manifest: &Manifest) -> String {
        let name = manifest
            .characters
            .get(self.character)
            .map_or("?", |c| c.name.as_str());
        let actions: Vec<&str> = self.clips.iter().map(|c| c.action.as_str()).collect();
        format!("{name}: {}", actions.join(", "))
    }

    /// Rough amount of work, to start the longest jobs first and keep every core busy.
    pub fn cost(&self) -> u64 {
        self.clips.len() as u64 * self.spec.frames as u64
    }
}

/// Every job of the manifest, characters in order, the action set before prompts.
pub fn plan(manifest: &Manifest) -> Vec<PlannedJob> {
    let mut jobs = Vec::new();
    for (index, ch) in manifest.characters.iter().enumerate() {
        let applies =
            |only: &Option<Vec<String>>| only.as_ref().is_none_or(|o| o.contains(&ch.name));
        let catalog: Vec<String> = manifest
            .actions
            .iter()
            .filter(|a| applies(&a.only))
            .filter_map(|a| match &a.kind {
                ActionKind::Catalog(list) => Some(list.clone()),
                ActionKind::Prompt { .. } => None,
            })
            .flatten()
            .collect();
        if !catalog.is_empty() {
            jobs.push(action_set_job(&manifest.out_dir, index, ch, catalog));
        }
        for a in manifest.actions.iter().filter(|a| applies(&a.only)) {
            if let ActionKind::Prompt { name, text } = &a.kind {
                let mut settings = ch.settings.clone();
                let o = &a.overrides;
                settings.fps = o.fps.unwrap_or(settings.fps);
                settings.length = o.length.unwrap_or(settings.length);
                settings.seed = o.seed.unwrap_or(settings.seed);
                settings.looping = o.looping.unwrap_or(settings.looping);
                jobs.push(prompt_job(
                    &manifest.out_dir,
                    index,
                    ch,
                    name,
                    text,
                    settings,
                ));
            }
        }
    }
    jobs
}

fn spec_of(s: &Settings) -> ClipSpec {
    ClipSpec {
        frames: s.length.frames_at(s.fps),
        fps: s.fps,
        seed: s.seed,
        looping: s.looping,
    }
}

fn action_set_job(
    out_dir: &Path,
    index: usize,
    ch: &CharacterEntry,
    actions: Vec<String>,
) -> PlannedJob {
    let dir = out_dir.join(&ch.name);
    let s = &ch.settings;
    let preview_base = out_dir
        .join(PREVIEW_DIR)
        .join(&ch.name)
        .join(format!("{}.png", ch.name));
    let mut outs: Vec<PathBuf> = s
        .formats
        .iter()
        .map(|f| set_base(&dir, &ch.name, *f))
        .collect();
    let needs_preview = !s.formats.iter().any(|f| f.is_animated_image());
    if needs_preview {
        outs.push(preview_base.clone());
    }
    let clips = actions
        .iter()
        .map(|action| {
            let files: Vec<PathBuf> = s
                .formats
                .iter()
                .map(|f| expand(&set_base(&dir, &ch.name, *f), *f, action))
                .collect();
            let preview = match preview_index(&s.formats) {
                Some(i) => files[i].clone(),
                None => expand(&preview_base, Format::Apng, action),
            };
            PlannedClip {
                action: action.clone(),
                files,
                preview,
            }
        })
        .collect();
    PlannedJob {
        id: format!("{}/*", ch.name),
        character: index,
        what: JobWhat::Actions(actions),
        spec: spec_of(s),
        settings: s.clone(),
        outs,
        sheet: s.sheet.then(|| dir.join(format!("{}-sheet.png", ch.name))),
        clips,
    }
}

fn prompt_job(
    out_dir: &Path,
    index: usize,
    ch: &CharacterEntry,
    name: &str,
    text: &str,
    s: Settings,
) -> PlannedJob {
    let dir = out_dir.join(&ch.name);
    let stem = format!("{}-{name}", ch.name);
    let files: Vec<PathBuf> = s
        .formats
        .iter()
        .map(|f| match f.extension() {
            Some(ext) => dir.join(format!("{stem}.{ext}")),
            // A trailing `/` is what tells the encoder to write a folder of frames.
            None => dir.join("frames").join(format!("{name}/")),
        })
        .collect();
    let mut outs = files.clone();
    let preview = match preview_index(&s.formats) {
        Some(i) => files[i].clone(),
        None => {
            let p = out_dir
                .join(PREVIEW_DIR)
                .join(&ch.name)
                .join(format!("{stem}.png"));
            outs.push(p.clone());
            p
        }
    };
    PlannedJob {
        id: format!("{}/{name}", ch.name),
        character: index,
        what: JobWhat::Prompt {
            name: name.to_string(),
            text: text.to_string(),
        },
        spec: spec_of(&s),
        sheet: s.sheet.then(|| dir.join(format!("{stem}-sheet.png"))),
        settings: s,
        outs,
        clips: vec![PlannedClip {
            action: name.to_string(),
            files,
            preview,
        }],
    }
}

/// Which format's file previews the clip: APNG (full alpha and colour) over WebP over GIF.
fn preview_index(formats: &[Format]) -> Option<usize> {
    [Format::Apng, Format::Webp, Format::Gif]
        .iter()
        .find_map(|want| formats.iter().position(|f| f == want))
}

/// The base path an action-set request expands per action; frames bases end in `/` so the
/// encoder treats them as folders.
fn set_base(dir: &Path, character: &str, f: Format) -> PathBuf {
    match f.extension() {
        Some(ext) => dir.join(format!("{character}.{ext}")),
        None => dir.join("frames/"),
    }
}

/// Mirrors the request's per-action naming: `hero.gif` → `hero-walk.gif`, `frames/` → `frames/walk`.
fn expand(base: &Path, f: Format, action: &str) -> PathBuf {
    match f.extension() {
        None => base.join(action),
        Some(_) => {
            let stem = base
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let ext = base
                .extension()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            base.with_file_name(format!("{stem}-{action}.{ext}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(text: &str) -> Manifest {
        Manifest::parse(Path::new("/p/m.toml"), text).unwrap()
    }

    #[test]
    fn catalogue_actions_share_one_job_and_prompts_get_their_own() {
        let m = manifest(
            "[defaults]\nformats = [\"gif\", \"frames\"]\nsheet = true\nframes = 6\nfps = 8\n\
             [[character]]\nname = \"hero\"\nimage = \"h.png\"\n[[character]]\nname = \"bug\"\nimage = \"b.png\"\n\
             [[action]]\nactions = [\"idle\", \"walk\"]\n[[action]]\nname = \"wave\"\nprompt = \"waves\"\nframes = 4\ncharacters = [\"hero\"]\n\
             [[action]]\nname = \"jump\"\n",
        );
        let jobs = plan(&m);
        let ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
        assert_eq!(ids, ["hero/*", "hero/wave", "bug/*"]);
        let set = &jobs[0];
        assert_eq!(
            set.what,
            JobWhat::Actions(vec!["idle".into(), "walk".into(), "jump".into()])
        );
        assert_eq!(
            set.spec,
            ClipSpec {
                frames: 6,
                fps: 8,
                seed: 0,
                looping: false
            }
        );
        assert_eq!(
            set.outs,
            vec![
                PathBuf::from("/p/out/hero/hero.gif"),
                PathBuf::from("/p/out/hero/frames/")
            ]
        );
        assert_eq!(set.sheet, Some(PathBuf::from("/p/out/hero/hero-sheet.png")));
        assert_eq!(
            set.clips[1].files,
            vec![
                PathBuf::from("/p/out/hero/hero-walk.gif"),
                PathBuf::from("/p/out/hero/frames/walk")
            ]
        );
        assert_eq!(
            set.clips[1].preview,
            PathBuf::from("/p/out/hero/hero-walk.gif")
        );
        let wave = &jobs[1];
        assert_eq!(wave.spec.frames, 4);
        assert_eq!(
            wave.outs,
            vec![
                PathBuf::from("/p/out/hero/hero-wave.gif"),
                PathBuf::from("/p/out/hero/frames/wave/")
            ]
        );
        assert_eq!(
            wave.sheet,
            Some(PathBuf::from("/p/out/hero/hero-wave-sheet.png"))
        );
        assert_eq!(set.cost(), 18);
    }

    #[test]
    fn jobs_without_a_browser_format_get_a_preview() {
        let m = manifest(
            "[[character]]\nname = \"hero\"\nimage = \"h.png\"\nformats = [\"mp4\"]\n\
             [[action]]\nactions = [\"idle\"]\n[[action]]\nname = \"wave\"\nprompt = \"waves\"\n",
        );
        let jobs = plan(&m);
        assert_eq!(
            jobs[0].outs,
            vec![
                PathBuf::from("/p/out/hero/hero.mp4"),
                PathBuf::from("/p/out/.previews/hero/hero.png")
            ]
        );
        assert_eq!(
            jobs[0].clips[0].preview,
            PathBuf::from("/p/out/.previews/hero/hero-idle.png")
        );
        assert_eq!(
            jobs[1].clips[0].preview,
            PathBuf::from("/p/out/.previews/hero/hero-wave.png")
        );
        assert!(jobs[1].outs.contains(&jobs[1].clips[0].preview));
        assert_eq!(jobs[0].sheet, None);
        assert_eq!(
            preview_index(&[Format::Gif, Format::Mp4, Format::Apng]),
            Some(2)
        );
        assert_eq!(preview_index(&[Format::Frames, Format::Gif]), Some(1));
    }
}
