//! `kinema engines`: every engine, whether it can run here, what it can do, what it costs.

use kinema_core::{Error, Result};

use crate::cli::EnginesArgs;

pub fn run(args: EnginesArgs) -> Result<()> {
    let list = kinema_jobs::engine_statuses();
    if args.json {
        let text = serde_json::to_string_pretty(&list)
            .map_err(|e| Error::internal("cannot serialise the engine list").with_source(e))?;
        println!("{text}");
        return Ok(());
    }
    println!(
        "{:<8} {:<8} {:<10} {:>9} {:<9} {:<9} {:<6} price",
        "engine", "kind", "available", "max s", "alpha", "loop", "last"
    );
    for e in &list {
        let c = &e.capabilities;
        let price = if e.usd_per_second_from > 0.0 {
            format!("from ${:.3}/s of video", e.usd_per_second_from)
        } else {
            "free (runs here)".to_string()
        };
        println!(
            "{:<8} {:<8} {:<10} {:>9.1} {:<9} {:<9} {:<6} {price}",
            e.name,
            e.kind,
            if e.available { "yes" } else { "no" },
            c.max_seconds,
            c.alpha,
            c.looping,
            if c.last_image { "yes" } else { "" },
        );
    }
    for e in list.iter().filter(|e| !e.available) {
        println!(
            "\n{}: {}",
            e.name,
            e.unavailable.as_deref().unwrap_or("unavailable")
        );
    }
    for e in list.iter().filter(|e| !e.models.is_empty()) {
        println!("\n{} models:", e.name);
        for m in &e.models {
            let durations: Vec<String> = m.durations.iter().map(|d| d.to_string()).collect();
            println!(
                "  {:<18} {} s; from ${:.3}/s; {}",
                m.name,
                durations.join("/"),
                m.lowest_usd_per_second(),
                m.description
            );
        }
    }
    println!("\nDetails and the side-by-side table: docs/PROVIDERS.md");
    Ok(())
}
