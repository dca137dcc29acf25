//! Command-line grammar. Each subcommand's `--help` carries examples.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use kinema_core::Background;

#[derive(Parser, Debug)]
#[command(
    name = "kinema",
    version,
    about = "Animate a game character image from a short action description",
    long_about = "Kinema turns a static character image (a sprite with transparency, or art on a \
plain background) and a short action description in English or Chinese into a clip of that same \
character: MP4, GIF, APNG or PNG frames.",
    after_help = "Examples:\n  kinema generate --image samples/characters/femaleAdventurer_idle.png --prompt \"waves hello\" --out wave.mp4\n  kinema actions\n  kinema rig --image hero.png --out hero.rig.json --overlay hero-rig.png"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Generate a clip of the character doing what the prompt says.
    Generate(GenerateArgs),
    /// List the actions the rig engine understands, with English and Chinese words.
    Actions(ActionsArgs),
    /// Auto-rig a character and write the skeleton as editable JSON.
    Rig(RigArgs),
    /// Measure a clip (identity, motion, flicker, smoothness, loop seam), or run a suite.
    Eval(EvalArgs),
    /// Render every character × action of a TOML manifest, in parallel, skipping what is
    /// up to date; writes a contact sheet (index.html) beside the outputs.
    Batch(BatchArgs),
}

#[derive(Args, Debug)]
#[command(after_help = "Examples:
  kinema generate --image samples/characters/femaleAdventurer_idle.png --prompt \"waves hello\" --out wave.mp4
  kinema generate --image hero.png --prompt \"走两步然后挥手\" --out hero.gif --out frames/
  kinema generate --image slime.png --prompt bounce --loop --fps 12 --frames 12 --out slime.png
  kinema generate --image knight.jpg --prompt \"swings his sword twice\" --background '#20242c' --out k.mp4 --json
  kinema generate --image hero.png --actions idle,walk,attack --sheet hero.png --atlas texturepacker,godot,unity --trim")]
pub struct GenerateArgs {
    /// The character image: PNG, JPEG, WebP, BMP or GIF (first frame).
    #[arg(long, value_name = "PATH")]
    pub image: PathBuf,

    /// What the character does, in English or Chinese ("walks then jumps", "挥手").
    #[arg(
        long,
        value_name = "TEXT",
        required_unless_present = "actions",
        conflicts_with = "actions"
    )]
    pub prompt: Option<String>,

    /// Several actions on one canvas and ground line, one clip each:
    /// "idle,walk,run,jump,attack,hurt,die". `--out hero.mp4` becomes hero-idle.mp4, …
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub actions: Option<Vec<String>>,

    /// Output file; the extension picks the format: .mp4, .gif, .png (APNG), .webp, or a
    /// directory (ending in `/`) for PNG frames. Repeat to encode one render several ways.
    #[arg(long = "out", value_name = "PATH", required_unless_present = "sheet")]
    pub outs: Vec<PathBuf>,

    #[command(flatten)]
    pub sheet: SheetArgs,

    /// Which engine renders the clip.
    #[arg(long, default_value = "rig", value_parser = ["rig"])]
    pub engine: String,

    /// Number of frames [default: 2 s worth at --fps].
    #[arg(long, value_name = "N", conflicts_with = "duration", allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(1..=2000))]
    pub frames: Option<u32>,

    /// Clip length in seconds (instead of --frames).
    #[arg(long, value_name = "SECS", allow_negative_numbers = true, value_parser = parse_duration)]
    pub duration: Option<f64>,

    /// Frames per second.
    #[arg(long, default_value_t = 24, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(1..=120))]
    pub fps: u32,

    /// Fit the output into WxH (letterboxed, never stretched), e.g. 512x512.
    #[arg(long, value_name = "WxH", value_parser = parse_size)]
    pub size: Option<(u32, u32)>,

    /// Integer upscale of the output (nearest-neighbour for pixel art) [default: automatic
    /// for small characters in video formats].
    #[arg(long, value_name = "N", allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(1..=16))]
    pub scale: Option<u32>,

    /// Seed for the engine's random choices; the same seed gives the same frames.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub seed: u64,

    /// Make a seamless loop (no duplicated seam frame).
    #[arg(long = "loop")]
    pub looping: bool,

    /// `transparent`, or a colour such as `#20242c` composited behind the character.
    #[arg(long, default_value = "transparent", value_parser = parse_background)]
    pub background: Background,

    /// A rig edited from `kinema rig` output, used instead of the automatic one.
    #[arg(long, value_name = "rig.json")]
    pub rig: Option<PathBuf>,

    /// A mask image (white = character) for pictures whose background cannot be removed
    /// automatically.
    #[arg(long, value_name = "PATH")]
    pub mask: Option<PathBuf>,

    /// Print a JSON summary on stdout: outputs, frames, fps, size, understood actions, timings.
    #[arg(long)]
    pub json: bool,

    /// Overwrite existing output files.
    #[arg(long)]
    pub force: bool,
}

/// Sprite-sheet options of `generate`.
#[derive(Args, Debug)]
pub struct SheetArgs {
    /// Write a sprite sheet PNG with atlases beside it (one animation per action).
    #[arg(long, value_name = "PATH.png")]
    pub sheet: Option<PathBuf>,

