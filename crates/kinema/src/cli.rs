//! Command-line grammar. Each subcommand's `--help` carries examples.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use kinema_core::Background;
use kinema_media::SubjectBox;

#[derive(Parser, Debug)]
#[command(
    name = "kinema",
    version,
    about = "Animate a game character image from a short action description",
    long_about = "Kinema turns a static character image (a sprite with transparency, or art on a \
plain background) and a short action description in English or Chinese into a clip of that same \
character: MP4, GIF, animated PNG (APNG), animated WebP, a folder of PNG frames, or a sprite sheet \
with atlases for TexturePacker (Phaser, PixiJS), Aseprite, Godot and Unity.",
    after_help = "Examples:\n  kinema generate --image samples/characters/femaleAdventurer_idle.png --prompt \"waves hello\" --out wave.mp4\n  kinema actions\n  kinema rig --image hero.png --out hero.rig.json --overlay hero-rig.png\n\nOutput formats: .mp4, .gif, .png (animated PNG), .webp, a folder/ of PNG frames, and sprite\nsheets with TexturePacker, Aseprite, Godot and Unity atlases (kinema generate --help)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Generate a clip of the character doing what the prompt says.
    Generate(Box<GenerateArgs>),
    /// List the actions the rig engine understands, with English and Chinese words.
    Actions(ActionsArgs),
    /// Auto-rig a character and write the skeleton as editable JSON.
    Rig(RigArgs),
    /// Measure a clip (identity, motion, flicker, smoothness, loop seam), or run a suite.
    Eval(EvalArgs),
    /// Render every character × action of a TOML manifest, in parallel, skipping what is
    /// up to date; writes a contact sheet (index.html) beside the outputs.
    Batch(BatchArgs),
    /// Download, list and inspect diffusion models (Hugging Face cache) for `--model`.
    Models(ModelsArgs),
    /// Serve the task API (and web page) over HTTP, with a persistent job queue.
    Serve(ServeArgs),
    /// Render tasks from a shared PostgreSQL queue (a GPU or CPU machine of a cluster).
    Worker(crate::cluster_args::WorkerArgs),
    /// List every engine: whether it can run here (key present, model pulled), what it
    /// can do and what it costs.
    Engines(EnginesArgs),
}

#[derive(Args, Debug)]
#[command(after_help = "Examples:
  kinema generate --image samples/characters/femaleAdventurer_idle.png --prompt \"waves hello\" --out wave.mp4
  kinema generate --image hero.png --prompt \"走两步然后挥手\" --out hero.gif --out frames/
  kinema generate --image slime.png --prompt bounce --loop --fps 12 --frames 12 --out slime.png
  kinema generate --image knight.jpg --prompt \"swings his sword twice\" --background '#20242c' --out k.mp4 --json
  kinema generate --image hero.png --actions idle,walk,attack --sheet hero-sheet.png --atlas texturepacker,godot,unity
  kinema generate --image hero.png --motions samples/motions --prompt \"prowls then waves\" --out prowl.gif
  kinema generate --image photo.jpg --box 120,40,200,380 --prompt wave --out wave.gif   # point at the character
  kinema generate --engine svd --image hero.png --prompt \"runs\" --frames 25 --fps 7 --out run.png
  kinema generate --engine opensora --device cuda --image hero.png --prompt \"waves\" --frames 33 --out wave.png
  kinema generate --image hero.png --actions idle,walk,attack --export spine,godot hero-rig/
  kinema generate --image hero.png --bvh walk.bvh --out walk.gif      # motion capture
  kinema generate --engine runway --image hero.png --prompt \"swings a sword\" --out swing.png --max-cost 1
  kinema generate --engine luma --image hero.png --prompt \"idles\" --loop --fps 12 --frames 24 --out idle.png --yes
  kinema generate --engine kling --quality pro --image hero.png --last-image hero-crouch.png --prompt \"crouches\" --out c.gif

Outputs: .mp4, .gif, .png (animated PNG), .webp, frames/ (a folder of PNG frames), and
--sheet PATH.png (a sprite sheet with texturepacker, aseprite, godot or unity atlases).
Defaults (the same for batch, eval suites and the server): docs/DEFAULTS.md
Paid engines (runway, luma, kling): docs/PROVIDERS.md")]
pub struct GenerateArgs {
    /// The character image: PNG, JPEG, WebP, BMP or GIF (first frame).
    #[arg(long, value_name = "PATH")]
    pub image: PathBuf,

