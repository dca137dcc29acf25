//! Loopback fakes of the Runway, Luma and Kling APIs, written from their documentation,
//! for tests of this crate, the jobs crate, the server and the CLI (`testing` feature).
//!
//! Each fake checks what a real provider checks and what Kinema must get right: method,
//! path, headers (the bearer key, Runway's `X-Runway-Version`, Kling's HS256 token and its
//! claims), the JSON field names, types and allowed values, and the picture itself. A
//! request that breaks a rule is refused the way the provider would refuse it and recorded
//! as a *violation*, which tests assert never happens. Tasks walk through their states one
//! poll at a time, as a [`Script`] says, including throttling, `429` with `Retry-After`, a
//! `500` now and then, moderation failures and expired download links. The delivered
//! video is a real H.264 MP4 made from the picture the fake received: the character bobs
//! on its key colour.
//!
//! One fake per provider serves a whole test binary ([`FakeProvider::shared`]), since the
//! base URL reaches the engine through the environment; each test picks its scenario by
//! registering a [`Script`] for a prompt of its own.

mod kling;
mod luma;
mod runway;
mod server;
mod video;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

pub use server::UploadStore;
pub use video::delivered_video;

/// The Runway key the fake accepts (Runway keys are `key_` and 128 hex digits).
pub const RUNWAY_KEY: &str = "key_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
pub const LUMA_KEY: &str = "luma-test-key-0123456789";
pub const KLING_ACCESS_KEY: &str = "ak-kinema-test";
pub const KLING_SECRET_KEY: &str = "sk-kinema-test-secret";

/// Which API a fake plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Vendor {
    Runway,
    Luma,
    Kling,
}

impl Vendor {
    pub fn engine(self) -> &'static str {
        match self {
            Vendor::Runway => "runway",
            Vendor::Luma => "luma",
            Vendor::Kling => "kling",
        }
    }
}

/// One state a task shows for one poll.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    Queued,
    /// Runway's THROTTLED (the others show it as queued).
    Throttled,
    Running(f64),
    Succeeded,
    Failed {
        code: String,
        message: String,
    },
}

/// An error answer the fake gives instead of the real one.
#[derive(Clone, Debug, PartialEq)]
pub struct Injected {
    pub status: u16,
    pub retry_after: Option<u32>,
    pub body: Value,
}

impl Injected {
    pub fn new(status: u16, body: Value) -> Self {
        Injected {
            status,
            retry_after: None,
            body,
        }
    }

    pub fn retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds);
        self
    }
}

/// What the fake does with a task whose prompt registered this script.
#[derive(Clone, Debug)]
pub struct Script {
    /// Answers to the first creates, each used once, before one is accepted.
    pub create_failures: Vec<Injected>,
    /// Accept the create, then answer it with this error instead (the answer is "lost").
    pub lose_create_answer: Option<Injected>,
    /// `(n, answer)`: the n-th poll of the task (0-based) gets this answer, once.
    pub poll_failures: Vec<(usize, Injected)>,
    /// The states, one per poll; the last one stays.
    pub steps: Vec<Step>,
    /// How many download links handed out are already expired (403).
    pub expired_links: usize,
    /// While set, a task does not move past its last `Running` step.
    pub hold: Option<Arc<AtomicBool>>,
    /// Luma only: refuse data URIs as keyframe URLs (as Luma's docs say it may).
    pub refuse_data_uris: bool,
    /// Frames per second and longer side of the delivered video.
    pub video_fps: u32,
    pub video_long_side: u32,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            create_failures: Vec::new(),
            lose_create_answer: None,
            poll_failures: Vec::new(),
            steps: vec![Step::Queued, Step::Running(0.5), Step::Succeeded],
            expired_links: 0,
            hold: None,
            refuse_data_uris: false,
            video_fps: 24,
            video_long_side: 192,
        }
    }
}

/// A request the fake received.
#[derive(Clone, Debug)]
pub struct Logged {
    pub method: String,
    pub path: String,
    /// The prompt of the task it concerns, where known.
    pub prompt: Option<String>,
    pub status: u16,
}

/// A task the fake holds.
#[derive(Clone, Debug)]
pub(crate) struct FakeTask {
    pub id: String,
    pub external_id: Option<String>,
    pub prompt: String,
    pub body: Value,
    pub picture: kinema_core::Frame,
    pub duration_s: u32,
    pub polls: usize,
    pub step: usize,
    pub cancelled: bool,
    pub links_given: usize,
    pub video: Option<Arc<Vec<u8>>>,
}

