//! Moods as posture: a step read with "sadly" or "proudly" plays its motion with the
//! mood's channel offsets (reader/modifiers.toml) added, so a sad walk hangs its head
//! and a proud one lifts it, on top of the speed and size the mood also sets.

use std::sync::Arc;

use super::plan::Step;
use super::vocabulary::vocabulary;
use crate::library::Motion;
use crate::motion::{smoothstep, Channel, Keyframes, Track};
use crate::rig::RigKind;

/// Share of a one-shot over which it eases into the posture, so frame 0 stays the drawn pose.
const EASE_IN: f32 = 0.25;

/// `step` with its moods' postures added to its motion (unchanged without any).
pub(crate) fn with_postures(mut step: Step) -> Step {
    let v = vocabulary();
    let moods: Vec<_> = v
        .modifiers
        .iter()
        .filter(|m| step.modifiers.contains(&m.name) && !m.posture.is_empty())
        .collect();
    if moods.is_empty() {
        return step;
    }
    let mut motion: Motion = (*step.motion).clone();
    for kind_motion in &mut motion.kinds {
        let offsets: Vec<(Channel, f32)> = moods
            .iter()
            .flat_map(|m| offsets_for(&m.posture, kind_motion.kind))
            .collect();
        let looping = motion.looping;
        add(&mut kind_motion.keyframes, &offsets, looping);
        if let Some(turned) = &mut kind_motion.turned {
            add(&mut turned.keyframes, &offsets, looping);
        }
    }
    step.motion = Arc::new(motion);
    step
}

fn offsets_for(posture: &[(RigKind, Vec<(Channel, f32)>)], kind: RigKind) -> Vec<(Channel, f32)> {
    posture
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, o)| o.clone())
        .unwrap_or_default()
}

/// Adds `offsets` to the tracks: throughout for a cycle (it still closes), easing in over
/// the first quarter for a one-shot.
fn add(keyframes: &mut Keyframes, offsets: &[(Channel, f32)], looping: bool) {
    let ease = keyframes.ease;
    for &(channel, offset) in offsets {
        let ramp = |t: f32| {
            if looping {
                1.0
            } else {
                smoothstep(t / EASE_IN)
            }
        };
        match keyframes.tracks.iter_mut().find(|t| t.channel == channel) {
            Some(track) => {
                if !looping && !track.keys.iter().any(|k| (k.0 - EASE_IN).abs() < 1e-4) {
                    let at = track.sample(EASE_IN, ease, false);
                    let i = track.keys.partition_point(|k| k.0 < EASE_IN);
                    track.keys.insert(i, (EASE_IN, at));
                }
                for key in &mut track.keys {
                    key.1 += offset * ramp(key.0);
                }
            }
            None => {
                let keys = if looping {
                    vec![(0.0, offset), (1.0, offset)]
                } else {
                    vec![(0.0, 0.0), (EASE_IN, offset), (1.0, offset)]
                };
                keyframes.tracks.push(Track { channel, keys });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::motion::Channel;
    use crate::rig::RigKind;
    use crate::understand;

    #[test]
    fn a_sad_walk_hangs_its_head_and_still_loops() {
        let plain = understand("walk").unwrap();
        let sad = understand("sad walk").unwrap();
        let kind = RigKind::Humanoid;
        let neck = |p: &crate::Plan, t: f32| {
            let keys = &p.steps[0].motion.for_kind(kind).unwrap().keyframes;
            keys.pose(t, true).get(Channel::Neck)
        };
        assert!(neck(&sad, 0.3) > neck(&plain, 0.3) + 10.0);
        assert!((neck(&sad, 0.0) - neck(&sad, 1.0)).abs() < 1e-4);
    }

    #[test]
    fn a_sad_one_shot_starts_as_drawn() {
        let sad = understand("waves sadly").unwrap();
        let keys = &sad.steps[0]
            .motion
            .for_kind(RigKind::Humanoid)
            .unwrap()
            .keyframes;
        assert!(keys.pose(0.0, false).is_rest());
        assert!(keys.pose(0.5, false).get(Channel::Neck) > 10.0);
    }
}
