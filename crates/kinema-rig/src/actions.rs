//! The supported actions: names and words in English and Chinese, and their keyframes
//! for humanoid and body-chain rigs.

use crate::motion::{Channel::*, Ease, Motion, Track};

/// What an action is called and how it behaves; the catalogue users see in `--help`.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct ActionInfo {
    pub name: &'static str,
    pub english: &'static [&'static str],
    pub chinese: &'static [&'static str],
    /// A cycle (idle, walk…) rather than a one-shot (attack, die…).
    pub looping: bool,
    pub summary: &'static str,
}

/// An action with its keyframes for each rig kind.
pub struct ActionDef {
    pub info: ActionInfo,
    /// Seconds of one cycle (or of the whole one-shot) at normal speed.
    pub seconds: f32,
    pub humanoid: Motion,
    pub chain: Motion,
}

const fn tr(channel: crate::motion::Channel, keys: &'static [(f32, f32)]) -> Track {
    Track { channel, keys }
}

const fn info(
    name: &'static str,
    english: &'static [&'static str],
    chinese: &'static [&'static str],
    looping: bool,
    summary: &'static str,
) -> ActionInfo {
    ActionInfo {
        name,
        english,
        chinese,
        looping,
        summary,
    }
}

const SPLINE: Ease = Ease::Spline;
const SMOOTH: Ease = Ease::Smooth;

