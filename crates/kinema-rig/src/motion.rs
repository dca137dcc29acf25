//! Poses and keyframes: each motion is, per skeleton kind, a few tracks of keys over
//! normalised time. The keys themselves live in motion files (`motions/*.toml`).

use crate::rig::RigKind;

/// A pose control. Limb values are "forward swing" in degrees (positive moves the limb's
/// end toward +x, the way the character faces); spine/neck positive leans forward; root
/// moves are fractions of the character's height (y up); squash values are relative scale.
///
/// Motion files name channels by [`Channel::name`]; a new channel is a new variant here,
/// a name in [`Channel::ALL`], and an entry in the kinds it applies to ([`channels_of`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    RootX,
    RootY,
    RootRot,
    SquashX,
    SquashY,
    Spine,
    Neck,
    ArmL,
    ElbowL,
    ArmR,
    ElbowR,
    LegL,
    KneeL,
    LegR,
    KneeR,
    /// Detached appendages (wings, fins) rotating about where they meet the body.
    Flap,
    /// A quadruped's tail; positive raises it.
    Tail,
    /// Quadruped legs: the swing of each leg at its top (shoulder or hip) and the bend of
    /// its knee, forward positive like every limb.
    FrontNear,
    FrontNearKnee,
    FrontFar,
    FrontFarKnee,
    HindNear,
    HindNearKnee,
    HindFar,
    HindFarKnee,
}

pub const CHANNELS: usize = 25;

/// What a channel's values measure, which decides their unit and sane range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// A rotation in degrees.
    Degrees,
    /// A move in character heights.
    Heights,
    /// A relative change of scale (0.1 = 10 % larger).
    Scale,
}

impl Channel {
    /// Every channel with its motion-file name, in `Pose` order.
    pub const ALL: [(Channel, &'static str); CHANNELS] = [
        (Channel::RootX, "root_x"),
        (Channel::RootY, "root_y"),
        (Channel::RootRot, "root_rot"),
        (Channel::SquashX, "squash_x"),
        (Channel::SquashY, "squash_y"),
        (Channel::Spine, "spine"),
        (Channel::Neck, "neck"),
        (Channel::ArmL, "arm_l"),
        (Channel::ElbowL, "elbow_l"),
        (Channel::ArmR, "arm_r"),
        (Channel::ElbowR, "elbow_r"),
        (Channel::LegL, "leg_l"),
        (Channel::KneeL, "knee_l"),
        (Channel::LegR, "leg_r"),
        (Channel::KneeR, "knee_r"),
        (Channel::Flap, "flap"),
        (Channel::Tail, "tail"),
        (Channel::FrontNear, "front_near"),
        (Channel::FrontNearKnee, "front_near_knee"),
        (Channel::FrontFar, "front_far"),
        (Channel::FrontFarKnee, "front_far_knee"),
        (Channel::HindNear, "hind_near"),
        (Channel::HindNearKnee, "hind_near_knee"),
        (Channel::HindFar, "hind_far"),
        (Channel::HindFarKnee, "hind_far_knee"),
    ];

    /// The name motion files use.
    pub fn name(self) -> &'static str {
        Channel::ALL[self as usize].1
    }

    pub fn from_name(name: &str) -> Option<Channel> {
        Channel::ALL
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(c, _)| *c)
    }

    pub fn unit(self) -> Unit {
        match self {
            Channel::RootX | Channel::RootY => Unit::Heights,
            Channel::SquashX | Channel::SquashY => Unit::Scale,
            _ => Unit::Degrees,
        }
    }
}

