//! Where the cache lives and how to reach the hub, decided once from the environment.
//!
//! Every operation takes a [`Store`] instead of reading environment variables itself,
//! so tests (which run in parallel) can point each store at its own cache and server.

use std::path::{Path, PathBuf};

use kinema_core::{Error, Result};

/// The public Hugging Face hub, used when `HF_ENDPOINT` is not set.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// The Wan model the `wan` engine is built for; the example in hints and docs.
pub const DEFAULT_MODEL: &str = "Wan-AI/Wan2.2-TI2V-5B-Diffusers";

/// How Kinema finds cached models and the hub.
#[derive(Clone, Debug)]
pub struct Store {
    /// The hub cache folder, the one holding `models--org--name` folders.
    pub cache_dir: PathBuf,
    /// Base URL of the hub, without a trailing slash.
    pub endpoint: String,
    /// Access token for gated or private repos.
    pub token: Option<String>,
    /// Never touch the network (`HF_HUB_OFFLINE=1`).
    pub offline: bool,
}

impl Store {
    /// The store the Python `huggingface_hub` would use in this environment, so both
    /// tools share one cache: `HF_HUB_CACHE`, else `HF_HOME/hub`, else
    /// `XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`.
    pub fn from_env() -> Result<Store> {
        Store::from_vars(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// [`Store::from_env`] over any variable lookup, for tests and embedding.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Store> {
        let hf_home = match var("HF_HOME") {
            Some(home) => PathBuf::from(home),
            None => match var("XDG_CACHE_HOME") {
                Some(xdg) => Path::new(&xdg).join("huggingface"),
                None => home_dir(&var)?.join(".cache").join("huggingface"),
            },
        };
        let cache_dir = var("HF_HUB_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| hf_home.join("hub"));
        let endpoint = var("HF_ENDPOINT")
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string())
            .trim_end_matches('/')
            .to_string();
        let token = var("HF_TOKEN").or_else(|| {
            let path = var("HF_TOKEN_PATH")
                .map(PathBuf::from)
                .unwrap_or_else(|| hf_home.join("token"));
            read_token_file(&path)
        });
        let offline = var("HF_HUB_OFFLINE").is_some_and(|v| is_truthy(&v));
        Ok(Store {
            cache_dir,
            endpoint,
            token,
            offline,
        })
    }

    /// A store over an explicit cache folder and endpoint, online, without a token.
    pub fn new(cache_dir: impl Into<PathBuf>, endpoint: impl Into<String>) -> Store {
        Store {
            cache_dir: cache_dir.into(),
            endpoint: endpoint.into().trim_end_matches('/').to_string(),
            token: None,
            offline: false,
        }
    }

    /// The `models--org--name` folder of a repo.
    pub fn repo_dir(&self, repo: &RepoId) -> PathBuf {
        self.cache_dir.join(repo.folder_name())
    }

    pub(crate) fn hf_cache(&self) -> hf_hub::Cache {
        hf_hub::Cache::new(self.cache_dir.clone())
    }
}

fn home_dir(var: &impl Fn(&str) -> Option<String>) -> Result<PathBuf> {
    var("HOME")
        .or_else(|| var("USERPROFILE"))
        .map(PathBuf::from)
        .ok_or_else(|| {
            Error::model("cannot find the Hugging Face cache: neither HF_HOME nor HOME is set")
                .with_hint("set HF_HOME to a folder for downloaded models, e.g. HF_HOME=~/hf")
        })
}

fn read_token_file(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let token = text.trim();
    (!token.is_empty()).then(|| token.to_string())
}

/// The spellings `huggingface_hub` accepts for a true boolean variable.
fn is_truthy(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "on" | "yes" | "true"
    )
}

/// A validated hub repository id, `org/name`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RepoId {
    pub org: String,
    pub name: String,
}