    /// What the character does, in English or Chinese ("walks then jumps", "挥手"). Give
    /// this for one clip, or --actions for one clip per action.
    #[arg(long, value_name = "TEXT", conflicts_with = "actions")]
    pub prompt: Option<String>,

    /// Several actions on one canvas and ground line, one clip each:
    /// "idle,walk,run,jump,attack,hurt,die". `--out hero.mp4` becomes hero-idle.mp4, …
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub actions: Option<Vec<String>>,

    /// Output file; the extension picks the format: .mp4 (H.264, no alpha), .gif, .png
    /// (animated PNG), .webp (animated WebP), or a path ending in `/` for a folder of PNG
    /// frames. Repeat to encode one render several ways; every output has the same pixel
    /// size. For a sprite sheet with atlases use --sheet (with or without --out).
    #[arg(long = "out", value_name = "PATH")]
    pub outs: Vec<PathBuf>,

    #[command(flatten)]
    pub sheet: SheetArgs,

    /// Export the rig, with one animation per action, for animation tools: `spine`
    /// (Spine 4.2 JSON + atlas), `godot` (a Godot 4 .tscn scene), or both, into the folder
    /// DIR (created if missing). See docs/EXPORT.md.
    #[arg(long, num_args = 2, value_names = ["FORMATS", "DIR"])]
    pub export: Option<Vec<String>>,