/// The channels a kind of skeleton reads; a motion file may key only these for it, so a
/// key that could never move anything is an error rather than a silent no-op. Every kind
/// has the five whole-body channels (`root_*`, `squash_*`); on a body chain `spine` bends
/// the body joint, `neck` turns the top, and `flap` swings detached appendages.
pub fn channels_of(kind: RigKind) -> &'static [Channel] {
    use Channel::*;
    match kind {
        RigKind::Humanoid => &[
            RootX, RootY, RootRot, SquashX, SquashY, Spine, Neck, ArmL, ElbowL, ArmR, ElbowR, LegL,
            KneeL, LegR, KneeR,
        ],
        RigKind::BodyChain => &[RootX, RootY, RootRot, SquashX, SquashY, Spine, Neck, Flap],
        // `spine` pitches the front of the body about the hips (positive lowers it), `neck`
        // turns the head (positive lowers it), `tail` raises the tail.
        RigKind::Quadruped => &[
            RootX,
            RootY,
            RootRot,
            SquashX,
            SquashY,
            Spine,
            Neck,
            Tail,
            FrontNear,
            FrontNearKnee,
            FrontFar,
            FrontFarKnee,
            HindNear,
            HindNearKnee,
            HindFar,
            HindFarKnee,
        ],
    }
}

/// The kind whose keys a skeleton plays when a motion has no section of its own for it:
/// a quadruped moves like a body chain (flap aside, which it has not) until motion files
/// key it. `None`: the motion cannot play on that kind.
pub fn stand_in(kind: RigKind) -> Option<RigKind> {
    match kind {
        RigKind::Quadruped => Some(RigKind::BodyChain),
        RigKind::Humanoid | RigKind::BodyChain => None,
    }
}

/// Values of every channel; all zero is the input (rest) pose, so poses scale linearly.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Pose(pub [f32; CHANNELS]);

impl Pose {
    pub fn get(&self, c: Channel) -> f32 {
        self.0[c as usize]
    }
    pub fn scaled(&self, s: f32) -> Pose {
        Pose(self.0.map(|v| v * s))
    }
    pub fn lerp(&self, other: &Pose, t: f32) -> Pose {
        let mut out = *self;
        for (o, b) in out.0.iter_mut().zip(other.0.iter()) {
            *o += (b - *o) * t;
        }
        out
    }
    pub fn is_rest(&self) -> bool {
        self.0.iter().all(|&v| v == 0.0)
    }
}

/// How values move between keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ease {
    /// Catmull-Rom through the keys: fluid cycles.
    Spline,
    /// Smoothstep between each pair of keys: snappy strikes with holds.
    Smooth,
}

