use kinema_core::{Error, Result};

use crate::cli::EvalArgs;
use crate::progress::Bar;

pub fn run(args: EvalArgs) -> Result<()> {
    if let (Some(suite), Some(dir)) = (&args.suite, &args.report) {
        let bar = Bar::new();
        let outcome = kinema_jobs::run_suite(suite, dir, args.force, &|p| bar.update(p));
        bar.finish();
        let outcome = outcome?;
        if args.json {
            print_json(&outcome.entries)?;
        } else {
            eprintln!(
                "{} clips measured; open {}",
                outcome.entries.len(),
                outcome.index.display()
            );
        }
        return Ok(());
    }
    let (Some(clip_path), Some(reference)) = (&args.clip, &args.reference) else {
        return Err(Error::invalid(
            "nothing to evaluate",
            "use --clip PATH --reference IMAGE, or --suite suite.toml --report DIR",
        ));
    };
    let clip = kinema_media::read_clip(clip_path)?;
    let character = super::load_character(reference, &args.mask, args.subject_box)?;
    let report = kinema_metrics::evaluate(&clip, &character.image)?;
    if args.json {
        print_json(&report)?;
    } else {
        print!("{}", report.table());
    }
    Ok(())
}

fn print_json(value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::internal("could not serialise the report").with_source(e))?;
    println!("{text}");
    Ok(())
}