    /// Which engine renders the clip: rig, wan, svd, opensora, or a video service (runway, luma,
    /// kling; see `kinema engines` and docs/PROVIDERS.md).
    #[arg(long, default_value = kinema_jobs::defaults::ENGINE,
          value_parser = ["rig", "wan", "svd", "opensora", "runway", "luma", "kling"])]
    pub engine: String,

    /// Number of frames [default: 2 s worth at --fps].
    #[arg(long, value_name = "N", conflicts_with = "duration", allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(1..=2000))]
    pub frames: Option<u32>,

    /// Clip length in seconds (instead of --frames).
    #[arg(long, value_name = "SECS", allow_negative_numbers = true, value_parser = parse_duration)]
    pub duration: Option<f64>,

    /// Frames per second: 12 is what 2D games animate at. MP4 plays at a standard rate by
    /// showing each frame several times (12 → 24 fps); no format invents frames.
    #[arg(long, default_value_t = kinema_jobs::defaults::FPS, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(1..=120))]
    pub fps: u32,

    /// Fit the output into WxH (letterboxed, never stretched), e.g. 512x512.
    #[arg(long, value_name = "WxH", value_parser = parse_size)]
    pub size: Option<(u32, u32)>,

    /// Integer upscale of every output, nearest-neighbour for pixel art (all formats stay
    /// the same size).
    #[arg(long, value_name = "N", default_value_t = kinema_jobs::defaults::SCALE,
          allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub scale: u32,

    /// Seed for the engine's random choices; the same seed gives the same frames.
    #[arg(long, default_value_t = kinema_jobs::defaults::SEED, allow_negative_numbers = true)]
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

    /// A folder of motion files (*.toml, see docs/MOTIONS.md) added to the built-in
    /// motions; a file named like a built-in replaces it. Their words join the prompt.
    #[arg(long, value_name = "DIR")]
    pub motions: Option<PathBuf>,

    /// A motion capture (BVH: Mixamo, Rokoko, CMU and similar) fitted to the character:
    /// an action named after the file (walk.bvh plays as `walk`), played whole unless
    /// --prompt, --actions, --frames or --duration say otherwise.
    #[arg(long, value_name = "FILE.bvh")]
    pub bvh: Option<PathBuf>,

    /// The plane the capture is seen in: auto (front for characters drawn facing you,
    /// side for profiles), front or side.
    #[arg(
        long,
        value_name = "auto|front|side",
        default_value = "auto",
        requires = "bvh"
    )]
    pub bvh_plane: String,

    /// How the capture's joints are named: auto, mixamo, rokoko, cmu, or a mapping table
    /// file (docs/MOTIONS.md#motion-capture-bvh).
    #[arg(long, value_name = "TABLE", default_value = "auto", requires = "bvh")]
    pub bvh_map: String,

    /// A mask image (white = character) for pictures whose background cannot be removed
    /// automatically.
    #[arg(long, value_name = "PATH")]
    pub mask: Option<PathBuf>,

    /// Where the character is, in pixels of the image (left, top, width, height): seeds
    /// the cut-out of photos and painted backgrounds; everything outside is background.
    #[arg(long = "box", value_name = "X,Y,W,H", value_parser = parse_box)]
    pub subject_box: Option<SubjectBox>,

    /// Print a JSON summary on stdout: outputs, frames, fps, size, understood actions,
    /// gameplay metadata per frame (pivot, root motion, hurt- and hitboxes, events), timings.
    #[arg(long)]
    pub json: bool,

    /// Overwrite existing output files.
    #[arg(long)]
    pub force: bool,

    /// Diffusion engines: a model folder, or a Hugging Face id already fetched with `kinema
    /// models pull` [default: Wan-AI/Wan2.2-TI2V-5B-Diffusers for wan (Wan2.1 I2V
    /// checkpoints work too), stabilityai/stable-video-diffusion-img2vid-xt for svd,
    /// hpcai-tech/Open-Sora-v2 for opensora (its release layout, docs/OPENSORA.md)].
    /// runway/luma/kling: the service's model (`kinema engines` lists them).
    #[arg(long, value_name = "DIR_OR_HUB_ID_OR_MODEL")]
    pub model: Option<String>,

    /// Diffusion engines: denoising steps [default: 50 for wan and opensora, 25 for svd].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub steps: Option<u32>,

    /// wan and opensora engines: (text) guidance scale; 1 turns it off for wan [default:
    /// 5.0 for wan, 7.5 for opensora].
    #[arg(long, value_name = "F")]
    pub guidance: Option<f32>,

    /// wan engine only: flow-matching shift [default: the model's, 5.0 for TI2V-5B].
    #[arg(long, value_name = "F")]
    pub shift: Option<f32>,

    /// wan and kling: what the clip must not show [default for wan: Wan's own negative
    /// prompt].
    #[arg(long, value_name = "TEXT")]
    pub negative_prompt: Option<String>,

    /// runway/luma/kling: a picture of the character's last pose, for models that take a
    /// first and a last frame.
    #[arg(long, value_name = "PATH")]
    pub last_image: Option<PathBuf>,

    /// luma: resolution (540p, 720p, 1080p); kling: mode (std, pro) [default: the model's].
    #[arg(long, value_name = "LEVEL")]
    pub quality: Option<String>,

    #[command(flatten)]
    pub cost: CostArgs,

    /// Diffusion engines: cpu, cuda or cuda:N [default: cpu]. Open-Sora 2.0 (11B) needs a
    /// large GPU: its weights alone are 23.8 GB in bf16.
    #[arg(long, value_name = "cpu|cuda[:N]")]
    pub device: Option<String>,

    /// Diffusion engines: weight precision [default: f32 on cpu, bf16 on cuda].
    #[arg(long, value_name = "f32|bf16|f16", value_parser = ["f32", "bf16", "f16"])]
    pub dtype: Option<String>,

    /// Diffusion engines: longer side of the picture the model generates, in pixels; the
    /// clip is brought back to the character's own scale [default: 704 for wan, the model's
    /// training size for svd (768 for SVD-XT), 256 for opensora].
    #[arg(long, value_name = "PX", value_parser = clap::value_parser!(u32).range(32..=4096))]
    pub resolution: Option<u32>,

    #[command(flatten)]
    pub svd: SvdArgs,

    #[command(flatten)]
    pub opensora: OpenSoraArgs,
}

/// Open-Sora 2.0's own conditions (`--engine opensora`).
#[derive(Args, Debug)]
pub struct OpenSoraArgs {
    /// opensora engine only: image guidance scale, how closely the clip keeps to the picture
    /// [default: 3.0].
    #[arg(long, value_name = "F")]
    pub image_guidance: Option<f32>,

