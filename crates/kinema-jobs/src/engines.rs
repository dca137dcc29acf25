//! The engines a front end may name, so `--engine`, suites and the service agree.

use kinema_core::{Engine, Error, Result};

/// Engine names accepted by `--engine`, in the order they are listed to users.
pub const ENGINE_NAMES: &[&str] = &["rig"];

/// The engine called `name`, or an error that lists the available ones.
pub fn engine_by_name(name: &str) -> Result<Box<dyn Engine>> {
    match name {
        "rig" => Ok(Box::new(kinema_rig::RigEngine::new())),
        other => Err(Error::invalid(
            format!("unknown engine `{other}`"),
            format!("available engines: {}", ENGINE_NAMES.join(", ")),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_engine_exists_and_names_itself() {
        for name in ENGINE_NAMES {
            assert_eq!(engine_by_name(name).unwrap().name(), *name);
        }
        let err = engine_by_name("sora").err().unwrap();
        assert!(err.to_string().contains("available engines: rig"), "{err}");
    }
}
