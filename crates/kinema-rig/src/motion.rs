//! Poses and keyframed motions: each action is a few tracks of keys over normalised time.

/// A pose control. Limb values are "forward swing" in degrees (positive moves the limb's
/// end toward +x, the way the character faces); spine/neck positive leans forward; root
/// moves are fractions of the character's height (y up); squash values are relative scale.
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
}

pub const CHANNELS: usize = 16;

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

/// One channel's keys `(time 0..=1, value)`, sorted by time.
#[derive(Clone, Copy, Debug)]
pub struct Track {
    pub channel: Channel,
    pub keys: &'static [(f32, f32)],
}

#[derive(Clone, Copy, Debug)]
pub struct Motion {
    pub ease: Ease,
    pub tracks: &'static [Track],
}

pub fn smoothstep(t: f32) -> f32 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

impl Track {
    /// Value at `t` in 0..=1; `cyclic` wraps the spline's neighbours around the ends.
    pub fn sample(&self, t: f32, ease: Ease, cyclic: bool) -> f32 {
        let k = self.keys;
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

impl Motion {
    pub fn pose(&self, t: f32, cyclic: bool) -> Pose {
        let mut p = Pose::default();
        for tr in self.tracks {
            p.0[tr.channel as usize] += tr.sample(t, self.ease, cyclic);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Track = Track {
        channel: Channel::ArmL,
        keys: &[(0.0, 0.0), (0.5, 10.0), (1.0, 0.0)],
    };

    #[test]
    fn tracks_hit_their_keys_and_ease_between() {
        for ease in [Ease::Spline, Ease::Smooth] {
            assert_eq!(T.sample(0.0, ease, false), 0.0);
            assert_eq!(T.sample(0.5, ease, false), 10.0);
            assert_eq!(T.sample(1.0, ease, true), 0.0);
            let q = T.sample(0.25, ease, false);
            assert!(q > 2.0 && q < 8.0, "{q}");
        }
        // Smooth eases out of the key: small change right after it.
        assert!(T.sample(0.05, Ease::Smooth, false) < 0.5);
    }

    #[test]
    fn cyclic_spline_is_continuous_across_the_seam() {
        let t = Track {
            channel: Channel::LegL,
            keys: &[
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
}
