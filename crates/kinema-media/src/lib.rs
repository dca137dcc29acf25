//! Character decoding and matting; clip encoders (MP4, GIF, APNG, PNG frames) and readers.
//!
//! Everything that touches a file format lives here, so engines only ever see
//! [`kinema_core::Character`] and produce [`kinema_core::Clip`].

mod input;
pub mod key;
mod output;
mod read;
pub mod resize;
pub mod retime;
pub mod sheet;
pub mod webp;

pub use input::{
    decode_character, decode_rgba, is_pixel_art, is_separation_failure, load_character,
    srgb_to_lab, Lab, LoadOptions, SubjectBox, MIN_SIDE, SUPPORTED_INPUTS,
};
pub use output::{
    check_targets, frame_file_name, frame_number, is_frame_file, parse_output, playback_rate,
    prepare_for, write_clip, write_png, write_text, EncodeOptions, InputFiles, OutputFormat,
    OutputTarget, Written, CLIP_META_FILE, OUTPUT_FORMATS, STANDARD_RATES,
};
pub use read::{read_clip, visit_video, VideoFrame, VideoInfo, DEFAULT_FPS};