pub static ACTIONS: [ActionDef; 18] = [
    ActionDef {
        info: info(
            "idle",
            &[
                "idle",
                "idles",
                "idling",
                "breathe",
                "breathes",
                "breathing",
                "stand",
                "stands",
                "standing",
                "rest",
                "wait",
                "waits",
                "waiting",
            ],
            &["待机", "站立", "站着", "呼吸", "休息", "等待", "发呆"],
            true,
            "stands and breathes",
        ),
        seconds: 2.5,
        humanoid: Motion {
            ease: SPLINE,
            tracks: &[
                tr(SquashY, &[(0.0, 0.0), (0.5, 0.018), (1.0, 0.0)]),
                tr(Neck, &[(0.0, 0.0), (0.5, 2.5), (1.0, 0.0)]),
                tr(ArmL, &[(0.0, 0.0), (0.5, -3.0), (1.0, 0.0)]),
                tr(ArmR, &[(0.0, 0.0), (0.5, 3.0), (1.0, 0.0)]),
            ],
        },
        chain: Motion {
            ease: SPLINE,
            tracks: &[
                tr(SquashY, &[(0.0, 0.0), (0.5, 0.03), (1.0, 0.0)]),
                tr(Neck, &[(0.0, 0.0), (0.5, 2.0), (1.0, 0.0)]),
                tr(
                    Flap,
                    &[
                        (0.0, 0.0),
                        (0.25, 10.0),
                        (0.5, 0.0),
                        (0.75, 10.0),
                        (1.0, 0.0),
                    ],
                ),
            ],
        },
    },
    ActionDef {
        info: info(
            "walk",
            &[
                "walk",
                "walks",
                "walking",
                "walked",
                "stroll",
                "strolls",
                "strolling",
                "step",
                "steps",
                "march",
                "marches",
                "marching",
            ],
            &["走路", "行走", "走", "散步", "步行", "前进"],
            true,
            "walk cycle in place (body rigs hop)",
        ),
        seconds: 1.0,
        humanoid: Motion {
            ease: SPLINE,
            tracks: &[
                tr(
                    LegL,
                    &[
                        (0.0, 0.0),
                        (0.25, 24.0),
                        (0.5, 0.0),
                        (0.75, -24.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    LegR,
                    &[
                        (0.0, 0.0),
                        (0.25, -24.0),
                        (0.5, 0.0),
                        (0.75, 24.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    KneeL,
                    &[
                        (0.0, -18.0),
                        (0.25, -4.0),
                        (0.5, 0.0),
                        (0.75, -4.0),
                        (1.0, -18.0),
                    ],
                ),
                tr(
                    KneeR,
                    &[
                        (0.0, 0.0),
                        (0.25, -4.0),
                        (0.5, -18.0),
                        (0.75, -4.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    ArmL,
                    &[
                        (0.0, 0.0),
                        (0.25, -18.0),
                        (0.5, 0.0),
                        (0.75, 18.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    ArmR,
                    &[
                        (0.0, 0.0),
                        (0.25, 18.0),
                        (0.5, 0.0),
                        (0.75, -18.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    RootY,
                    &[
                        (0.0, 0.015),
                        (0.25, -0.008),
                        (0.5, 0.015),
                        (0.75, -0.008),
                        (1.0, 0.015),
                    ],
                ),
                tr(Spine, &[(0.0, 3.0), (1.0, 3.0)]),
            ],
        },
        chain: Motion {
            ease: SPLINE,
            tracks: &[
                tr(
                    RootY,
                    &[
                        (0.0, 0.0),
                        (0.25, 0.06),
                        (0.5, 0.0),
                        (0.75, 0.06),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    SquashY,
                    &[
                        (0.0, -0.06),
                        (0.125, 0.04),
                        (0.25, 0.0),
                        (0.375, 0.04),
                        (0.5, -0.06),
                        (0.625, 0.04),
                        (0.75, 0.0),
                        (0.875, 0.04),
                        (1.0, -0.06),
                    ],
                ),
                tr(Spine, &[(0.0, 5.0), (0.5, 8.0), (1.0, 5.0)]),
                tr(
                    Flap,
                    &[
                        (0.0, 0.0),
                        (0.25, 15.0),
                        (0.5, 0.0),
                        (0.75, 15.0),
                        (1.0, 0.0),
                    ],
                ),
            ],
        },
    },
    ActionDef {
        info: info(
            "run",
            &[
                "run",
                "runs",
                "running",
                "ran",
                "sprint",
                "sprints",
                "sprinting",
                "dash",
                "dashes",
                "jog",
                "jogs",
                "jogging",
                "rush",
            ],
            &["奔跑", "跑步", "跑", "冲刺", "快跑", "飞奔"],
            true,
            "run cycle in place, leaning forward",
        ),
        seconds: 0.6,
        humanoid: Motion {
            ease: SPLINE,
            // Starts at full stride, where the cycle moves slowest, so loop seams are smooth.
            tracks: &[
                tr(
                    LegL,
                    &[
                        (0.0, 40.0),
                        (0.25, 0.0),
                        (0.5, -38.0),
                        (0.75, 0.0),
                        (1.0, 40.0),
                    ],
                ),
                tr(
                    LegR,
                    &[
                        (0.0, -38.0),
                        (0.25, 0.0),
                        (0.5, 40.0),
                        (0.75, 0.0),
                        (1.0, -38.0),
                    ],
                ),
                tr(
                    KneeL,
                    &[
                        (0.0, -5.0),
                        (0.25, -10.0),
                        (0.5, -55.0),
                        (0.75, -10.0),
                        (1.0, -5.0),
                    ],
                ),
                tr(
                    KneeR,
                    &[
                        (0.0, -55.0),
                        (0.25, -10.0),
                        (0.5, -5.0),
                        (0.75, -10.0),
                        (1.0, -55.0),
                    ],
                ),
                tr(
                    ArmL,
                    &[
                        (0.0, -35.0),
                        (0.25, 0.0),
                        (0.5, 35.0),
                        (0.75, 0.0),
                        (1.0, -35.0),
                    ],
                ),
                tr(
                    ArmR,
                    &[
                        (0.0, 35.0),
                        (0.25, 0.0),
                        (0.5, -35.0),
                        (0.75, 0.0),
                        (1.0, 35.0),
                    ],
                ),
                tr(ElbowL, &[(0.0, 50.0), (1.0, 50.0)]),
                tr(ElbowR, &[(0.0, 50.0), (1.0, 50.0)]),
                tr(
                    RootY,
                    &[
                        (0.0, 0.0),
                        (0.25, 0.04),
                        (0.5, 0.0),
                        (0.75, 0.04),
                        (1.0, 0.0),
                    ],
                ),
                tr(Spine, &[(0.0, 10.0), (1.0, 10.0)]),
            ],
        },
        chain: Motion {
            ease: SPLINE,
            tracks: &[
                tr(
                    RootY,
                    &[(0.0, 0.0), (0.25, 0.1), (0.5, 0.0), (0.75, 0.1), (1.0, 0.0)],
                ),
                tr(
                    SquashY,
                    &[
                        (0.0, -0.1),
                        (0.125, 0.08),
                        (0.25, 0.0),
                        (0.375, 0.08),
                        (0.5, -0.1),
                        (0.625, 0.08),
                        (0.75, 0.0),
                        (0.875, 0.08),
                        (1.0, -0.1),
                    ],
                ),
                tr(Spine, &[(0.0, 12.0), (0.5, 16.0), (1.0, 12.0)]),
                tr(
                    Flap,
                    &[
                        (0.0, 0.0),
                        (0.25, 25.0),
                        (0.5, 0.0),
                        (0.75, 25.0),
                        (1.0, 0.0),
                    ],
                ),
            ],
        },
    },
    ActionDef {
        info: info(
            "jump",
            &[
                "jump", "jumps", "jumping", "jumped", "leap", "leaps", "leaping", "hop", "hops",
                "hopping",
            ],
            &["跳跃", "跳起", "起跳", "跳"],
            false,
            "crouch, leap up, land",
        ),
        seconds: 1.0,
        humanoid: Motion {
            ease: SPLINE,
            tracks: &[
                tr(
                    SquashY,
                    &[
                        (0.0, 0.0),
                        (0.2, -0.1),
                        (0.35, 0.05),
                        (0.6, 0.0),
                        (0.8, -0.08),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    RootY,
                    &[
                        (0.0, 0.0),
                        (0.2, 0.0),
                        (0.35, 0.18),
                        (0.5, 0.26),
                        (0.65, 0.18),
                        (0.8, 0.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    ArmL,
                    &[
                        (0.0, 0.0),
                        (0.2, 20.0),
                        (0.45, -70.0),
                        (0.8, -20.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    ArmR,
                    &[
                        (0.0, 0.0),
                        (0.2, -20.0),
                        (0.45, 70.0),
                        (0.8, 20.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(LegL, &[(0.0, 0.0), (0.45, 12.0), (0.8, 0.0), (1.0, 0.0)]),
                tr(LegR, &[(0.0, 0.0), (0.45, -8.0), (0.8, 0.0), (1.0, 0.0)]),
                tr(KneeL, &[(0.0, 0.0), (0.45, -25.0), (0.8, 0.0), (1.0, 0.0)]),
                tr(KneeR, &[(0.0, 0.0), (0.45, -20.0), (0.8, 0.0), (1.0, 0.0)]),
            ],
        },
        chain: Motion {
            ease: SPLINE,
            tracks: &[
                tr(
                    SquashY,
                    &[
                        (0.0, 0.0),
                        (0.2, -0.2),
                        (0.35, 0.15),
                        (0.6, 0.0),
                        (0.8, -0.18),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    RootY,
                    &[
                        (0.0, 0.0),
                        (0.2, 0.0),
                        (0.35, 0.18),
                        (0.5, 0.26),
                        (0.65, 0.18),
                        (0.8, 0.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    Flap,
                    &[
                        (0.0, 0.0),
                        (0.35, 30.0),
                        (0.45, 0.0),
                        (0.55, 30.0),
                        (0.65, 0.0),
                        (1.0, 0.0),
                    ],
                ),
            ],
        },
    },
    ActionDef {
        info: info(
            "wave",
            &[
                "wave", "waves", "waving", "waved", "hello", "hi", "greet", "greets", "greeting",
                "bye", "goodbye",
            ],
            &["挥手", "招手", "打招呼", "问好", "再见", "你好"],
            false,
            "raises the front arm and waves",
        ),
        seconds: 1.6,
        humanoid: Motion {
            ease: SPLINE,
            tracks: &[
                tr(ArmR, &[(0.0, 0.0), (0.2, 125.0), (0.8, 125.0), (1.0, 0.0)]),
                tr(
                    ElbowR,
                    &[
                        (0.0, 0.0),
                        (0.2, 10.0),
                        (0.32, 40.0),
                        (0.44, 0.0),
                        (0.56, 40.0),
                        (0.68, 0.0),
                        (0.8, 20.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(Neck, &[(0.0, 0.0), (0.3, 5.0), (0.8, 5.0), (1.0, 0.0)]),
                tr(Spine, &[(0.0, 0.0), (0.3, -3.0), (0.8, -3.0), (1.0, 0.0)]),
            ],
        },
        chain: Motion {
            ease: SPLINE,
            tracks: &[
                tr(
                    Neck,
                    &[
                        (0.0, 0.0),
                        (0.2, 14.0),
                        (0.4, -14.0),
                        (0.6, 14.0),
                        (0.8, -14.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    Spine,
                    &[
                        (0.0, 0.0),
                        (0.2, 4.0),
                        (0.4, -4.0),
                        (0.6, 4.0),
                        (0.8, -4.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    Flap,
                    &[
                        (0.0, 0.0),
                        (0.2, 20.0),
                        (0.4, 0.0),
                        (0.6, 20.0),
                        (0.8, 0.0),
                        (1.0, 0.0),
                    ],
                ),
            ],
        },
    },
    ActionDef {
        info: info(
            "attack",
            &[
                "attack",
                "attacks",
                "attacking",
                "swing",
                "swings",
                "swinging",
                "slash",
                "slashes",
                "slashing",
                "strike",
                "strikes",
                "striking",
                "sword",
                "hit",
                "hits",
                "chop",
                "chops",
                "fight",
                "fights",
                "lunge",
                "lunges",
            ],
            &["攻击", "挥剑", "砍", "劈", "斩", "挥砍", "出击", "打击"],
            false,
            "winds up and swings a weapon (body rigs lunge)",
        ),
        seconds: 1.0,
        humanoid: Motion {
            ease: SMOOTH,
            tracks: &[
                tr(
                    ArmR,
                    &[
                        (0.0, 0.0),
                        (0.35, -150.0),
                        (0.55, 60.0),
                        (0.75, 60.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    ElbowR,
                    &[(0.0, 0.0), (0.35, -30.0), (0.55, 0.0), (1.0, 0.0)],
                ),
                tr(ArmL, &[(0.0, 0.0), (0.35, 20.0), (0.55, -25.0), (1.0, 0.0)]),
                tr(
                    Spine,
                    &[
                        (0.0, 0.0),
                        (0.35, -8.0),
                        (0.55, 12.0),
                        (0.75, 10.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    RootX,
                    &[
                        (0.0, 0.0),
                        (0.35, -0.02),
                        (0.55, 0.04),
                        (0.75, 0.04),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    LegL,
                    &[(0.0, 0.0), (0.55, -12.0), (0.75, -12.0), (1.0, 0.0)],
                ),
                tr(LegR, &[(0.0, 0.0), (0.55, 14.0), (0.75, 14.0), (1.0, 0.0)]),
            ],
        },
        chain: Motion {
            ease: SMOOTH,
            tracks: &[
                tr(
                    Spine,
                    &[
                        (0.0, 0.0),
                        (0.35, -12.0),
                        (0.55, 22.0),
                        (0.75, 18.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    SquashX,
                    &[
                        (0.0, 0.0),
                        (0.35, -0.08),
                        (0.55, 0.16),
                        (0.75, 0.1),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    RootX,
                    &[
                        (0.0, 0.0),
                        (0.35, -0.05),
                        (0.55, 0.14),
                        (0.75, 0.12),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    SquashY,
                    &[(0.0, 0.0), (0.35, -0.1), (0.55, -0.05), (1.0, 0.0)],
                ),
            ],
        },
    },
    ActionDef {
        info: info(
            "punch",
            &[
                "punch", "punches", "punching", "punched", "jab", "jabs", "box", "boxing",
            ],
            &["出拳", "拳击", "打拳", "揍", "拳"],
            false,
            "a straight punch with the front arm",
        ),
        seconds: 0.8,
        humanoid: Motion {
            ease: SMOOTH,
            tracks: &[
                tr(
                    ArmR,
                    &[
                        (0.0, 0.0),
                        (0.25, -25.0),
                        (0.45, 90.0),
                        (0.65, 90.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    ElbowR,
                    &[
                        (0.0, 0.0),
                        (0.25, 100.0),
                        (0.45, 0.0),
                        (0.65, 0.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(ArmL, &[(0.0, 0.0), (0.25, 30.0), (0.45, -20.0), (1.0, 0.0)]),
                tr(
                    ElbowL,
                    &[(0.0, 0.0), (0.25, 60.0), (0.45, 40.0), (1.0, 0.0)],
                ),
                tr(
                    Spine,
                    &[
                        (0.0, 0.0),
                        (0.25, -4.0),
                        (0.45, 10.0),
                        (0.65, 8.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(RootX, &[(0.0, 0.0), (0.45, 0.03), (0.65, 0.03), (1.0, 0.0)]),
            ],
        },
        chain: Motion {
            ease: SMOOTH,
            tracks: &[
                tr(
                    Spine,
                    &[
                        (0.0, 0.0),
                        (0.25, -8.0),
                        (0.45, 18.0),
                        (0.65, 14.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    RootX,
                    &[
                        (0.0, 0.0),
                        (0.25, -0.03),
                        (0.45, 0.1),
                        (0.65, 0.08),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    SquashX,
                    &[(0.0, 0.0), (0.25, -0.06), (0.45, 0.12), (1.0, 0.0)],
                ),
            ],
        },
    },
    ActionDef {
        info: info(
            "kick",
            &["kick", "kicks", "kicking", "kicked"],
            &["踢腿", "踢", "飞踢"],
            false,
            "a front kick",
        ),
        seconds: 0.9,
        humanoid: Motion {
            ease: SMOOTH,
            tracks: &[
                tr(
                    LegR,
                    &[
                        (0.0, 0.0),
                        (0.3, -20.0),
                        (0.5, 75.0),
                        (0.65, 75.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    KneeR,
                    &[
                        (0.0, 0.0),
                        (0.3, -50.0),
                        (0.5, 0.0),
                        (0.65, 0.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(LegL, &[(0.0, 0.0), (0.5, -8.0), (1.0, 0.0)]),
                tr(
                    Spine,
                    &[
                        (0.0, 0.0),
                        (0.3, 4.0),
                        (0.5, -12.0),
                        (0.65, -10.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(ArmL, &[(0.0, 0.0), (0.5, -35.0), (1.0, 0.0)]),
                tr(ArmR, &[(0.0, 0.0), (0.5, 30.0), (1.0, 0.0)]),
            ],
        },
        chain: Motion {
            ease: SMOOTH,
            tracks: &[
                tr(
                    RootRot,
                    &[
                        (0.0, 0.0),
                        (0.3, -8.0),
                        (0.5, 15.0),
                        (0.65, 12.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    RootX,
                    &[
                        (0.0, 0.0),
                        (0.3, -0.03),
                        (0.5, 0.1),
                        (0.65, 0.08),
                        (1.0, 0.0),
                    ],
                ),
                tr(SquashY, &[(0.0, 0.0), (0.3, -0.1), (0.5, 0.06), (1.0, 0.0)]),
            ],
        },
    },
    ActionDef {
        info: info(
            "crouch",
            &[
                "crouch",
                "crouches",
                "crouching",
                "squat",
                "squats",
                "squatting",
                "duck",
                "ducks",
                "ducking",
                "kneel",
                "sneak",
                "sneaks",
            ],
            &["蹲下", "下蹲", "蹲", "趴下", "潜行"],
            false,
            "squats down and stays low",
        ),
        seconds: 1.0,
        humanoid: Motion {
            ease: SMOOTH,
            tracks: &[
                tr(SquashY, &[(0.0, 0.0), (0.4, -0.22), (1.0, -0.22)]),
                tr(SquashX, &[(0.0, 0.0), (0.4, -0.05), (1.0, -0.05)]),
                tr(Spine, &[(0.0, 0.0), (0.4, 12.0), (1.0, 12.0)]),
                tr(ArmL, &[(0.0, 0.0), (0.4, 20.0), (1.0, 20.0)]),
                tr(ArmR, &[(0.0, 0.0), (0.4, 25.0), (1.0, 25.0)]),
            ],
        },
        chain: Motion {
            ease: SMOOTH,
            tracks: &[
                tr(SquashY, &[(0.0, 0.0), (0.4, -0.3), (1.0, -0.3)]),
                tr(SquashX, &[(0.0, 0.0), (0.4, 0.05), (1.0, 0.05)]),
            ],
        },
    },
    ActionDef {
        info: info(
            "hurt",
            &[
                "hurt",
                "hurts",
                "hit-react",
                "damaged",
                "damage",
                "flinch",
                "flinches",
                "ouch",
                "injured",
                "pain",
                "recoil",
                "stagger",
            ],
            &["受伤", "受击", "被打", "挨打", "疼", "痛"],
            false,
            "recoils from a hit",
        ),
        seconds: 0.7,
        humanoid: Motion {
            ease: SPLINE,
            tracks: &[
                tr(
                    Spine,
                    &[(0.0, 0.0), (0.15, -16.0), (0.4, -10.0), (1.0, 0.0)],
                ),
                tr(Neck, &[(0.0, 0.0), (0.15, -12.0), (0.4, -6.0), (1.0, 0.0)]),
                tr(
                    RootX,
                    &[(0.0, 0.0), (0.15, -0.05), (0.4, -0.04), (1.0, 0.0)],
                ),
                tr(ArmL, &[(0.0, 0.0), (0.15, -35.0), (0.4, -15.0), (1.0, 0.0)]),
                tr(ArmR, &[(0.0, 0.0), (0.15, 30.0), (0.4, 10.0), (1.0, 0.0)]),
                tr(
                    SquashY,
                    &[(0.0, 0.0), (0.15, -0.05), (0.4, -0.02), (1.0, 0.0)],
                ),
            ],
        },
        chain: Motion {
            ease: SPLINE,
            tracks: &[
                tr(Spine, &[(0.0, 0.0), (0.15, -18.0), (0.4, -8.0), (1.0, 0.0)]),
                tr(
                    RootX,
                    &[(0.0, 0.0), (0.15, -0.07), (0.4, -0.05), (1.0, 0.0)],
                ),
                tr(
                    SquashX,
                    &[
                        (0.0, 0.0),
                        (0.15, -0.12),
                        (0.3, 0.08),
                        (0.5, -0.04),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    SquashY,
                    &[
                        (0.0, 0.0),
                        (0.15, 0.1),
                        (0.3, -0.08),
                        (0.5, 0.03),
                        (1.0, 0.0),
                    ],
                ),
            ],
        },
    },
    ActionDef {
        info: info(
            "die",
            &[
                "die",
                "dies",
                "dying",
                "died",
                "death",
                "dead",
                "faint",
                "faints",
                "collapse",
                "collapses",
                "fall",
                "falls",
                "ko",
                "defeated",
            ],
            &["死亡", "死去", "倒下", "阵亡", "死", "晕倒", "昏倒"],
            false,
            "staggers and falls over (body rigs flatten)",
        ),
        seconds: 1.4,
        humanoid: Motion {
            ease: SPLINE,
            tracks: &[
                tr(Spine, &[(0.0, 0.0), (0.15, -15.0), (0.5, 10.0), (1.0, 5.0)]),
                tr(Neck, &[(0.0, 0.0), (0.15, -10.0), (0.7, 10.0), (1.0, 10.0)]),
                tr(
                    RootRot,
                    &[
                        (0.0, 0.0),
                        (0.3, -10.0),
                        (0.75, -78.0),
                        (0.88, -72.0),
                        (1.0, -76.0),
                    ],
                ),
                tr(
                    SquashY,
                    &[(0.0, 0.0), (0.3, -0.15), (0.75, -0.3), (1.0, -0.3)],
                ),
                tr(
                    ArmL,
                    &[(0.0, 0.0), (0.3, -40.0), (0.75, -60.0), (1.0, -50.0)],
                ),
                tr(ArmR, &[(0.0, 0.0), (0.3, 40.0), (0.75, 30.0), (1.0, 25.0)]),
                tr(LegR, &[(0.0, 0.0), (0.5, 20.0), (1.0, 10.0)]),
            ],
        },
        chain: Motion {
            ease: SPLINE,
            tracks: &[
                tr(
                    SquashY,
                    &[
                        (0.0, 0.0),
                        (0.15, 0.1),
                        (0.6, -0.55),
                        (0.8, -0.5),
                        (1.0, -0.55),
                    ],
                ),
                tr(
                    SquashX,
                    &[(0.0, 0.0), (0.15, -0.05), (0.6, 0.25), (1.0, 0.25)],
                ),
                tr(
                    RootRot,
                    &[(0.0, 0.0), (0.15, -8.0), (0.6, 10.0), (1.0, 8.0)],
                ),
                tr(Spine, &[(0.0, 0.0), (0.15, -10.0), (0.6, 0.0), (1.0, 0.0)]),
            ],
        },
    },
    ActionDef {
        info: info(
            "cast",
            &[
                "cast", "casts", "casting", "spell", "magic", "conjure", "conjures", "summon",
                "summons", "channel",
            ],
            &["施法", "释放法术", "魔法", "念咒", "召唤", "法术"],
            false,
            "raises both hands and casts a spell",
        ),
        seconds: 1.4,
        humanoid: Motion {
            ease: SPLINE,
            tracks: &[
                tr(
                    ArmR,
                    &[
                        (0.0, 0.0),
                        (0.3, 110.0),
                        (0.5, 95.0),
                        (0.7, 110.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    ArmL,
                    &[
                        (0.0, 0.0),
                        (0.3, 70.0),
                        (0.5, 55.0),
                        (0.7, 70.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    ElbowR,
                    &[(0.0, 0.0), (0.3, 20.0), (0.5, 0.0), (0.7, 10.0), (1.0, 0.0)],
                ),
                tr(ElbowL, &[(0.0, 0.0), (0.3, 30.0), (0.7, 20.0), (1.0, 0.0)]),
                tr(
                    Spine,
                    &[(0.0, 0.0), (0.3, -6.0), (0.5, 4.0), (0.7, -4.0), (1.0, 0.0)],
                ),
                tr(RootY, &[(0.0, 0.0), (0.5, 0.03), (1.0, 0.0)]),
            ],
        },
        chain: Motion {
            ease: SPLINE,
            tracks: &[
                tr(
                    SquashY,
                    &[
                        (0.0, 0.0),
                        (0.3, 0.12),
                        (0.5, -0.05),
                        (0.7, 0.1),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    Neck,
                    &[(0.0, 0.0), (0.3, -8.0), (0.5, 8.0), (0.7, -8.0), (1.0, 0.0)],
                ),
                tr(RootY, &[(0.0, 0.0), (0.5, 0.05), (1.0, 0.0)]),
                tr(
                    Flap,
                    &[
                        (0.0, 0.0),
                        (0.25, 20.0),
                        (0.5, 0.0),
                        (0.75, 20.0),
                        (1.0, 0.0),
                    ],
                ),
            ],
        },
    },
    ActionDef {
        info: info(
            "cheer",
            &[
                "cheer",
                "cheers",
                "cheering",
                "celebrate",
                "celebrates",
                "celebrating",
                "victory",
                "win",
                "wins",
                "hooray",
                "yay",
                "happy",
            ],
            &["欢呼", "庆祝", "胜利", "高兴", "开心", "耶"],
            true,
            "arms up, bouncing with joy",
        ),
        seconds: 0.8,
        humanoid: Motion {
            ease: SPLINE,
            tracks: &[
                tr(ArmL, &[(0.0, -150.0), (0.5, -165.0), (1.0, -150.0)]),
                tr(ArmR, &[(0.0, 150.0), (0.5, 165.0), (1.0, 150.0)]),
                tr(ElbowL, &[(0.0, -10.0), (0.5, 10.0), (1.0, -10.0)]),
                tr(ElbowR, &[(0.0, 10.0), (0.5, -10.0), (1.0, 10.0)]),
                tr(
                    RootY,
                    &[
                        (0.0, 0.0),
                        (0.25, 0.045),
                        (0.5, 0.06),
                        (0.75, 0.045),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    SquashY,
                    &[
                        (0.0, -0.04),
                        (0.2, 0.03),
                        (0.5, 0.0),
                        (0.8, 0.03),
                        (1.0, -0.04),
                    ],
                ),
            ],
        },
        chain: Motion {
            ease: SPLINE,
            tracks: &[
                tr(
                    RootY,
                    &[
                        (0.0, 0.0),
                        (0.25, 0.08),
                        (0.5, 0.1),
                        (0.75, 0.08),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    SquashY,
                    &[(0.0, -0.1), (0.2, 0.1), (0.5, 0.0), (0.8, 0.1), (1.0, -0.1)],
                ),
                tr(Neck, &[(0.0, -6.0), (0.5, 6.0), (1.0, -6.0)]),
                tr(
                    Flap,
                    &[
                        (0.0, 0.0),
                        (0.25, 25.0),
                        (0.5, 0.0),
                        (0.75, 25.0),
                        (1.0, 0.0),
                    ],
                ),
            ],
        },
    },
    ActionDef {
        info: info(
            "dance",
            &[
                "dance", "dances", "dancing", "danced", "groove", "grooves", "boogie", "party",
            ],
            &["跳舞", "舞蹈", "扭动", "摇摆"],
            true,
            "sways, bobs and swings the arms",
        ),
        seconds: 1.2,
        humanoid: Motion {
            ease: SPLINE,
            tracks: &[
                tr(
                    Spine,
                    &[
                        (0.0, 0.0),
                        (0.25, 10.0),
                        (0.5, 0.0),
                        (0.75, -10.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    Neck,
                    &[
                        (0.0, 0.0),
                        (0.25, -8.0),
                        (0.5, 0.0),
                        (0.75, 8.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(ArmL, &[(0.0, -40.0), (0.5, -130.0), (1.0, -40.0)]),
                tr(ArmR, &[(0.0, 130.0), (0.5, 40.0), (1.0, 130.0)]),
                tr(ElbowL, &[(0.0, 30.0), (0.5, -30.0), (1.0, 30.0)]),
                tr(ElbowR, &[(0.0, 30.0), (0.5, -30.0), (1.0, 30.0)]),
                tr(
                    RootX,
                    &[
                        (0.0, 0.0),
                        (0.25, 0.03),
                        (0.5, 0.0),
                        (0.75, -0.03),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    RootY,
                    &[
                        (0.0, 0.0),
                        (0.25, 0.025),
                        (0.5, 0.0),
                        (0.75, 0.025),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    LegL,
                    &[
                        (0.0, 0.0),
                        (0.25, 10.0),
                        (0.5, 0.0),
                        (0.75, -6.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    LegR,
                    &[
                        (0.0, 0.0),
                        (0.25, 6.0),
                        (0.5, 0.0),
                        (0.75, -10.0),
                        (1.0, 0.0),
                    ],
                ),
            ],
        },
        chain: Motion {
            ease: SPLINE,
            tracks: &[
                tr(
                    Spine,
                    &[
                        (0.0, 0.0),
                        (0.25, 12.0),
                        (0.5, 0.0),
                        (0.75, -12.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    Neck,
                    &[
                        (0.0, 0.0),
                        (0.25, -10.0),
                        (0.5, 0.0),
                        (0.75, 10.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    RootX,
                    &[
                        (0.0, 0.0),
                        (0.25, 0.04),
                        (0.5, 0.0),
                        (0.75, -0.04),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    RootY,
                    &[
                        (0.0, 0.0),
                        (0.25, 0.04),
                        (0.5, 0.0),
                        (0.75, 0.04),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    SquashY,
                    &[
                        (0.0, -0.05),
                        (0.25, 0.05),
                        (0.5, -0.05),
                        (0.75, 0.05),
                        (1.0, -0.05),
                    ],
                ),
                tr(
                    Flap,
                    &[
                        (0.0, 0.0),
                        (0.25, 20.0),
                        (0.5, 0.0),
                        (0.75, 20.0),
                        (1.0, 0.0),
                    ],
                ),
            ],
        },
    },
    ActionDef {
        info: info(
            "nod",
            &["nod", "nods", "nodding", "nodded", "agree", "agrees", "yes"],
            &["点头", "同意", "赞同"],
            false,
            "nods twice",
        ),
        seconds: 1.0,
        humanoid: Motion {
            ease: SPLINE,
            tracks: &[
                tr(
                    Neck,
                    &[
                        (0.0, 0.0),
                        (0.25, 14.0),
                        (0.45, 0.0),
                        (0.7, 14.0),
                        (0.9, 0.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    Spine,
                    &[
                        (0.0, 0.0),
                        (0.25, 2.0),
                        (0.45, 0.0),
                        (0.7, 2.0),
                        (0.9, 0.0),
                        (1.0, 0.0),
                    ],
                ),
            ],
        },
        chain: Motion {
            ease: SPLINE,
            tracks: &[
                tr(
                    Neck,
                    &[
                        (0.0, 0.0),
                        (0.25, 14.0),
                        (0.45, 0.0),
                        (0.7, 14.0),
                        (0.9, 0.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    SquashY,
                    &[
                        (0.0, 0.0),
                        (0.25, -0.05),
                        (0.45, 0.0),
                        (0.7, -0.05),
                        (0.9, 0.0),
                        (1.0, 0.0),
                    ],
                ),
            ],
        },
    },
    ActionDef {
        info: info(
            "bow",
            &[
                "bow", "bows", "bowing", "bowed", "curtsy", "thank", "thanks",
            ],
            &["鞠躬", "行礼", "致谢", "谢谢"],
            false,
            "bows forward and comes back up",
        ),
        seconds: 1.5,
        humanoid: Motion {
            ease: SMOOTH,
            tracks: &[
                tr(Spine, &[(0.0, 0.0), (0.4, 32.0), (0.7, 32.0), (1.0, 0.0)]),
                tr(Neck, &[(0.0, 0.0), (0.4, 10.0), (0.7, 10.0), (1.0, 0.0)]),
                tr(ArmL, &[(0.0, 0.0), (0.4, 12.0), (0.7, 12.0), (1.0, 0.0)]),
                tr(ArmR, &[(0.0, 0.0), (0.4, 15.0), (0.7, 15.0), (1.0, 0.0)]),
            ],
        },
        chain: Motion {
            ease: SMOOTH,
            tracks: &[
                tr(Spine, &[(0.0, 0.0), (0.4, 20.0), (0.7, 20.0), (1.0, 0.0)]),
                tr(Neck, &[(0.0, 0.0), (0.4, 15.0), (0.7, 15.0), (1.0, 0.0)]),
                tr(
                    SquashY,
                    &[(0.0, 0.0), (0.4, -0.08), (0.7, -0.08), (1.0, 0.0)],
                ),
            ],
        },
    },
    ActionDef {
        info: info(
            "hover",
            &[
                "hover",
                "hovers",
                "hovering",
                "float",
                "floats",
                "floating",
                "fly",
                "flies",
                "flying",
                "levitate",
                "levitates",
                "levitating",
            ],
            &["悬浮", "漂浮", "飘浮", "飞行", "飞", "飘"],
            true,
            "floats up and down in the air",
        ),
        seconds: 1.6,
        humanoid: Motion {
            ease: SPLINE,
            tracks: &[
                tr(RootY, &[(0.0, 0.08), (0.5, 0.14), (1.0, 0.08)]),
                tr(ArmL, &[(0.0, -15.0), (0.5, -25.0), (1.0, -15.0)]),
                tr(ArmR, &[(0.0, 15.0), (0.5, 25.0), (1.0, 15.0)]),
                tr(LegL, &[(0.0, 4.0), (0.5, -4.0), (1.0, 4.0)]),
                tr(LegR, &[(0.0, -4.0), (0.5, 4.0), (1.0, -4.0)]),
                tr(KneeL, &[(0.0, -10.0), (1.0, -10.0)]),
                tr(KneeR, &[(0.0, -10.0), (1.0, -10.0)]),
            ],
        },
        chain: Motion {
            ease: SPLINE,
            tracks: &[
                tr(RootY, &[(0.0, 0.08), (0.5, 0.14), (1.0, 0.08)]),
                tr(SquashY, &[(0.0, 0.0), (0.5, 0.04), (1.0, 0.0)]),
                tr(
                    Spine,
                    &[
                        (0.0, 0.0),
                        (0.25, 3.0),
                        (0.5, 0.0),
                        (0.75, -3.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    Flap,
                    &[
                        (0.0, 0.0),
                        (0.125, 30.0),
                        (0.25, 0.0),
                        (0.375, 30.0),
                        (0.5, 0.0),
                        (0.625, 30.0),
                        (0.75, 0.0),
                        (0.875, 30.0),
                        (1.0, 0.0),
                    ],
                ),
            ],
        },
    },
    ActionDef {
        info: info(
            "bounce",
            &[
                "bounce", "bounces", "bouncing", "bounced", "boing", "spring", "springs", "wobble",
                "jiggle",
            ],
            &["弹跳", "蹦跳", "蹦", "弹", "蹦蹦跳跳"],
            true,
            "bounces on the spot with squash and stretch",
        ),
        seconds: 0.7,
        humanoid: Motion {
            ease: SPLINE,
            tracks: &[
                tr(
                    RootY,
                    &[
                        (0.0, 0.0),
                        (0.1, 0.0),
                        (0.3, 0.1),
                        (0.5, 0.13),
                        (0.7, 0.1),
                        (0.9, 0.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    SquashY,
                    &[
                        (0.0, -0.1),
                        (0.15, 0.05),
                        (0.5, 0.0),
                        (0.85, 0.05),
                        (1.0, -0.1),
                    ],
                ),
                tr(ArmL, &[(0.0, 10.0), (0.5, -30.0), (1.0, 10.0)]),
                tr(ArmR, &[(0.0, -10.0), (0.5, 30.0), (1.0, -10.0)]),
            ],
        },
        chain: Motion {
            ease: SPLINE,
            tracks: &[
                tr(
                    RootY,
                    &[
                        (0.0, 0.0),
                        (0.1, 0.0),
                        (0.3, 0.12),
                        (0.5, 0.16),
                        (0.7, 0.12),
                        (0.9, 0.0),
                        (1.0, 0.0),
                    ],
                ),
                tr(
                    SquashY,
                    &[
                        (0.0, -0.2),
                        (0.15, 0.12),
                        (0.5, 0.0),
                        (0.85, 0.12),
                        (1.0, -0.2),
                    ],
                ),
                tr(
                    Flap,
                    &[
                        (0.0, 0.0),
                        (0.25, 20.0),
                        (0.5, 0.0),
                        (0.75, 20.0),
                        (1.0, 0.0),
                    ],
                ),
            ],
        },
    },
];

/// Every supported action, in a stable order (for help text and error suggestions).
pub fn actions() -> &'static [ActionInfo] {
    static INFOS: std::sync::OnceLock<Vec<ActionInfo>> = std::sync::OnceLock::new();
    INFOS.get_or_init(|| ACTIONS.iter().map(|a| a.info).collect())
}

pub fn find(name: &str) -> Option<&'static ActionDef> {
    ACTIONS.iter().find(|a| a.info.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shots_start_at_rest_and_cycles_close() {
        for a in &ACTIONS {
            for m in [&a.humanoid, &a.chain] {
                for t in m.tracks {
                    assert!(
                        t.keys.windows(2).all(|w| w[0].0 < w[1].0),
                        "{} keys unsorted",
                        a.info.name
                    );
                    assert_eq!(t.keys.first().map(|k| k.0), Some(0.0), "{}", a.info.name);
                    assert_eq!(t.keys.last().map(|k| k.0), Some(1.0), "{}", a.info.name);
                    if a.info.looping {
                        assert_eq!(
                            t.keys[0].1,
                            t.keys[t.keys.len() - 1].1,
                            "{} {:?} does not close",
                            a.info.name,
                            t.channel
                        );
                    } else {
                        assert_eq!(
                            t.keys[0].1, 0.0,
                            "{} {:?} must start at rest",
                            a.info.name, t.channel
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn catalogue_has_every_required_action_with_both_languages() {
        let want = [
            "idle", "walk", "run", "jump", "wave", "attack", "punch", "kick", "crouch", "hurt",
            "die", "cast", "cheer", "dance", "nod", "bow", "hover", "bounce",
        ];
        for w in want {
            let a = actions()
                .iter()
                .find(|a| a.name == w)
                .unwrap_or_else(|| panic!("missing {w}"));
            assert!(!a.english.is_empty() && !a.chinese.is_empty());
        }
        assert_eq!(actions().len(), want.len());
    }
}