    /// opensora engine only: the "N motion score." the prompt gets, 1 (still) to 7 (lively)
    /// [default: 4].
    #[arg(long, value_name = "1-7", value_parser = clap::value_parser!(u32).range(1..=7))]
    pub motion_score: Option<u32>,
}

/// Stable Video Diffusion's conditioning (`--engine svd`).
#[derive(Args, Debug)]
pub struct SvdArgs {
    /// svd engine only: amount of motion, 0–255 [default: from the prompt's action, else
    /// 127].
    #[arg(long, value_name = "0-255", value_parser = clap::value_parser!(u32).range(0..=255))]
    pub motion_bucket: Option<u32>,

    /// svd engine only: the frame rate the clip is conditioned on, minus one [default: from
    /// the prompt's action, else 6].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=60))]
    pub fps_id: Option<u32>,

    /// svd engine only: noise added to the image; more moves more but looks less alike
    /// [default: 0.02].
    #[arg(long, value_name = "F")]
    pub noise_aug: Option<f32>,

    /// svd engine only: guidance of the first frame [default: 1.0].
    #[arg(long, value_name = "F")]
    pub min_guidance: Option<f32>,

    /// svd engine only: guidance of the last frame; 1 turns guidance off [default: 3.0].
    #[arg(long, value_name = "F")]
    pub max_guidance: Option<f32>,

    /// svd engine only: frames the VAE decodes at once [default: as many as fit in memory].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub decode_chunk: Option<u32>,
}

/// Consent to spend money on a video service.
#[derive(Args, Debug)]
pub struct CostArgs {
    /// Go ahead with a paid engine without asking (required when not on a terminal,
    /// unless --max-cost is given).
    #[arg(long)]
    pub yes: bool,

    /// Go ahead only if the estimated cost is at most this many US dollars.
    #[arg(long, value_name = "USD", value_parser = parse_usd)]
    pub max_cost: Option<f64>,
}

fn parse_usd(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .trim_start_matches('$')
        .parse()
        .map_err(|_| format!("`{s}` is not an amount of US dollars (try 2.50)"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!(
            "{s} is not a usable amount: give 0 or more dollars"
        ));
    }
    Ok(v)
}

/// Sprite-sheet options of `generate`.
#[derive(Args, Debug)]
pub struct SheetArgs {
    /// Write a sprite sheet PNG with atlases beside it (one animation per action), trimmed
    /// and padded; `hero.png` gets `hero.json`, `hero.aseprite.json`, `hero.tres` or
    /// `hero.png.meta` as --atlas asks.
    #[arg(long, value_name = "PATH.png")]
    pub sheet: Option<PathBuf>,

    /// Atlas formats to write beside the sheet: texturepacker (Phaser, PixiJS), aseprite,
    /// godot, unity.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_values_t = kinema_jobs::defaults::SHEET_ATLASES.map(|a| a.name().to_string()),
        requires = "sheet"
    )]
    pub atlas: Vec<String>,

    /// Columns in the sheet [default: a near-square layout].
    #[arg(long, value_name = "N", requires = "sheet",
          value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub columns: Option<u32>,

    /// Transparent pixels between frames in the sheet.
    #[arg(long, value_name = "N", default_value_t = kinema_jobs::defaults::SHEET_PADDING,
          requires = "sheet", value_parser = clap::value_parser!(u32).range(0..=64))]
    pub padding: u32,

    /// Repeat each frame's edge pixels N times around it, against filtering bleed.
    #[arg(long, value_name = "N", default_value_t = kinema_jobs::defaults::SHEET_EXTRUDE,
          requires = "sheet", value_parser = clap::value_parser!(u32).range(0..=16))]
    pub extrude: u32,

    /// Keep every sheet cell at the full frame size. By default each frame is trimmed to
    /// its visible pixels and the atlases record the offsets that restore it.
    #[arg(long = "no-trim", requires = "sheet")]
    pub no_trim: bool,

    /// Trim frames to their visible pixels (the default; kept for older scripts).
    #[arg(long, requires = "sheet", conflicts_with = "no_trim", hide = true)]
    pub trim: bool,

    /// Make the sheet's width and height powers of two.
    #[arg(long, requires = "sheet")]
    pub pot: bool,
}

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  kinema actions\n  kinema actions --json\n  kinema actions --motions samples/motions"
)]
pub struct ActionsArgs {
    /// Print the catalogue as JSON (with each motion's events and root motion per kind).
    #[arg(long)]
    pub json: bool,

