//! `kinema`: turn a game character image and an action prompt into a clip.
//!
//! The binary only parses arguments and wires library calls together; every decision
//! about pixels, motions and formats lives in the library crates.

mod cli;
mod cluster_args;
mod commands;
#[cfg(test)]
mod deploy_check;
mod logging;
mod progress;

use clap::Parser;

fn main() {
    // Before any thread exists: diffusion activations then reuse one heap's pages.
    kinema_jobs::share_one_heap();
    let args = cli::Cli::parse();
    let result = match args.command {
        cli::Command::Generate(a) => commands::generate::run(*a),
        cli::Command::Actions(a) => commands::actions::run(a),
        cli::Command::Rig(a) => commands::rig::run(a),
        cli::Command::Eval(a) => commands::eval::run(a),
        cli::Command::Batch(a) => commands::batch::run(a),
        cli::Command::Models(a) => commands::models::run(a),
        cli::Command::Serve(a) => commands::serve::run(a),
        cli::Command::Worker(a) => commands::worker::run(a),
        cli::Command::Engines(a) => commands::engines::run(a),
    };
    if let Err(err) = result {
        eprintln!("error: {err}");
        // Ctrl-C during a provider task: the shell's convention for an interrupt.
        let code = if kinema_jobs::interrupted() {
            130
        } else {
            err.exit_code()
        };
        std::process::exit(code);
    }
}
