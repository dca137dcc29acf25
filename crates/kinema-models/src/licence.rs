//! Licences a model's authors ask users to accept before downloading it.
//!
//! The hub enforces this for gated repos on its website; Kinema also shows the terms of the
//! models its engines default to and asks for acceptance in `kinema models pull`, so that
//! nobody downloads them by accident from a script. The table is data
//! (`data/licences.toml`); an acceptance is recorded in the repo's cache folder
//! (`.kinema/licence.json`), with the licence's id, and is asked again when the id changes.

use std::sync::OnceLock;

use kinema_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::store::{RepoId, Store};

const TABLE: &str = include_str!("../data/licences.toml");

/// One licence and the repos it covers.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Licence {
    /// Recorded with an acceptance; a new version of the licence gets a new id.
    pub id: String,
    pub name: String,
    /// Where the binding text is.
    pub url: String,
    pub repos: Vec<String>,
    /// Kinema's own short reading of the terms, one point per line.
    pub summary: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    licence: Vec<Licence>,
}

fn table() -> &'static [Licence] {
    static PARSED: OnceLock<Vec<Licence>> = OnceLock::new();
    // The file ships with the crate and a test parses it, so this cannot fail at run time.
    PARSED.get_or_init(|| toml::from_str::<Table>(TABLE).map_or_else(|_| Vec::new(), |t| t.licence))
}

/// The licence that must be accepted before pulling `repo`, if any (case-insensitive).
pub fn licence_for(repo: &RepoId) -> Option<&'static Licence> {
    let wanted = repo.to_string().to_ascii_lowercase();
    table()
        .iter()
        .find(|l| l.repos.iter().any(|r| r.to_ascii_lowercase() == wanted))
}

/// What is recorded when a licence is accepted.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct Acceptance {
    pub licence: String,
    pub repo: String,
    /// Seconds since the Unix epoch.
    pub accepted_at: u64,
}

impl Store {
    fn acceptance_path(&self, repo: &RepoId) -> std::path::PathBuf {
        self.repo_dir(repo).join(".kinema").join("licence.json")
    }

    /// Whether this cache records `licence` as accepted for `repo`.
    pub fn licence_accepted(&self, repo: &RepoId, licence: &Licence) -> bool {
        std::fs::read_to_string(self.acceptance_path(repo))
            .ok()
            .and_then(|t| serde_json::from_str::<Acceptance>(&t).ok())
            .is_some_and(|a| a.licence == licence.id)
    }

    /// Records that the user accepted `licence` for `repo`.
    pub fn accept_licence(&self, repo: &RepoId, licence: &Licence) -> Result<()> {
        let path = self.acceptance_path(repo);
        let record = Acceptance {
            licence: licence.id.clone(),
            repo: repo.to_string(),
            accepted_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        };
        let write = || -> std::io::Result<()> {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let tmp = path.with_extension("json.tmp");
            std::fs::write(&tmp, serde_json::to_vec_pretty(&record)?)?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|e| {
            Error::model(format!(
                "cannot record the licence acceptance in {}",
                path.display()
            ))
            .with_source(e)
            .with_hint("check that the Hugging Face cache folder is writable")
        })
    }

    /// Refuses a pull of a licensed repo that was neither accepted before nor now.
    pub(crate) fn check_licence(&self, repo: &RepoId, accept_now: bool) -> Result<()> {
        let Some(licence) = licence_for(repo) else {
            return Ok(());
        };
        if self.licence_accepted(repo, licence) {
            return Ok(());
        }
        if accept_now {
            return self.accept_licence(repo, licence);
        }
        Err(Error::invalid(
            format!(
                "{repo} is released under the {}, which must be accepted before it is downloaded (terms: {})",
                licence.name, licence.url
            ),
            format!(
                "read the terms; if you accept them, run `kinema models pull {repo} --accept-licence`"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_parses_and_names_svd() {
        let parsed: Table = toml::from_str(TABLE).unwrap();
        assert!(!parsed.licence.is_empty());
        let svd = RepoId::parse("StabilityAI/stable-video-diffusion-img2vid-xt").unwrap();
        let l = licence_for(&svd).unwrap();
        assert_eq!(l.name, "Stability AI Community License");
        assert!(l.url.starts_with("https://") && !l.summary.is_empty());
        assert!(licence_for(&RepoId::parse("Wan-AI/Wan2.2-TI2V-5B-Diffusers").unwrap()).is_none());
    }

    #[test]
    fn acceptance_is_recorded_per_repo_and_licence_version() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "http://hub.test");
        let repo = RepoId::parse("stabilityai/stable-video-diffusion-img2vid-xt").unwrap();
        let licence = licence_for(&repo).unwrap();
        let err = store.check_licence(&repo, false).unwrap_err();
        assert!(
            err.message.contains("Stability AI Community License"),
            "{}",
            err.message
        );
        assert!(err.hint.unwrap().contains("--accept-licence"));
        assert!(!store.licence_accepted(&repo, licence));
        store.check_licence(&repo, true).unwrap();
        assert!(store.licence_accepted(&repo, licence));
        store.check_licence(&repo, false).unwrap();
        let newer = Licence {
            id: "next-version".into(),
            ..licence.clone()
        };
        assert!(
            !store.licence_accepted(&repo, &newer),
            "a new version asks again"
        );
    }
}
