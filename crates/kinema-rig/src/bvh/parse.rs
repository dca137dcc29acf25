//! BVH (Biovision hierarchy) files: a joint tree with offsets and rotation channels, then
//! one line of channel values per frame. Every mistake names the file and line.

use kinema_core::{Error, Result};

/// One channel of a joint, as the file lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Position(usize),
    Rotation(usize),
}

/// A joint of the hierarchy (an `End Site` is kept as its parent's `end`).
#[derive(Clone, Debug, PartialEq)]
pub struct BvhJoint {
    pub name: String,
    pub parent: Option<usize>,
    pub offset: [f64; 3],
    /// This joint's channels with the column each reads in a frame line.
    pub channels: Vec<(Channel, usize)>,
    /// The offset of its `End Site`, if it has one.
    pub end: Option<[f64; 3]>,
}

/// A parsed BVH file.
#[derive(Clone, Debug, PartialEq)]
pub struct Bvh {
    /// Parents before children, in file order.
    pub joints: Vec<BvhJoint>,
    /// Seconds per frame.
    pub frame_time: f64,
    /// Channel values of every frame (degrees for rotations, file units for positions).
    pub frames: Vec<Vec<f64>>,
}

/// Most frames a file may hold (20 minutes at 120 fps), against runaway files.
const MAX_FRAMES: usize = 144_000;

struct Tokens<'a> {
    label: &'a str,
    words: Vec<(usize, &'a str)>,
    at: usize,
}

impl<'a> Tokens<'a> {
    fn line(&self) -> usize {
        self.words
            .get(self.at)
            .or(self.words.last())
            .map_or(1, |w| w.0)
    }

    fn error(&self, message: impl std::fmt::Display) -> Error {
        Error::invalid(
            format!("{}:{}: {message}", self.label, self.line()),
            "BVH files start with HIERARCHY (ROOT, JOINT, OFFSET, CHANNELS, End Site) and \
             then MOTION (Frames:, Frame Time:, one line of numbers per frame)",
        )
    }

    fn next(&mut self, what: &str) -> Result<&'a str> {
        match self.words.get(self.at) {
            Some((_, w)) => {
                self.at += 1;
                Ok(w)
            }
            None => Err(self.error(format!("the file ends where {what} should be"))),
        }
    }

    fn expect(&mut self, word: &str) -> Result<()> {
        let line = self.line();
        let got = self.next(&format!("`{word}`"))?;
        if got.eq_ignore_ascii_case(word) {
            Ok(())
        } else {
            self.at -= 1;
            let _ = line;
            Err(self.error(format!("expected `{word}`, found `{got}`")))
        }
    }

    fn number(&mut self, what: &str) -> Result<f64> {
        let w = self.next(what)?;
        match w.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => {
                self.at -= 1;
                Err(self.error(format!("expected {what} (a number), found `{w}`")))
            }
        }
    }
}

/// Parses BVH text; `label` names the file in errors.
pub fn parse_bvh(label: &str, text: &str) -> Result<Bvh> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let words: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .flat_map(|(i, l)| l.split_whitespace().map(move |w| (i + 1, w)))
        .collect();
    let mut t = Tokens {
        label,
        words,
        at: 0,
    };
    t.expect("HIERARCHY")?;
    t.expect("ROOT")?;
    let mut joints = Vec::new();
    let mut columns = 0usize;
    read_joint(&mut t, None, &mut joints, &mut columns)?;
    t.expect("MOTION")?;
    t.expect("Frames:")?;
    let count = t.number("the frame count")?;
    if count < 1.0 || count.fract() != 0.0 || count as usize > MAX_FRAMES {
        t.at -= 1;
        return Err(t.error(format!(
            "the frame count {count} is not a whole number from 1 to {MAX_FRAMES}"
        )));
    }
    t.expect("Frame")?;
    t.expect("Time:")?;
    let frame_time = t.number("the frame time")?;
    if !(1e-4..=10.0).contains(&frame_time) {
        t.at -= 1;
        return Err(t.error(format!(
            "a frame time of {frame_time} s is out of range (0.0001 to 10)"
        )));
    }
    let mut frames = Vec::with_capacity(count as usize);
    for f in 0..count as usize {
        let line = t.line();
        let mut values = Vec::with_capacity(columns);
        for _ in 0..columns {
            if t.words.get(t.at).is_some_and(|w| w.0 != line) && !values.is_empty() {
                return Err(t.error(format!(
                    "frame {} has {} values, but the hierarchy has {columns} channels",
                    f + 1,
                    values.len()
                )));
            }
            values.push(t.number(&format!("a value of frame {}", f + 1))?);
        }
        frames.push(values);
    }
    if t.at < t.words.len() {
        return Err(t.error(format!(
            "more values than {count} frames of {columns} channels"
        )));
    }
    Ok(Bvh {
        joints,
        frame_time,
        frames,
    })
}

