//! Walks measured against an artist's own cycle: `femaleAdventurer_walk0..7.png` is the
//! artist's walk for `femaleAdventurer_idle.png`. The score is kinema-metrics'
//! `cycle_match` (best feet-aligned, height-matched silhouette IoU per artist frame).

mod common;

use common::load;
use kinema_core::{ClipSpec, Engine, Job, Progress};
use kinema_metrics::{cycle_match, gap_closed};
use kinema_rig::RigEngine;

fn quiet(_: Progress) {}

#[test]
fn walk_closes_the_gap_to_the_artists_cycle() {
    let idle = load("femaleAdventurer_idle");
    let artist: Vec<_> = (0..8)
        .map(|i| load(&format!("femaleAdventurer_walk{i}")).image)
        .collect();
    let static_score = cycle_match(&artist, std::slice::from_ref(&idle.image)).unwrap();
    let spec = ClipSpec {
        frames: 24,
        fps: 12,
        seed: 0,
        looping: true,
    };
    let job = Job {
        character: &idle,
        prompt: "walk",
        spec: &spec,
    };
    let clip = RigEngine::new().generate(job, &quiet).unwrap().clip;
    let score = cycle_match(&artist, &clip.frames).unwrap();
    let closed = gap_closed(static_score, score);
    eprintln!("static {static_score:.4} walk {score:.4} gap closed {closed:.3}");
    assert!(
        closed >= 0.4,
        "the walk closes {closed:.3} of the gap (static {static_score:.4}, walk {score:.4})"
    );
}