impl RepoId {
    /// Checks the hub's naming rules so a typo fails here, with the rule, instead of as a
    /// puzzling 404 or a stray cache folder.
    pub fn parse(id: &str) -> Result<RepoId> {
        let bad = |why: &str| {
            Error::invalid(
                format!("`{id}` is not a hub model id: {why}"),
                format!("write it as org/name, e.g. {DEFAULT_MODEL}, or give a local folder"),
            )
        };
        let (org, name) = id.split_once('/').ok_or_else(|| bad("it has no `/`"))?;
        if name.contains('/') {
            return Err(bad("it has more than one `/`"));
        }
        for part in [org, name] {
            if part.is_empty() || part.len() > 96 {
                return Err(bad("each part must be 1 to 96 characters"));
            }
            if !part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                return Err(bad("only letters, digits, `-`, `_` and `.` are allowed"));
            }
            if part.starts_with(['-', '.']) || part.ends_with(['-', '.']) {
                return Err(bad("a part cannot start or end with `-` or `.`"));
            }
            if part.contains("--") || part.contains("..") {
                return Err(bad("`--` and `..` are not allowed"));
            }
        }
        Ok(RepoId {
            org: org.to_string(),
            name: name.to_string(),
        })
    }

    /// Reads back a cache folder name (`models--org--name`); `None` for other folders.
    pub fn from_folder_name(folder: &str) -> Option<RepoId> {
        let rest = folder.strip_prefix("models--")?;
        let (org, name) = rest.split_once("--")?;
        RepoId::parse(&format!("{org}/{name}")).ok()
    }

    /// The cache folder name, as hf-hub (and Python) spell it.
    pub fn folder_name(&self) -> String {
        hf_hub::Repo::model(self.to_string()).folder_name()
    }

    pub(crate) fn hf_repo(&self, revision: &str) -> hf_hub::Repo {
        hf_hub::Repo::with_revision(
            self.to_string(),
            hf_hub::RepoType::Model,
            revision.to_string(),
        )
    }
}

impl std::fmt::Display for RepoId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.org, self.name)
    }
}

/// Checks a revision (branch, tag or commit) before it becomes part of a path or URL.
pub fn check_revision(revision: &str) -> Result<()> {
    let ok = !revision.is_empty()
        && revision.len() <= 200
        && !revision.starts_with(['/', '.', '-'])
        && !revision.contains("..")
        && revision
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            format!("`{revision}` is not a valid revision"),
            "give a branch (main), a tag, or a 40-character commit hash",
        ))
    }
}

/// A full commit hash, which names a snapshot folder directly.
pub(crate) fn is_commit_hash(revision: &str) -> bool {
    revision.len() == 40 && revision.chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn store(vars: &[(&str, &str)]) -> Store {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Store::from_vars(|k| map.get(k).cloned()).unwrap()
    }

    #[test]
    fn cache_dir_follows_huggingface_hub_precedence() {
        assert_eq!(
            store(&[("HOME", "/h")]).cache_dir,
            Path::new("/h/.cache/huggingface/hub")
        );
        assert_eq!(
            store(&[("HOME", "/h"), ("XDG_CACHE_HOME", "/x")]).cache_dir,
            Path::new("/x/huggingface/hub")
        );
        assert_eq!(
            store(&[("HOME", "/h"), ("HF_HOME", "/hf")]).cache_dir,
            Path::new("/hf/hub")
        );
        assert_eq!(
            store(&[("HF_HOME", "/hf"), ("HF_HUB_CACHE", "/c")]).cache_dir,
            Path::new("/c")
        );
        assert!(Store::from_vars(|_| None).is_err());
    }

    #[test]
    fn endpoint_offline_and_token_come_from_the_environment() {
        let s = store(&[("HOME", "/h")]);
        assert_eq!(s.endpoint, DEFAULT_ENDPOINT);
        assert!(!s.offline);
        let s = store(&[
            ("HOME", "/h"),
            ("HF_ENDPOINT", "http://127.0.0.1:9/"),
            ("HF_HUB_OFFLINE", "TRUE"),
            ("HF_TOKEN", "hf_abc"),
        ]);
        assert_eq!(s.endpoint, "http://127.0.0.1:9");
        assert!(s.offline);
        assert_eq!(s.token.as_deref(), Some("hf_abc"));
        assert!(!store(&[("HOME", "/h"), ("HF_HUB_OFFLINE", "0")]).offline);
    }

    #[test]
    fn token_file_is_read_from_hf_home() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), "  hf_file\n").unwrap();
        let home = dir.path().to_string_lossy().into_owned();
        assert_eq!(
            store(&[("HF_HOME", &home)]).token.as_deref(),
            Some("hf_file")
        );
    }

    #[test]
    fn repo_ids_are_validated() {
        let id = RepoId::parse("Wan-AI/Wan2.2-TI2V-5B-Diffusers").unwrap();
        assert_eq!(id.folder_name(), "models--Wan-AI--Wan2.2-TI2V-5B-Diffusers");
        assert_eq!(RepoId::from_folder_name(&id.folder_name()), Some(id));
        for bad in [
            "gpt2", "a/b/c", "/x", "a/", "a b/c", "a/..", "a/-x", "a/x--y",
        ] {
            assert!(RepoId::parse(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(RepoId::from_folder_name("datasets--a--b"), None);
    }

    #[test]
    fn revisions_are_checked() {
        assert!(check_revision("main").is_ok());
        assert!(check_revision("refs/pr/1").is_ok());
        for bad in ["", "../x", "/abs", "a b", "a/../b"] {
            assert!(check_revision(bad).is_err(), "{bad} accepted");
        }
        assert!(is_commit_hash(&"a".repeat(40)));
        assert!(!is_commit_hash("main"));
    }
}
