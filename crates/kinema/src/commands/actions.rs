use kinema_core::Result;
use kinema_rig::{as_written_f64, MotionLibrary, MotionSource};

use crate::cli::ActionsArgs;

pub fn run(args: ActionsArgs) -> Result<()> {
    let library = match &args.motions {
        Some(dir) => MotionLibrary::load(dir)?,
        None => MotionLibrary::builtin(),
    };
    let actions = library.motions();
    if args.json {
        let list: Vec<_> = actions
            .iter()
            .map(|a| {
                let kinds: Vec<_> = a
                    .kinds
                    .iter()
                    .map(|k| {
                        serde_json::json!({
                            "kind": k.kind.name(), "easing": k.keyframes.ease.name(),
                            "root_motion": k.root_motion, "events": k.events,
                        })
                    })
                    .collect();
                let (source, replaces) = match &a.source {
                    MotionSource::BuiltIn => ("built-in".to_string(), false),
                    MotionSource::File {
                        path,
                        replaces_builtin,
                    } => (path.display().to_string(), *replaces_builtin),
                };
                serde_json::json!({
                    "name": a.name, "english": a.english, "chinese": a.chinese,
                    "looping": a.looping, "summary": a.summary, "seconds": as_written_f64(a.seconds),
                    "kinds": kinds, "source": source, "replaces_builtin": replaces,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        );
        return Ok(());
    }
    let width = actions
        .iter()
        .map(|a| a.name.len())
        .max()
        .unwrap_or(6)
        .max(6)
        + 2;
    println!(
        "{:<width$}{:<6}{:<21}{:<44} 中文",
        "action", "loop", "kinds", "English"
    );
    for a in actions.iter() {
        println!(
            "{:<width$}{:<6}{:<21}{:<44} {}",
            a.name,
            if a.looping { "yes" } else { "" },
            a.kind_names().join(","),
            a.english.join(", "),
            a.chinese.join("、")
        );
    }
    let from_files: Vec<String> = actions
        .iter()
        .filter_map(|a| match &a.source {
            MotionSource::BuiltIn => None,
            MotionSource::File {
                path,
                replaces_builtin,
            } => Some(format!(
                "{} ({}{})",
                a.name,
                path.file_name().unwrap_or_default().to_string_lossy(),
                if *replaces_builtin {
                    ", replaces the built-in"
                } else {
                    ""
                }
            )),
        })
        .collect();
    if let Some(dir) = &args.motions {
        println!("\nFrom {}: {}.", dir.display(), from_files.join(", "));
    }
    println!("\nModifiers: slowly / fast, twice / three times / N times, left / right (慢慢, 快, 两次, 向左, 向右).");
    println!("Sequences: \"walks then jumps\", \"走两步然后挥手\".");
    println!("Add your own motions with --motions DIR (docs/MOTIONS.md).");
    Ok(())
}
