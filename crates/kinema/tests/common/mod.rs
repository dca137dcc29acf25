//! What every `kinema` binary test needs: run it, find the samples, check a failure.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

pub fn kinema(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kinema"))
        .args(args)
        .output()
        .expect("run kinema")
}

pub fn sample(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples/characters")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

pub fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs a command that must fail; checks the exit code, the message and that `must_not_exist`
/// was not created.
pub fn fails(args: &[&str], expect_in_message: &str, must_not_exist: &Path) -> String {
    let o = kinema(args);
    let err = stderr(&o);
    assert!(!o.status.success(), "expected failure for {args:?}");
    assert_ne!(o.status.code(), Some(101), "panicked for {args:?}: {err}");
    assert!(
        err.to_lowercase()
            .contains(&expect_in_message.to_lowercase()),
        "message for {args:?} lacks `{expect_in_message}`:\n{err}"
    );
    assert!(
        !must_not_exist.exists(),
        "{} was written by a failed run",
        must_not_exist.display()
    );
    err
}
