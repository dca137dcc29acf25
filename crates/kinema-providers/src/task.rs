//! One provider task from submit to downloaded video: submit it once (or resume the one a
//! journal remembers), poll until it ends, cancel it when the run is interrupted or
//! cancelled, and fetch the video, asking for a fresh link when one has expired.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kinema_core::{Error, Result};
use serde_json::Value;

use crate::adapter::{Adapter, Phase};
use crate::catalog::ProviderSpec;
use crate::download::{fetch, Fetch};
use crate::http::{Call, CallError, Client};
use crate::journal::{Journal, ProviderTask, TaskState};
use crate::picture::{request_key, Encoded};
use crate::plan::Plan;
use crate::request::{ImageRef, ProviderRequest};
use crate::upload::{Uploader, UPLOAD_URL_ENV};
use crate::wait::{TimeScale, Waiter};

/// What to submit.
pub struct Submission<'a> {
    pub plan: &'a Plan,
    pub prompt: &'a str,
    pub negative_prompt: Option<&'a str>,
    pub ratio: Option<String>,
    pub first: &'a Encoded,
    pub last: Option<&'a Encoded>,
}

/// A finished task: its id, whether it was resumed, and the downloaded video.
pub struct Outcome {
    pub task_id: String,
    pub resumed: bool,
    pub video: tempfile::NamedTempFile,
    pub video_bytes: u64,
}

/// Everything one task needs, borrowed from the engine for the length of a generation.
pub struct TaskRun<'a> {
    pub provider: &'static ProviderSpec,
    pub client: &'a Client,
    pub adapter: &'a dyn Adapter,
    pub journal: Option<&'a Journal>,
    pub uploader: Option<&'a Uploader>,
    pub waiter: &'a Waiter<'a>,
    /// The stage and progress (per mille) the waiter's tick reports.
    pub stage: &'a Mutex<(&'static str, u64)>,
}

/// Why polling stopped without a video.
enum Stop {
    /// The provider ended the task (failed, cancelled): nothing left to resume.
    Ended(Error),
    /// Interrupted or past the deadline: the task should be cancelled.
    Halted(Error),
    /// Anything else (the network): keep the task for a rerun to resume.
    Kept(Error),
}

enum Lookup {
    Found(String),
    Absent,
    Unknown,
}

/// Sends the provider's cancel if the generation unwinds (the service cancels a task by
/// unwinding out of the engine's progress callback).
struct CancelOnUnwind<'a> {
    run: &'a TaskRun<'a>,
    task_id: &'a str,
    key: &'a str,
}