impl FakeTask {
    pub fn new(
        id: String,
        prompt: &str,
        body: Value,
        picture: kinema_core::Frame,
        duration_s: u32,
    ) -> Self {
        FakeTask {
            id,
            external_id: None,
            prompt: prompt.to_string(),
            body,
            picture,
            duration_s,
            polls: 0,
            step: 0,
            cancelled: false,
            links_given: 0,
            video: None,
        }
    }
}

#[derive(Default)]
pub(crate) struct State {
    pub log: Vec<Logged>,
    pub violations: Vec<String>,
    pub scripts: HashMap<String, Script>,
    /// Create failures already used, per prompt.
    pub create_failures_used: HashMap<String, usize>,
    pub lost_answers_used: HashMap<String, usize>,
    pub poll_failures_used: HashMap<(String, usize), bool>,
    pub tasks: Vec<FakeTask>,
    pub next_id: u64,
}

impl State {
    pub fn script(&self, prompt: &str) -> Script {
        self.scripts.get(prompt).cloned().unwrap_or_default()
    }

    pub fn task_mut(&mut self, id: &str) -> Option<&mut FakeTask> {
        self.tasks
            .iter_mut()
            .find(|t| t.id == id || t.external_id.as_deref() == Some(id))
    }

    pub fn new_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{:08}", self.next_id)
    }

    /// Applies the prompt's script to a valid create: a scripted refusal, or a new task
    /// (whose answer the script may lose).
    pub fn create(
        &mut self,
        prompt: &str,
        id_prefix: &str,
        make: impl FnOnce(String) -> FakeTask,
    ) -> Created {
        let script = self.script(prompt);
        let used = self
            .create_failures_used
            .entry(prompt.to_string())
            .or_insert(0);
        if let Some(failure) = script.create_failures.get(*used) {
            *used += 1;
            return Created::Refused(failure.clone());
        }
        let id = self.new_id(id_prefix);
        self.tasks.push(make(id.clone()));
        let lost = self
            .lost_answers_used
            .entry(prompt.to_string())
            .or_insert(0);
        match (&script.lose_create_answer, *lost) {
            (Some(answer), 0) => {
                *lost += 1;
                Created::Lost(answer.clone())
            }
            _ => Created::Made(id),
        }
    }

    /// What a poll of task `id` answers: an injected failure (once), or the step it
    /// shows now (the task then moves on unless it is held).
    pub fn poll(&mut self, id: &str) -> Polled {
        let Some(task) = self.task_mut(id).cloned() else {
            return Polled::Missing;
        };
        let script = self.script(&task.prompt);
        let failure = script
            .poll_failures
            .iter()
            .find(|(n, _)| *n == task.polls)
            .map(|(_, f)| f.clone());
        if let Some(f) = failure {
            if self
                .poll_failures_used
                .insert((task.id.clone(), task.polls), true)
                .is_none()
            {
                if let Some(t) = self.task_mut(id) {
                    t.polls += 1;
                }
                return Polled::Failure(task, f);
            }
        }
        let (step, _) = self.advance(&task.id).unwrap_or((Step::Succeeded, 0));
        Polled::Step(task, step)
    }

    /// The step a poll shows now, advancing the task unless it is held.
    pub fn advance(&mut self, id: &str) -> Option<(Step, usize)> {
        let t = self.tasks.iter().position(|t| t.id == id)?;
        let prompt = self.tasks[t].prompt.clone();
        let script = self.script(&prompt);
        let task = &mut self.tasks[t];
        let poll = task.polls;
        task.polls += 1;
        let last = script.steps.len().saturating_sub(1);
        let held = script
            .hold
            .as_ref()
            .is_some_and(|h| h.load(Ordering::SeqCst));
        let step = script
            .steps
            .get(task.step)
            .cloned()
            .unwrap_or(Step::Succeeded);
        let next_is_end = matches!(
            script.steps.get(task.step + 1),
            Some(Step::Succeeded | Step::Failed { .. })
        );
        if task.step < last && !(held && next_is_end) {
            task.step += 1;
        }
        Some((step, poll))
    }
}

/// The answer to a create.
pub(crate) enum Created {
    /// A scripted refusal: no task was made.
    Refused(Injected),
    /// The task was made, but this error is answered instead.
    Lost(Injected),
    Made(String),
}