impl Ease {
    /// Every easing with its motion-file name.
    pub const ALL: [(Ease, &'static str); 2] = [(Ease::Spline, "spline"), (Ease::Smooth, "smooth")];

    pub fn name(self) -> &'static str {
        Ease::ALL[self as usize].1
    }

    pub fn from_name(name: &str) -> Option<Ease> {
        Ease::ALL.iter().find(|(_, n)| *n == name).map(|(e, _)| *e)
    }
}

/// One channel's keys `(time 0..=1, value)`, sorted by time.
#[derive(Clone, Debug, PartialEq)]
pub struct Track {
    pub channel: Channel,
    pub keys: Vec<(f32, f32)>,
}

/// One skeleton kind's keyframes of a motion.
#[derive(Clone, Debug, PartialEq)]
pub struct Keyframes {
    pub ease: Ease,
    pub tracks: Vec<Track>,
}

pub fn smoothstep(t: f32) -> f32 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

impl Track {
    /// Value at `t` in 0..=1; `cyclic` wraps the spline's neighbours around the ends.
    pub fn sample(&self, t: f32, ease: Ease, cyclic: bool) -> f32 {
        let k = &self.keys;
        match k.len() {
            0 => return 0.0,
            1 => return k[0].1,
            _ => {}
        }
        if t <= k[0].0 {
            return k[0].1;
        }
        let last = k.len() - 1;
        if t >= k[last].0 {
            return k[last].1;
        }
        let i = k.windows(2).position(|w| t < w[1].0).unwrap_or(last - 1);
        let (t0, p0) = k[i];
        let (t1, p1) = k[i + 1];
        let span = (t1 - t0).max(1e-6);
        let s = (t - t0) / span;
        match ease {
            Ease::Smooth => p0 + (p1 - p0) * smoothstep(s),
            Ease::Spline => {
                // Neighbour keys; for cycles the key list's ends are the same instant.
                let prev = if i > 0 {
                    Some(k[i - 1])
                } else if cyclic {
                    Some((k[last - 1].0 - 1.0, k[last - 1].1))
                } else {
                    None
                };
                let next = if i + 2 <= last {
                    Some(k[i + 2])
                } else if cyclic {
                    Some((k[1].0 + 1.0, k[1].1))
                } else {
                    None
                };
                let m0 = prev.map_or(0.0, |(tp, pp)| (p1 - pp) / (t1 - tp).max(1e-6)) * span;
                let m1 = next.map_or(0.0, |(tn, pn)| (pn - p0) / (tn - t0).max(1e-6)) * span;
                let (s2, s3) = (s * s, s * s * s);
                (2.0 * s3 - 3.0 * s2 + 1.0) * p0
                    + (s3 - 2.0 * s2 + s) * m0
                    + (-2.0 * s3 + 3.0 * s2) * p1
                    + (s3 - s2) * m1
            }
        }
    }
}

impl Keyframes {
    pub fn pose(&self, t: f32, cyclic: bool) -> Pose {
        let mut p = Pose::default();
        for tr in &self.tracks {
            p.0[tr.channel as usize] += tr.sample(t, self.ease, cyclic);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm() -> Track {
        Track {
            channel: Channel::ArmL,
            keys: vec![(0.0, 0.0), (0.5, 10.0), (1.0, 0.0)],
        }
    }

    #[test]
    fn tracks_hit_their_keys_and_ease_between() {
        let t = arm();
        for ease in [Ease::Spline, Ease::Smooth] {
            assert_eq!(t.sample(0.0, ease, false), 0.0);
            assert_eq!(t.sample(0.5, ease, false), 10.0);
            assert_eq!(t.sample(1.0, ease, true), 0.0);
            let q = t.sample(0.25, ease, false);
            assert!(q > 2.0 && q < 8.0, "{q}");
        }
        // Smooth eases out of the key: small change right after it.
        assert!(t.sample(0.05, Ease::Smooth, false) < 0.5);
    }

    #[test]
    fn cyclic_spline_is_continuous_across_the_seam() {
        let t = Track {
            channel: Channel::LegL,
            keys: vec![
                (0.0, 0.0),
                (0.25, 20.0),
                (0.5, 0.0),
                (0.75, -20.0),
                (1.0, 0.0),
            ],
        };
        let a = t.sample(0.999, Ease::Spline, true);
        let b = t.sample(0.001, Ease::Spline, true);
        // Slope carries through zero instead of stopping there.
        assert!(a < 0.0 && b > 0.0 && (b - a) < 0.5, "{a} {b}");
    }

    #[test]
    fn poses_scale_and_blend() {
        let mut p = Pose::default();
        p.0[Channel::Spine as usize] = 10.0;
        assert_eq!(p.scaled(0.5).get(Channel::Spine), 5.0);
        assert_eq!(Pose::default().lerp(&p, 0.25).get(Channel::Spine), 2.5);
        assert!(Pose::default().is_rest() && !p.is_rest());
    }

    #[test]
    fn names_round_trip_and_kinds_share_the_whole_body() {
        for (i, (c, name)) in Channel::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i, "{name} is out of Pose order");
            assert_eq!(Channel::from_name(name), Some(*c));
            assert_eq!(c.name(), *name);
        }
        for (e, name) in Ease::ALL {
            assert_eq!((Ease::from_name(name), e.name()), (Some(e), name));
        }
        assert_eq!(Channel::from_name("arm_left"), None);
        for kind in RigKind::ALL {
            let whole_body = &Channel::ALL[..5];
            assert!(whole_body
                .iter()
                .all(|(c, _)| channels_of(kind).contains(c)));
        }
        assert!(!channels_of(RigKind::Humanoid).contains(&Channel::Flap));
        assert!(!channels_of(RigKind::BodyChain).contains(&Channel::ArmL));
    }
}