    /// Also list the motion files in this folder, as `generate --motions DIR` would use them.
    #[arg(long, value_name = "DIR")]
    pub motions: Option<PathBuf>,
}

#[derive(Args, Debug)]
#[command(after_help = "Examples:
  kinema rig --image samples/characters/femaleAdventurer_idle.png --out hero.rig.json --overlay hero-rig.png
  # edit hero.rig.json (move joints), then:
  kinema generate --image samples/characters/femaleAdventurer_idle.png --rig hero.rig.json --prompt wave --out wave.gif
  kinema rig --image hero.png --export spine,godot hero-rig/   # the rig for Spine and Godot (docs/EXPORT.md)")]
pub struct RigArgs {
    /// The character image.
    #[arg(long, value_name = "PATH")]
    pub image: PathBuf,

    /// Where to write the rig JSON.
    #[arg(long, value_name = "PATH", required_unless_present = "export")]
    pub out: Option<PathBuf>,

    /// Export the rig for animation tools: `spine`, `godot` or `spine,godot`, into the
    /// folder DIR (created if missing). See docs/EXPORT.md.
    #[arg(long, num_args = 2, value_names = ["FORMATS", "DIR"])]
    pub export: Option<Vec<String>>,

    /// Also draw the rig over the character into this PNG.
    #[arg(long, value_name = "PATH")]
    pub overlay: Option<PathBuf>,

    /// A mask image (white = character), as for `generate`.
    #[arg(long, value_name = "PATH")]
    pub mask: Option<PathBuf>,

    /// Where the character is (X,Y,W,H in pixels), as for `generate`.
    #[arg(long = "box", value_name = "X,Y,W,H", value_parser = parse_box)]
    pub subject_box: Option<SubjectBox>,

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
    /// The batch manifest (TOML): characters, actions, output formats (gif, mp4, apng,
    /// webp, frames, sheet with atlases), defaults.
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

    #[command(flatten)]
    pub cost: CostArgs,
}

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  kinema engines\n  kinema engines --json")]
pub struct EnginesArgs {
    /// Print JSON: every engine with its availability, capabilities, models and prices.
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

    /// Where the character is in the reference image (X,Y,W,H in pixels), as for `generate`.
    #[arg(long = "box", value_name = "X,Y,W,H", value_parser = parse_box)]
    pub subject_box: Option<SubjectBox>,

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

fn parse_box(s: &str) -> Result<SubjectBox, String> {
    s.parse::<SubjectBox>().map_err(|e| e.to_string())
}

#[derive(Args, Debug)]
#[command(after_help = "Examples:
  kinema serve                                  # http://127.0.0.1:8080, data in ./kinema-data
  kinema serve --addr 0.0.0.0:8080 --token \"$(openssl rand -hex 16)\" --workers 2
  kinema serve --queue postgres://kinema:PW@db:5432/kinema --store s3://assets/kinema --workers 0
  curl -s localhost:8080/v1/engines
The API is described at /openapi.json and in docs/SERVER.md; clusters in docs/DEPLOY.md.")]
pub struct ServeArgs {
    /// Address to listen on; anything but loopback needs --token.
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:8080")]
    pub addr: std::net::SocketAddr,

    /// Folder for the task database, uploads and outputs (created if missing).
    #[arg(long, value_name = "DIR", default_value = "kinema-data")]
    pub data: PathBuf,

    /// Renders running at once; 0 for an API-only server whose tasks `kinema worker`
    /// processes render (needs a shared --queue).
    #[arg(long, value_name = "N", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(0..=256))]
    pub workers: u32,

    /// Accepted bearer token (16+ characters); repeat for several. Each token sees only
    /// its own tasks.
    #[arg(long = "token", value_name = "TOKEN")]
    pub tokens: Vec<String>,

    /// Unfinished tasks one token may have before submits get 429.
    #[arg(long, value_name = "N", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..=100000))]
    pub quota: u32,

