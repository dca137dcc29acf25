//! The prompt table (`tests/prompts.toml`): phrasings people type, in English and Chinese,
//! each with the plan it must read as. Every case is checked and every failure listed
//! with how the prompt was actually read, so the table is easy to extend.

use std::collections::BTreeSet;

use kinema_rig::{understand, Facing, Plan};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    prompt: String,
    /// The steps in order; empty with `refused` for prompts that must be refused.
    #[serde(default)]
    steps: Vec<Expected>,
    /// The prompt names no action: it must be refused, and the message must hold these.
    #[serde(default)]
    refused: Option<Vec<String>>,
}

/// One expected step. Left out: repetitions none, speed 1, facing as drawn, no modifiers;
/// `context` is checked only when given.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    action: String,
    times: Option<u32>,
    speed: Option<f32>,
    #[serde(default)]
    facing: Option<String>,
    #[serde(default)]
    modifiers: Vec<String>,
    context: Option<Vec<String>>,
}

fn describe(plan: &Plan) -> String {
    plan.steps
        .iter()
        .map(|s| {
            format!(
                "{} x{:?} speed {} {:?} mods {:?} context {:?} ignored {:?}",
                s.action, s.repetitions, s.speed, s.facing, s.modifiers, s.context, s.ignored
            )
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

fn check(case: &Case) -> Result<(), String> {
    let result = understand(&case.prompt);
    if let Some(words) = &case.refused {
        return match result {
            Ok(plan) => Err(format!("read as {} but must be refused", describe(&plan))),
            Err(e) => match words.iter().find(|w| !e.message.contains(w.as_str())) {
                Some(w) => Err(format!("refused without `{w}`: {e}")),
                None => Ok(()),
            },
        };
    }
    let plan = result.map_err(|e| format!("refused: {e}"))?;
    let wrong = || Err(describe(&plan));
    if plan.steps.len() != case.steps.len() {
        return wrong();
    }
    for (step, want) in plan.steps.iter().zip(&case.steps) {
        let facing = match want.facing.as_deref() {
            Some("left") => Facing::Left,
            Some("right") => Facing::Right,
            _ => Facing::AsDrawn,
        };
        let mods: BTreeSet<&str> = step
            .modifiers
            .iter()
            .map(String::as_str)
            .filter(|m| *m != "left" && *m != "right")
            .collect();
        let want_mods: BTreeSet<&str> = want.modifiers.iter().map(String::as_str).collect();
        let speed_ok = (step.speed - want.speed.unwrap_or(1.0)).abs() < 1e-3;
        let context_ok = want.context.as_ref().is_none_or(|c| {
            c.iter()
                .all(|w| step.context.iter().any(|have| have.contains(w.as_str())))
        });
        if step.action != want.action
            || step.repetitions != want.times
            || !speed_ok
            || step.facing != facing
            || mods != want_mods
            || !context_ok
        {
            return wrong();
        }
    }
    Ok(())
}

#[test]
fn the_prompt_table_reads_as_written() {
    let text = include_str!("prompts.toml");
    let table: Table = toml::from_str(text).expect("tests/prompts.toml parses");
    let (mut english, mut chinese) = (0, 0);
    let mut failures = Vec::new();
    for case in &table.case {
        if case.prompt.is_ascii() {
            english += 1;
        } else {
            chinese += 1;
        }
        if let Err(why) = check(case) {
            failures.push(format!("  \"{}\": {why}", case.prompt));
        }
    }
    eprintln!(
        "{english} English and {chinese} Chinese prompts, {} failing",
        failures.len()
    );
    assert!(
        english >= 60 && chinese >= 60,
        "{english} English, {chinese} Chinese"
    );
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
