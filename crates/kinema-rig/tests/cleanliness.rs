//! The clean-motion bar over every sample × every action: no shard left behind (never more
//! connected pieces than the input pose), no hairlines (thin area within +0.004 of the
//! input pose, the margin of an artist's own hand-drawn frames), and loops that close.

mod common;

use common::{load, render, ALL_SAMPLES};
use kinema_metrics::Cleanliness;
use kinema_rig::{auto_rig, MotionLibrary};

/// What the artist's walk cycle measures against its idle pose is +0.003; see
/// kinema-metrics' `the_artists_frames_are_clean_against_the_idle_pose`.
const THIN_EXCESS_LIMIT: f64 = 0.004;

#[test]
fn every_sample_and_action_stays_clean() {
    let mut failures = Vec::new();
    let mut table = String::new();
    for name in ALL_SAMPLES {
        let c = load(name);
        // The input pose on the clip's canvas: a one-frame one-shot starts at rest.
        let rest = render(&c, "idle", 1, 1, false).frames.remove(0);
        let kind = auto_rig(&c).unwrap().kind;
        for a in MotionLibrary::builtin().motions() {
            if a.for_kind(kind).is_none() {
                continue; // an animal's gait on a person, say
            }
            let clip = render(&c, &a.name, 24, 1, a.looping);
            let m = Cleanliness::against(&rest, &clip.frames).expect("rig clips are cut-outs");
            table.push_str(&format!(
                "{name:<24} {:<8} pieces {}..{} ({} frames over) thin {:+.4} (frame {})\n",
                a.name,
                m.pieces_first,
                m.pieces_max,
                m.frames_with_extra_pieces,
                m.thin_excess_max,
                m.worst_thin_frame
            ));
            if m.frames_with_extra_pieces > 0 {
                failures.push(format!(
                    "{name}/{}: frame {} has {} pieces, the input {}",
                    a.name, m.worst_pieces_frame, m.pieces_max, m.pieces_first
                ));
            }
            if m.thin_excess_max > THIN_EXCESS_LIMIT {
                failures.push(format!(
                    "{name}/{}: frame {} thin area {:+.4} over the input",
                    a.name, m.worst_thin_frame, m.thin_excess_max
                ));
            }
        }
    }
    eprintln!("{table}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