fn read_joint(
    t: &mut Tokens,
    parent: Option<usize>,
    joints: &mut Vec<BvhJoint>,
    columns: &mut usize,
) -> Result<()> {
    let name = t.next("a joint name")?.to_string();
    if joints.iter().any(|j: &BvhJoint| j.name == name) {
        t.at -= 1;
        return Err(t.error(format!("joint `{name}` appears twice")));
    }
    t.expect("{")?;
    t.expect("OFFSET")?;
    let offset = [
        t.number("the OFFSET's x")?,
        t.number("the OFFSET's y")?,
        t.number("the OFFSET's z")?,
    ];
    t.expect("CHANNELS")?;
    let n = t.number("the channel count")?;
    if !(0.0..=6.0).contains(&n) || n.fract() != 0.0 {
        t.at -= 1;
        return Err(t.error(format!("a joint has 0 to 6 channels, not {n}")));
    }
    let mut channels = Vec::new();
    for _ in 0..n as usize {
        let w = t.next("a channel name")?;
        let c = match w.to_ascii_lowercase().as_str() {
            "xposition" => Channel::Position(0),
            "yposition" => Channel::Position(1),
            "zposition" => Channel::Position(2),
            "xrotation" => Channel::Rotation(0),
            "yrotation" => Channel::Rotation(1),
            "zrotation" => Channel::Rotation(2),
            _ => {
                t.at -= 1;
                return Err(t.error(format!(
                    "`{w}` is not a channel (Xposition, Yposition, Zposition, Xrotation, Yrotation, Zrotation)"
                )));
            }
        };
        channels.push((c, *columns));
        *columns += 1;
    }
    let index = joints.len();
    joints.push(BvhJoint {
        name,
        parent,
        offset,
        channels,
        end: None,
    });
    loop {
        let w = t.next("`JOINT`, `End Site` or `}`")?;
        match w {
            "}" => return Ok(()),
            "JOINT" => read_joint(t, Some(index), joints, columns)?,
            "End" => {
                t.expect("Site")?;
                t.expect("{")?;
                t.expect("OFFSET")?;
                joints[index].end = Some([
                    t.number("the OFFSET's x")?,
                    t.number("the OFFSET's y")?,
                    t.number("the OFFSET's z")?,
                ]);
                t.expect("}")?;
            }
            other => {
                t.at -= 1;
                return Err(t.error(format!(
                    "expected `JOINT`, `End Site` or `}}`, found `{other}`"
                )));
            }
        }
    }
}

/// A rotation about one axis, in degrees, as a 3×3 matrix.
fn axis_rotation(axis: usize, degrees: f64) -> [[f64; 3]; 3] {
    let (s, c) = degrees.to_radians().sin_cos();
    match axis {
        0 => [[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]],
        1 => [[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]],
        _ => [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]],
    }
}

fn mul(a: &[[f64; 3]; 3], b: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let mut out = [[0.0; 3]; 3];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    out
}

fn apply(m: &[[f64; 3]; 3], v: [f64; 3]) -> [f64; 3] {
    [0, 1, 2].map(|i| m[i][0] * v[0] + m[i][1] * v[1] + m[i][2] * v[2])
}

impl Bvh {
    /// Seconds from the first frame to the last.
    pub fn duration(&self) -> f64 {
        (self.frames.len().saturating_sub(1)) as f64 * self.frame_time
    }

