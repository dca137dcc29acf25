//! Talking to the hub: the repo listing (through hf-hub's sync API) and the mapping of
//! HTTP failures to errors that say what to do.

use std::time::Duration;

use kinema_core::{Error, Result};
use serde::Deserialize;

use crate::store::{RepoId, Store};

/// Connection and per-read limits: a dead network fails in seconds, never hangs.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// A file of a repo snapshot as `/api/models/{repo}/revision/{rev}?blobs=true` lists it.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Sibling {
    pub rfilename: String,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub lfs: Option<LfsInfo>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct LfsInfo {
    pub sha256: String,
    #[serde(default)]
    pub size: Option<u64>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct RepoListing {
    pub sha: String,
    pub siblings: Vec<Sibling>,
}

/// What was being asked of the hub, so failures can name it.
pub(crate) struct Request<'a> {
    pub store: &'a Store,
    pub repo: &'a RepoId,
    pub revision: &'a str,
    /// The file, for downloads; `None` for the listing.
    pub file: Option<&'a str>,
}

/// Lists every file of the snapshot a revision points to, with sizes and LFS hashes.
pub(crate) fn list_repo(store: &Store, repo: &RepoId, revision: &str) -> Result<RepoListing> {
    let api = hf_hub::api::sync::ApiBuilder::from_cache(store.hf_cache())
        .with_endpoint(store.endpoint.clone())
        .with_token(store.token.clone())
        .with_progress(false)
        .build()
        .map_err(|e| Error::internal("could not set up the hub client").with_source(e))?;
    let req = Request {
        store,
        repo,
        revision,
        file: None,
    };
    let response = api
        .repo(repo.hf_repo(revision))
        .info_request()
        .query("blobs", "true")
        .timeout(READ_TIMEOUT)
        .call()
        .map_err(|e| http_error(e, &req))?;
    let listing: RepoListing = response.into_json().map_err(|e| {
        Error::model(format!(
            "{} answered the file listing of {repo} with something that is not a hub listing",
            store.endpoint
        ))
        .with_source(e)
        .with_hint("check HF_ENDPOINT points at a Hugging Face hub (or mirror)")
    })?;
    if !crate::store::is_commit_hash(&listing.sha) {
        return Err(Error::model(format!(
            "the hub listing of {repo} names commit `{}`, which is not a commit hash",
            listing.sha
        )));
    }
    Ok(listing)
}

/// Turns a failed request into an error naming the repo, the endpoint and the fix.
pub(crate) fn http_error(err: ureq::Error, req: &Request<'_>) -> Error {
    match err {
        ureq::Error::Status(code, response) => {
            let error_code = response.header("x-error-code").unwrap_or("").to_string();
            status_error(code, &error_code, req)
        }
        ureq::Error::Transport(t) => {
            let detail = t.to_string();
            Error::model(format!(
                "cannot reach the model hub at {}",
                req.store.endpoint
            ))
            .with_source(std::io::Error::other(detail))
            .with_hint(
                "check the network (or proxy: HTTPS_PROXY); HF_ENDPOINT picks another hub \
                     or mirror; with the model already downloaded, HF_HUB_OFFLINE=1 skips the \
                     network",
            )
        }
    }
}

pub(crate) fn status_error(code: u16, error_code: &str, req: &Request<'_>) -> Error {
    let repo = req.repo;
    let what = match req.file {
        Some(file) => format!("{file} of {repo}"),
        None => repo.to_string(),
    };
    let page = format!("{}/{repo}", req.store.endpoint);
    let token_state = if req.store.token.is_some() {
        "the token in HF_TOKEN (or the token file) was sent but is not allowed"
    } else {
        "no token was sent"
    };
    let repo_missing = error_code == "RepositoryNotFound"
        || (code == 404 && error_code.is_empty() && req.file.is_none());
    if repo_missing {
        return Error::model(format!(
            "model {repo} was not found on {}",
            req.store.endpoint
        ))
        .with_hint(format!(
            "check the spelling (org/name, case matters) at {page}; private repos also \
                 need HF_TOKEN"
        ));
    }
    match (code, error_code) {
        (_, "RevisionNotFound") => Error::model(format!(
            "revision `{}` of {repo} was not found",
            req.revision
        ))
        .with_hint(format!("use a branch, tag or commit that exists at {page}")),
        (_, "EntryNotFound") | (404, _) => {
            Error::model(format!("{what} was not found at revision {}", req.revision))
                .with_hint("the repo changed while pulling: run the same pull again")
        }
        (_, "GatedRepo") | (401, _) | (403, _) => Error::model(format!(
            "access to {repo} was refused (HTTP {code}): it is gated or private, and {token_state}"
        ))
        .with_hint(format!(
            "open {page}, log in and accept its licence, then create a read token at \
             https://huggingface.co/settings/tokens and set HF_TOKEN=<token> (or run \
             `huggingface-cli login`)"
        )),
        (429, _) => Error::model(format!("the hub is rate-limiting requests for {what}"))
            .with_hint("wait a minute and pull again; a token (HF_TOKEN) raises the limit"),
        _ => Error::model(format!(
            "the hub at {} answered HTTP {code} for {what}",
            req.store.endpoint
        ))
        .with_hint("try again later; a pull resumes where it stopped"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(store: &'a Store, repo: &'a RepoId, file: Option<&'a str>) -> Request<'a> {
        Request {
            store,
            repo,
            revision: "main",
            file,
        }
    }

    #[test]
    fn statuses_map_to_specific_errors() {
        let store = Store::new("/c", "http://hub.test");
        let repo = RepoId::parse("org/name").unwrap();
        let r = req(&store, &repo, None);
        let e = status_error(404, "", &r);
        assert!(
            e.message.contains("was not found on http://hub.test"),
            "{e}"
        );
        let e = status_error(401, "RepositoryNotFound", &r);
        assert!(e.message.contains("not found"), "{e}");
        let e = status_error(404, "RevisionNotFound", &r);
        assert!(e.message.contains("revision `main`"), "{e}");
        let e = status_error(403, "GatedRepo", &r);
        assert!(e.hint.as_deref().unwrap().contains("HF_TOKEN"), "{e}");
        assert!(e.message.contains("no token was sent"), "{e}");
        let e = status_error(401, "", &r);
        assert!(e.message.contains("refused"), "{e}");
        let f = req(&store, &repo, Some("vae/config.json"));
        let e = status_error(404, "EntryNotFound", &f);
        assert!(e.message.starts_with("vae/config.json of org/name"), "{e}");
        let e = status_error(500, "", &f);
        assert!(e.message.contains("HTTP 500"), "{e}");
    }
}