/// The answer to a poll.
pub(crate) enum Polled {
    Missing,
    Failure(FakeTask, Injected),
    Step(FakeTask, Step),
}

/// A running fake.
pub struct FakeProvider {
    pub vendor: Vendor,
    addr: SocketAddr,
    pub(crate) state: Arc<Mutex<State>>,
}

impl FakeProvider {
    /// Starts a fake on a free loopback port; it lives as long as the process.
    pub fn start(vendor: Vendor) -> FakeProvider {
        let state = Arc::new(Mutex::new(State::default()));
        let addr = server::serve(vendor, state.clone());
        FakeProvider {
            vendor,
            addr,
            state,
        }
    }

    /// The fake of `vendor` for this test binary, with its environment set: base URL,
    /// keys, and a time scale that turns seconds of polling into milliseconds.
    pub fn shared(vendor: Vendor) -> &'static FakeProvider {
        static FAKES: OnceLock<Mutex<HashMap<Vendor, &'static FakeProvider>>> = OnceLock::new();
        let mut map = FAKES
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        map.entry(vendor).or_insert_with(|| {
            let fake: &'static FakeProvider = Box::leak(Box::new(FakeProvider::start(vendor)));
            for (k, v) in fake.env() {
                std::env::set_var(k, v);
            }
            fake
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What a process needs in its environment to use this fake.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![(crate::wait::TIME_SCALE_ENV.to_string(), "0.001".to_string())];
        match self.vendor {
            Vendor::Runway => {
                env.push(("KINEMA_RUNWAY_BASE_URL".into(), self.url()));
                env.push(("RUNWAYML_API_SECRET".into(), RUNWAY_KEY.into()));
            }
            Vendor::Luma => {
                env.push(("KINEMA_LUMA_BASE_URL".into(), self.url()));
                env.push(("LUMAAI_API_KEY".into(), LUMA_KEY.into()));
            }
            Vendor::Kling => {
                env.push(("KINEMA_KLING_BASE_URL".into(), self.url()));
                env.push(("KLING_ACCESS_KEY".into(), KLING_ACCESS_KEY.into()));
                env.push(("KLING_SECRET_KEY".into(), KLING_SECRET_KEY.into()));
            }
        }
        env
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Tasks created with `prompt` follow `script`.
    pub fn script(&self, prompt: &str, script: Script) {
        self.lock().scripts.insert(prompt.to_string(), script);
    }

    /// Requests concerning tasks of `prompt` (creates included).
    pub fn requests(&self, prompt: &str) -> Vec<Logged> {
        self.lock()
            .log
            .iter()
            .filter(|l| l.prompt.as_deref() == Some(prompt))
            .cloned()
            .collect()
    }

    /// Accepted creates (tasks made) for `prompt`.
    pub fn tasks_created(&self, prompt: &str) -> usize {
        self.lock()
            .tasks
            .iter()
            .filter(|t| t.prompt == prompt)
            .count()
    }

    /// Create requests received for `prompt`, accepted or not.
    pub fn create_requests(&self, prompt: &str) -> usize {
        self.requests(prompt)
            .iter()
            .filter(|l| l.method == "POST")
            .count()
    }

    /// Status polls (GET requests) received for the tasks of `prompt`.
    pub fn polls(&self, prompt: &str) -> usize {
        self.requests(prompt)
            .iter()
            .filter(|l| l.method == "GET")
            .count()
    }

    /// Cancel requests received for `prompt`.
    pub fn cancels(&self, prompt: &str) -> usize {
        self.requests(prompt)
            .iter()
            .filter(|l| l.method == "DELETE")
            .count()
    }

    /// The create body of the first task made with `prompt`.
    pub fn created_body(&self, prompt: &str) -> Option<Value> {
        self.lock()
            .tasks
            .iter()
            .find(|t| t.prompt == prompt)
            .map(|t| t.body.clone())
    }

    /// The picture the first task of `prompt` was given.
    pub fn received_picture(&self, prompt: &str) -> Option<kinema_core::Frame> {
        self.lock()
            .tasks
            .iter()
            .find(|t| t.prompt == prompt)
            .map(|t| t.picture.clone())
    }

    /// Every rule a request broke, across all prompts; tests assert there are none.
    pub fn violations(&self) -> Vec<String> {
        self.lock().violations.clone()
    }
}