    /// Atlas formats to write beside the sheet: texturepacker, aseprite, godot, unity.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "texturepacker",
        requires = "sheet"
    )]
    pub atlas: Vec<String>,

    /// Columns in the sheet [default: a near-square layout].
    #[arg(long, value_name = "N", requires = "sheet",
          value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub columns: Option<u32>,

    /// Transparent pixels between frames in the sheet.
    #[arg(long, value_name = "N", default_value_t = 0, requires = "sheet",
          value_parser = clap::value_parser!(u32).range(0..=64))]
    pub padding: u32,

    /// Repeat each frame's edge pixels N times around it, against filtering bleed.
    #[arg(long, value_name = "N", default_value_t = 0, requires = "sheet",
          value_parser = clap::value_parser!(u32).range(0..=16))]
    pub extrude: u32,

    /// Trim each frame to its visible pixels; atlases record the offsets.
    #[arg(long, requires = "sheet")]
    pub trim: bool,

    /// Make the sheet's width and height powers of two.
    #[arg(long, requires = "sheet")]
    pub pot: bool,
}

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  kinema actions\n  kinema actions --json")]
pub struct ActionsArgs {
    /// Print the catalogue as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
#[command(after_help = "Examples:
  kinema rig --image samples/characters/femaleAdventurer_idle.png --out hero.rig.json --overlay hero-rig.png
  # edit hero.rig.json (move joints), then:
  kinema generate --image samples/characters/femaleAdventurer_idle.png --rig hero.rig.json --prompt wave --out wave.gif")]
pub struct RigArgs {
    /// The character image.
    #[arg(long, value_name = "PATH")]
    pub image: PathBuf,

    /// Where to write the rig JSON.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,

    /// Also draw the rig over the character into this PNG.
    #[arg(long, value_name = "PATH")]
    pub overlay: Option<PathBuf>,

    /// A mask image (white = character), as for `generate`.
    #[arg(long, value_name = "PATH")]
    pub mask: Option<PathBuf>,

    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
#[command(after_help = "Examples:
  kinema batch samples/batch.toml
  kinema batch samples/batch.toml --jobs 1 --json > summary.json
  kinema batch samples/batch.toml --force
The manifest schema is in docs/BATCH.md.")]
pub struct BatchArgs {
    /// The batch manifest (TOML): characters, actions, output formats, defaults.
    #[arg(value_name = "MANIFEST")]
    pub manifest: PathBuf,

    /// Redo every job, overwriting existing outputs.
    #[arg(long)]
    pub force: bool,

    /// Jobs to run at once [default: one per CPU core].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub jobs: Option<u32>,

    /// Print the summary (every job with its status, files and error) as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
#[command(after_help = "Examples:
  kinema eval --clip wave.png --reference samples/characters/femaleAdventurer_idle.png
  kinema eval --clip frames/ --reference hero.png --json
  kinema eval --suite suite.toml --report report/   # then open report/index.html")]
pub struct EvalArgs {
    /// The clip to measure: a frame directory, APNG, GIF, WebP or MP4.
    #[arg(
        long,
        value_name = "PATH",
        requires = "reference",
        conflicts_with = "suite"
    )]
    pub clip: Option<PathBuf>,

    /// The character image the clip should keep the identity of.
    #[arg(long, value_name = "IMAGE")]
    pub reference: Option<PathBuf>,

    /// A suite file (characters × prompts × engines) to generate and measure.
    #[arg(
        long,
        value_name = "suite.toml",
        requires = "report",
        required_unless_present = "clip"
    )]
    pub suite: Option<PathBuf>,

    /// Where the suite's index.html, report.json, previews and plots go.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,

    /// A mask for the reference image, as for `generate`.
    #[arg(long, value_name = "PATH")]
    pub mask: Option<PathBuf>,

    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,

    /// Replace an existing report.
    #[arg(long)]
    pub force: bool,
}

fn parse_duration(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .trim_end_matches('s')
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds (try 2 or 1.5)"))?;
    if !v.is_finite() || v <= 0.0 || v > 60.0 {
        return Err(format!(
            "duration {s} is out of range: use 0.05 to 60 seconds"
        ));
    }
    Ok(v)
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("`{s}` is not a size: write WIDTHxHEIGHT, e.g. 512x512");
    let (w, h) = s.trim().split_once(['x', 'X', '×']).ok_or_else(bad)?;
    let w: u32 = w.trim().parse().map_err(|_| bad())?;
    let h: u32 = h.trim().parse().map_err(|_| bad())?;
    let max = kinema_core::Limits::default().max_side;
    if w < 2 || h < 2 || w > max || h > max {
        return Err(format!(
            "size {w}x{h} is out of range: each side must be 2 to {max} pixels"
        ));
    }
    Ok((w, h))
}

fn parse_background(s: &str) -> Result<Background, String> {
    s.parse::<Background>().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_reject() {
        assert_eq!(parse_size("512x256"), Ok((512, 256)));
        assert_eq!(parse_size(" 64 X 32 "), Ok((64, 32)));
        assert!(parse_size("0x10").is_err());
        assert!(parse_size("99999x10").is_err());
        assert!(parse_size("big").is_err());
    }

    #[test]
    fn durations_parse_and_reject() {
        assert_eq!(parse_duration("1.5"), Ok(1.5));
        assert_eq!(parse_duration("2s"), Ok(2.0));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("nan").is_err());
        assert!(parse_duration("forever").is_err());
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