impl Drop for CancelOnUnwind<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = self.run.cancel(self.task_id, self.key);
        }
    }
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl TaskRun<'_> {
    fn set_stage(&self, name: &'static str, per_mille: u64) {
        *self.stage.lock().unwrap_or_else(|e| e.into_inner()) = (name, per_mille);
        (self.waiter.tick)();
    }

    fn title(&self) -> &str {
        &self.provider.title
    }

    /// Submits (or resumes), waits, downloads.
    pub fn run(&self, s: &Submission<'_>) -> Result<Outcome> {
        let inline = self.request(s, "", false)?;
        let mut pictures = vec![s.first];
        pictures.extend(s.last);
        let key = request_key(&self.provider.name, &inline, &pictures);
        let external_id = format!("kinema-{}", &key[..24]);
        let (task_id, resumed) = self.submit_or_resume(&key, &external_id, s)?;
        let guard = CancelOnUnwind {
            run: self,
            task_id: &task_id,
            key: &key,
        };
        let url = match self.poll(&task_id) {
            Ok(url) => url,
            Err(Stop::Ended(e)) => {
                self.forget(&key);
                return Err(e);
            }
            Err(Stop::Halted(e)) => {
                let note = self.cancel(&task_id, &key);
                return Err(Error {
                    hint: Some(note),
                    ..e
                });
            }
            Err(Stop::Kept(e)) => return Err(e),
        };
        drop(guard);
        let (video, video_bytes) = self.download(&task_id, &key, url)?;
        self.save(
            &key,
            s,
            &external_id,
            Some(task_id.clone()),
            TaskState::Succeeded,
        )?;
        Ok(Outcome {
            task_id,
            resumed,
            video,
            video_bytes,
        })
    }

    /// The request; with `upload`, pictures go to the configured upload store first.
    fn request(
        &self,
        s: &Submission<'_>,
        external_id: &str,
        upload: bool,
    ) -> Result<ProviderRequest> {
        let image = |e: &Encoded| -> Result<ImageRef> {
            match self.uploader.filter(|_| upload) {
                Some(u) => Ok(ImageRef::Url(u.put(
                    self.client.agent(),
                    &e.bytes,
                    e.mime,
                    e.extension,
                )?)),
                None => Ok(ImageRef::Inline {
                    bytes: e.bytes.clone(),
                    mime: e.mime,
                }),
            }
        };
        Ok(ProviderRequest {
            model: s.plan.model.clone(),
            prompt: s.prompt.to_string(),
            negative_prompt: s.negative_prompt.map(str::to_string),
            first_image: image(s.first)?,
            last_image: s.last.map(image).transpose()?,
            duration_s: s.plan.duration_s,
            ratio: s.ratio.clone(),
            seed: s.plan.seed,
            looping: s.plan.provider_loop,
            quality: s.plan.quality.clone(),
            external_id: external_id.to_string(),
        })
    }

    /// Records the task. Before a create (`Submitting`) a failure is returned, so nothing
    /// is paid for that a crash could not resume; afterwards the video is already paid for
    /// and finishing it matters more, so a failure is only reported.
    fn save(
        &self,
        key: &str,
        s: &Submission<'_>,
        external_id: &str,
        task_id: Option<String>,
        state: TaskState,
    ) -> Result<()> {
        if let Some(j) = self.journal {
            let task = ProviderTask {
                provider: self.provider.name.clone(),
                model: s.plan.model.clone(),
                task_id,
                state,
                external_id: external_id.to_string(),
                submitted_at: now_s(),
                estimated_usd: s.plan.usd,
            };
            if let Err(e) = j.0.save(key, &task) {
                if state == TaskState::Submitting {
                    return Err(Error::output(format!(
                        "cannot record the {} task before submitting it, so nothing was sent: {e}",
                        self.title()
                    ))
                    .with_hint(
                        e.hint.clone().unwrap_or_else(|| {
                            "run it again once the record can be written".into()
                        }),
                    ));
                }
                eprintln!("warning: cannot record the provider task: {e}");
            }
        }
        Ok(())
    }

    fn forget(&self, key: &str) {
        if let Some(j) = self.journal {
            let _ = j.0.forget(key);
        }
    }

    fn submit_or_resume(
        &self,
        key: &str,
        external_id: &str,
        s: &Submission<'_>,
    ) -> Result<(String, bool)> {
        if let Some(entry) = self.journal.map(|j| j.0.load(key)).transpose()?.flatten() {
            if let Some(id) = entry.task_id {
                return Ok((id, true));
            }
            match self.lookup(&entry.external_id)? {
                Lookup::Found(id) => {
                    self.save(
                        key,
                        s,
                        &entry.external_id,
                        Some(id.clone()),
                        TaskState::Submitted,
                    )?;
                    return Ok((id, true));
                }
                Lookup::Absent => {}
                Lookup::Unknown => return Err(self.unknown_submission(None)),
            }
        }
        self.create(key, external_id, s, true)
    }

    fn create(
        &self,
        key: &str,
        external_id: &str,
        s: &Submission<'_>,
        may_resend: bool,
    ) -> Result<(String, bool)> {
        self.save(key, s, external_id, None, TaskState::Submitting)?;
        let request = match self.request(s, external_id, true) {
            Ok(r) => r,
            Err(e) => {
                self.forget(key);
                return Err(e);
            }
        };
        self.set_stage("submitting", 0);
        let body = self.adapter.create_body(&request);
        let failure = match self.client.call(
            Call::Create,
            "POST",
            &self.adapter.create_path(),
            Some(&body),
            self.waiter,
        ) {
            Ok(answer) => {
                let id = self.adapter.created_id(&answer)?;
                self.save(key, s, external_id, Some(id.clone()), TaskState::Submitted)?;
                return Ok((id, false));
            }
            Err(CallError::Stopped(e)) => {
                // Stopped before sending (at a retry wait): nothing was accepted.
                self.forget(key);
                return Err(e);
            }
            Err(CallError::Status {
                status,
                code,
                message,
            }) if status < 500 || self.client.create_not_accepted(status, code) => {
                self.forget(key);
                return Err(self.refused(status, code, &message, request.first_image.is_inline()));
            }
            Err(CallError::Status {
                status, message, ..
            }) => format!("HTTP {status}: {message}"),
            Err(CallError::NoAnswer { detail }) => detail,
        };
        // The create may have been accepted: never resend it blindly.
        match self.lookup(external_id)? {
            Lookup::Found(id) => {
                self.save(key, s, external_id, Some(id.clone()), TaskState::Submitted)?;
                Ok((id, false))
            }
            Lookup::Absent if may_resend => self.create(key, external_id, s, false),
            Lookup::Absent => {
                self.forget(key);
                Err(Error::model(format!(
                    "{} did not accept the request: {failure}",
                    self.title()
                ))
                .with_hint("try again later"))
            }
            Lookup::Unknown => Err(self.unknown_submission(Some(&failure))),
        }
    }

    /// Finds a task by Kinema's external id, where the provider keeps one.
    fn lookup(&self, external_id: &str) -> Result<Lookup> {
        let Some(path) = self.adapter.lookup_path(external_id) else {
            return Ok(Lookup::Unknown);
        };
        match self
            .client
            .call(Call::Read, "GET", &path, None, self.waiter)
        {
            Ok(answer) => Ok(self
                .adapter
                .created_id(&answer)
                .map_or(Lookup::Unknown, Lookup::Found)),
            Err(CallError::Status { status: 404, .. }) => Ok(Lookup::Absent),
            Err(CallError::Stopped(e)) => Err(e),
            Err(_) => Ok(Lookup::Unknown),
        }
    }

    fn unknown_submission(&self, failure: Option<&str>) -> Error {
        Error::model(format!(
            "the request to {} may have been accepted (and billed), but its answer never arrived{}",
            self.title(),
            failure.map(|f| format!(" ({f})")).unwrap_or_default()
        ))
        .with_hint(format!(
            "Kinema does not send it again on its own; check the tasks in your {} account, then run again with --force to submit anew",
            self.title()
        ))
    }

    fn refused(&self, status: u16, code: Option<i64>, message: &str, inline_image: bool) -> Error {
        let title = self.title();
        let code_text = code.map(|c| format!(", code {c}")).unwrap_or_default();
        match (status, code) {
            (401, _) | (403, _) => Error::model(format!(
                "{title} refused the API key (HTTP {status}{code_text}): {message}"
            ))
            .with_hint(format!(
                "check {}; keys are at {}",
                self.provider.key_env.join(" and "),
                self.provider.key_url
            )),
            (_, Some(1301)) => Error::invalid(
                format!("{title} refused the request in moderation (code 1301): {message}"),
                "change the picture or the prompt",
            ),
            (402, _) | (429, Some(1100..=1102)) => Error::model(format!(
                "{title} refused the request because of the account (HTTP {status}{code_text}): {message}"
            ))
            .with_hint(format!("top up or check the account at {}", self.provider.key_url)),
            (429, _) | (500.., _) => Error::model(format!(
                "{title} is busy and did not accept the request (HTTP {status}{code_text}): {message}"
            ))
            .with_hint("try again in a few minutes"),
            _ => {
                let hint = if self.provider.name == "luma" && inline_image {
                    format!("if Luma refused the inline image, set {UPLOAD_URL_ENV} so pictures are uploaded and sent as URLs (docs/PROVIDERS.md)")
                } else {
                    "check the request against docs/PROVIDERS.md; Kinema checked it against its table, so the provider's rules may have changed".to_string()
                };
                Error::invalid(
                    format!("{title} refused the request (HTTP {status}{code_text}): {message}"),
                    hint,
                )
            }
        }
    }

    fn stop(&self, e: Error) -> Stop {
        if self.waiter.interrupt.load(Ordering::SeqCst) || Instant::now() >= self.waiter.deadline {
            Stop::Halted(e)
        } else {
            Stop::Kept(e)
        }
    }

    fn get_task(&self, task_id: &str) -> std::result::Result<Value, Stop> {
        let title = self.title();
        match self.client.call(
            Call::Read,
            "GET",
            &self.adapter.task_path(task_id),
            None,
            self.waiter,
        ) {
            Ok(answer) => Ok(answer),
            Err(CallError::Stopped(e)) => Err(self.stop(e)),
            Err(CallError::Status { status: 404, .. }) => Err(Stop::Ended(
                Error::model(format!("{title} has no task {task_id} any more"))
                    .with_hint("it may have been deleted; run again to submit a new one"),
            )),
            Err(CallError::Status {
                status, message, ..
            }) => Err(Stop::Kept(
                Error::model(format!(
                    "cannot get the state of {title} task {task_id} (HTTP {status}): {message}"
                ))
                .with_hint("a batch or service run resumes this task when run again"),
            )),
            Err(CallError::NoAnswer { detail }) => Err(Stop::Kept(
                Error::model(format!(
                    "cannot reach {title} to follow task {task_id}: {detail}"
                ))
                .with_hint(
                    "check the network; a batch or service run resumes this task when run again",
                ),
            )),
        }
    }

    fn poll(&self, task_id: &str) -> std::result::Result<String, Stop> {
        let title = self.title();
        loop {
            let answer = self.get_task(task_id)?;
            match self.adapter.phase(&answer).map_err(Stop::Kept)? {
                Phase::Queued(_) => self.set_stage("queued", 0),
                Phase::Throttled => self.set_stage("throttled", 0),
                Phase::Running(p) => self.set_stage(
                    "generating",
                    (p.unwrap_or(0.0).clamp(0.0, 1.0) * 900.0) as u64,
                ),
                Phase::Succeeded(url) => return Ok(url),
                Phase::Failed {
                    code,
                    message,
                    moderation,
                } => {
                    let code = code.map(|c| format!("{c}: ")).unwrap_or_default();
                    return Err(Stop::Ended(if moderation {
                        Error::invalid(
                            format!("{title} refused the clip in moderation ({code}{message})"),
                            "change the picture or the prompt; no output was written",
                        )
                    } else {
                        Error::model(format!("{title} task {task_id} failed ({code}{message})"))
                            .with_hint("try again, or try another prompt or model")
                    }));
                }
                Phase::Cancelled => {
                    return Err(Stop::Ended(
                        Error::model(format!("{title} task {task_id} was cancelled at {title}"))
                            .with_hint("run again to submit a new one"),
                    ))
                }
            }
            let poll = &self.provider.poll;
            let wait = poll.interval_s * (1.0 + poll.jitter * fastrand::f64());
            if let Err(e) = self.waiter.sleep(wait) {
                return Err(self.stop(e));
            }
        }
    }

    /// Cancels the task where the provider can; says what happened, for the user.
    fn cancel(&self, task_id: &str, key: &str) -> String {
        let title = self.title();
        let Some(path) = self.adapter.cancel_path(task_id) else {
            return format!(
                "{title} cannot cancel a task: {task_id} runs to its end and is billed; a batch or service run picks up its video when run again"
            );
        };
        // A quiet waiter: no interrupt, no progress (this may run while unwinding).
        let calm = AtomicBool::new(false);
        let quiet = || {};
        let waiter = Waiter {
            scale: TimeScale(self.waiter.scale.0),
            interrupt: &calm,
            deadline: Instant::now() + Duration::from_secs(30),
            what: format!("{title} to cancel task {task_id}"),
            tick: &quiet,
        };
        match self
            .client
            .call(Call::Cancel, "DELETE", &path, None, &waiter)
        {
            Ok(_) | Err(CallError::Status { status: 404, .. }) => {
                self.forget(key);
                format!("{title} task {task_id} was cancelled; nothing was written")
            }
            Err(e) => format!(
                "cancelling {title} task {task_id} failed ({e:?}); it may still run and be billed"
            ),
        }
    }

    fn download(
        &self,
        task_id: &str,
        key: &str,
        mut url: String,
    ) -> Result<(tempfile::NamedTempFile, u64)> {
        let file = tempfile::Builder::new()
            .prefix("kinema-video-")
            .suffix(".mp4")
            .tempfile()
            .map_err(|e| {
                Error::output("cannot create a temporary file for the video").with_source(e)
            })?;
        let title = self.title();
        for attempt in 0..2 {
            self.set_stage("downloading", 900);
            match fetch(
                self.client.agent(),
                &url,
                file.path(),
                &self.provider.poll,
                self.waiter,
            )? {
                Fetch::Done(bytes) => {
                    check_decodes(file.path())?;
                    return Ok((file, bytes));
                }
                Fetch::Expired(status) if attempt == 0 => {
                    // Links are signed for a limited time: the task may give a fresh one.
                    let answer = self.get_task(task_id).map_err(|s| match s {
                        Stop::Ended(e) | Stop::Halted(e) | Stop::Kept(e) => e,
                    })?;
                    match self.adapter.phase(&answer)? {
                        Phase::Succeeded(fresh) if fresh != url => url = fresh,
                        _ => return Err(self.expired(task_id, key, status)),
                    }
                }
                Fetch::Expired(status) => return Err(self.expired(task_id, key, status)),
            }
        }
        Err(Error::internal(format!(
            "{title}: the download loop ended without a result"
        )))
    }

    fn expired(&self, task_id: &str, key: &str, status: u16) -> Error {
        self.forget(key);
        Error::model(format!(
            "the download link of {} task {task_id} has expired (HTTP {status})",
            self.title()
        ))
        .with_hint("providers keep results for a limited time (Runway about a day); run again to submit a new task")
    }
}

/// The downloaded file must be an MP4 whose first picture decodes.
fn check_decodes(path: &std::path::Path) -> Result<()> {
    let mut decoded = false;
    let result = kinema_media::visit_video(path, &mut |_| {
        decoded = true;
        Err(Error::internal("first picture decoded"))
    });
    match result {
        _ if decoded => Ok(()),
        Ok(_) => Err(Error::model("the downloaded video has no pictures")),
        Err(e) => Err(Error::model(format!(
            "the downloaded video is not a readable MP4: {}",
            e.message
        ))
        .with_hint("try again; the download may have been corrupted")),
    }
}
