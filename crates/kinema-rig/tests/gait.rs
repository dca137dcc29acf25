//! Walks measured against an artist's own cycle: `femaleAdventurer_walk0..7.png` is the
//! artist's walk for `femaleAdventurer_idle.png`. The score is kinema-metrics'
//! `cycle_match` (best feet-aligned, height-matched silhouette IoU per artist frame).

mod common;

use common::{load, render};
use kinema_metrics::{cycle_match, gap_closed};

#[test]
fn walk_closes_the_gap_to_the_artists_cycle() {
    let idle = load("femaleAdventurer_idle");
    let artist: Vec<_> = (0..8)
        .map(|i| load(&format!("femaleAdventurer_walk{i}")).image)
        .collect();
    let static_score = cycle_match(&artist, std::slice::from_ref(&idle.image)).unwrap();
    let clip = render(&idle, "walk", 24, 0, true);
    let score = cycle_match(&artist, &clip.frames).unwrap();
    let closed = gap_closed(static_score, score);
    eprintln!("static {static_score:.4} walk {score:.4} gap closed {closed:.3}");
    assert!(
        closed >= 0.4,
        "the walk closes {closed:.3} of the gap (static {static_score:.4}, walk {score:.4})"
    );
}
