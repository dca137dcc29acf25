use kinema_core::Result;

use crate::cli::ActionsArgs;

pub fn run(args: ActionsArgs) -> Result<()> {
    let library = kinema_rig::MotionLibrary::builtin();
    let actions = library.motions();
    if args.json {
        let list: Vec<_> = actions
            .iter()
            .map(|a| {
                serde_json::json!({
                    "name": a.name, "english": a.english, "chinese": a.chinese,
                    "looping": a.looping, "summary": a.summary,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        );
        return Ok(());
    }
    println!("{:<8} {:<5} {:<44} 中文", "action", "loop", "English");
    for a in actions.iter() {
        println!(
            "{:<8} {:<5} {:<44} {}",
            a.name,
            if a.looping { "yes" } else { "" },
            a.english.join(", "),
            a.chinese.join("、")
        );
    }
    println!("\nModifiers: slowly / fast, twice / three times / N times, left / right (慢慢, 快, 两次, 向左, 向右).");
    println!("Sequences: \"walks then jumps\", \"走两步然后挥手\".");
    Ok(())
}