    pub fn index(&self, name: &str) -> Option<usize> {
        self.joints.iter().position(|j| j.name == name)
    }

    /// World positions of every joint, and of every end site, in frame `f` (rotations
    /// applied in the order the channels are listed, as BVH means them).
    pub fn pose(&self, f: usize) -> (Vec<[f64; 3]>, Vec<Option<[f64; 3]>>) {
        let values = &self.frames[f.min(self.frames.len() - 1)];
        let n = self.joints.len();
        let mut rot = vec![[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]; n];
        let mut pos = vec![[0.0; 3]; n];
        let mut ends = vec![None; n];
        for (i, j) in self.joints.iter().enumerate() {
            let mut local = j.offset;
            let mut r = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
            for &(c, col) in &j.channels {
                match c {
                    Channel::Position(a) => local[a] += values[col],
                    Channel::Rotation(a) => r = mul(&r, &axis_rotation(a, values[col])),
                }
            }
            // A root's position channels replace its offset in most exporters' files;
            // adding both is what readers do, and exporters write a zero offset then.
            let (prot, ppos) = match j.parent {
                Some(p) => (rot[p], pos[p]),
                None => (rot[i], [0.0; 3]),
            };
            let moved = apply(&prot, local);
            pos[i] = [ppos[0] + moved[0], ppos[1] + moved[1], ppos[2] + moved[2]];
            rot[i] = mul(&prot, &r);
            if let Some(e) = j.end {
                let d = apply(&rot[i], e);
                ends[i] = Some([pos[i][0] + d[0], pos[i][1] + d[1], pos[i][2] + d[2]]);
            }
        }
        (pos, ends)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = "HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Leg
  {
    OFFSET 0 -10 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 -10 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.5
0 20 0 0 0 0 0 0 0
0 20 0 0 0 0 0 90 0
";

    #[test]
    fn joints_channels_and_forward_kinematics() {
        let b = parse_bvh("two.bvh", TWO).unwrap();
        assert_eq!(b.joints.len(), 2);
        assert_eq!(b.joints[1].parent, Some(0));
        assert_eq!(b.duration(), 0.5);
        let (p, e) = b.pose(0);
        assert_eq!(p[1], [0.0, 10.0, 0.0]);
        assert_eq!(e[1], Some([0.0, 0.0, 0.0]));
        // Xrotation 90° on the leg turns its end toward -z... (y → z).
        let (_, e) = b.pose(1);
        let end = e[1].unwrap();
        assert!(
            (end[1] - 10.0).abs() < 1e-9 && (end[2] + 10.0).abs() < 1e-9,
            "{end:?}"
        );
    }

    #[test]
    fn mistakes_name_the_line() {
        let e = parse_bvh(
            "x.bvh",
            &TWO.replace(
                "OFFSET 0 -10 0\n    CHANNELS",
                "OFSET 0 -10 0\n    CHANNELS",
            ),
        )
        .unwrap_err();
        assert!(
            e.message
                .starts_with("x.bvh:8: expected `OFFSET`, found `OFSET`"),
            "{e}"
        );
        let e = parse_bvh(
            "x.bvh",
            &TWO.replace("0 20 0 0 0 0 0 90 0", "0 20 0 0 0 0 0 90"),
        )
        .unwrap_err();
        assert!(
            e.message.contains("x.bvh:20:") && e.message.contains("the file ends"),
            "{e}"
        );
        let e = parse_bvh(
            "x.bvh",
            &TWO.replace(
                "Xrotation Yrotation\n    End",
                "Xrotation Wrotation\n    End",
            ),
        )
        .unwrap_err();
        assert!(e.message.contains("`Wrotation` is not a channel"), "{e}");
        let e = parse_bvh(
            "x.bvh",
            &TWO.replace("0 20 0 0 0 0 0 0 0\n", "0 20 0 0 0 0 0 0\n"),
        )
        .unwrap_err();
        assert!(e.message.contains("frame 1 has 8 values"), "{e}");
        assert!(parse_bvh("x.bvh", "").is_err());
    }
}