    /// A folder of motion files added to the built-in motions for every rig task; read
    /// once at start, so a broken file stops the server before it listens.
    #[arg(long, value_name = "DIR")]
    pub motions: Option<PathBuf>,

    #[command(flatten)]
    pub backend: crate::cluster_args::BackendArgs,

    /// Answer downloads with a redirect to a presigned S3 URL instead of streaming the
    /// bytes through this server (needs an s3:// --store reachable by clients).
    #[arg(long)]
    pub presign: bool,

    /// How long a presigned download URL stays valid.
    #[arg(long, value_name = "SECS", default_value_t = 900, requires = "presign",
          value_parser = clap::value_parser!(u64).range(10..=604800))]
    pub presign_ttl: u64,

    /// Most US dollars of paid-engine (runway, luma, kling) tasks one token may submit;
    /// the keys come from this server's environment, never from clients [default: no limit].
    #[arg(long, value_name = "USD", value_parser = parse_usd)]
    pub spend_limit: Option<f64>,
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

#[derive(Args, Debug)]
#[command(
    after_help = "Models live in the Hugging Face cache (HF_HUB_CACHE, else HF_HOME/hub, else \
~/.cache/huggingface/hub), shared with Python tools. See docs/MODELS.md.

Examples:
  kinema models pull Wan-AI/Wan2.2-TI2V-5B-Diffusers
  kinema models list
  kinema models info Wan-AI/Wan2.2-TI2V-5B-Diffusers
  kinema models info ./my-wan-folder --json"
)]
pub struct ModelsArgs {
    #[command(subcommand)]
    pub command: ModelsCommand,
}

#[derive(Subcommand, Debug)]
pub enum ModelsCommand {
    /// List cached models: size, complete or partial, diffusers pipeline or not.
    List(ModelsListArgs),
    /// Download a model from the hub into the cache; resumes interrupted downloads.
    Pull(ModelsPullArgs),
    /// Describe a pipeline folder or cached model: components, parameters, dtypes, config.
    Info(ModelsInfoArgs),
}

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  kinema models list\n  kinema models list --json")]
pub struct ModelsListArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
#[command(after_help = "Examples:
  kinema models pull Wan-AI/Wan2.2-TI2V-5B-Diffusers
  kinema models pull Wan-AI/Wan2.2-TI2V-5B-Diffusers --exclude '*.bin'
  kinema models pull Wan-AI/Wan2.2-TI2V-5B-Diffusers --include 'vae/*' --include '*.json'
  HF_TOKEN=hf_... kinema models pull org/gated-model --revision v1.1 --json
  kinema models pull stabilityai/stable-video-diffusion-img2vid-xt --accept-licence
Run the same command again after an interruption: finished files are skipped and the
partial one continues where it stopped. Models whose licence must be accepted (Stable Video
Diffusion) show its terms first and ask; --accept-licence accepts without asking.")]
pub struct ModelsPullArgs {
    /// The hub repo, org/name.
    #[arg(value_name = "REPO")]
    pub repo: String,

    /// Branch, tag or commit.
    #[arg(long, value_name = "REV", default_value = "main")]
    pub revision: Option<String>,

    /// Only files matching this glob (`*` crosses folders); repeat for several.
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,

    /// Skip files matching this glob, e.g. '*.bin'; repeat for several.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,

    /// Print the pull report (files, sizes, what was downloaded or resumed) as JSON.
    #[arg(long)]
    pub json: bool,

    /// Accept the model's licence (shown on the first pull of models that have one, such as
    /// Stable Video Diffusion's) without being asked.
    #[arg(long, alias = "accept-license")]
    pub accept_licence: bool,
}

#[derive(Args, Debug)]
#[command(after_help = "Examples:
  kinema models info Wan-AI/Wan2.2-TI2V-5B-Diffusers
  kinema models info ./Wan2.2-TI2V-5B-Diffusers --json")]
pub struct ModelsInfoArgs {
    /// A diffusers pipeline folder, or a cached hub id (org/name).
    #[arg(value_name = "DIR_OR_ID")]
    pub model: String,

    /// For hub ids: branch, tag or commit.
    #[arg(long, value_name = "REV")]
    pub revision: Option<String>,

    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}
