//! The deployment files under `deploy/` cannot run here (no systemd, Docker or cluster in
//! CI), so they are checked for shape instead: units have their sections and directives,
//! YAML parses and has what Compose and Kubernetes require, and every `kinema …` command
//! in them, and in docs/DEPLOY.md, is one this CLI accepts.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use clap::Parser;
use yaml_rust2::{Yaml, YamlLoader};

use crate::cli::Cli;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// `NAME=value` lines of an env file.
fn env_file(rel: &str) -> HashMap<String, String> {
    read(rel)
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// Replaces `${NAME}` (systemd, Compose) and `$(NAME)` (Kubernetes) with `vars`.
fn substitute(text: &str, vars: &HashMap<String, String>) -> String {
    let mut out = text.to_string();
    for (k, v) in vars {
        out = out
            .replace(&format!("${{{k}}}"), v)
            .replace(&format!("$({k})"), v);
    }
    assert!(
        !out.contains("${") && !out.contains("$("),
        "unresolved variable in: {out}"
    );
    out
}

/// Asserts that `args` (after `kinema`) parse as a command line.
fn parses(args: &[String], origin: &str) {
    let argv = std::iter::once("kinema".to_string()).chain(args.iter().cloned());
    if let Err(e) = Cli::try_parse_from(argv) {
        panic!("{origin}: `kinema {}` does not parse:\n{e}", args.join(" "));
    }
}

fn sample_vars() -> HashMap<String, String> {
    let mut vars = env_file("deploy/systemd/kinema.env.example");
    vars.extend(env_file("deploy/compose/example.env"));
    vars.insert("KINEMA_METRICS_PORT".into(), "9464".into());
    vars.insert("POD_NAME".into(), "kinema-worker-cpu-7d9f".into());
    vars
}

#[test]
fn systemd_units_have_their_sections_and_valid_commands() {
    const DIRECTIVES: &[&str] = &[
        "Description",
        "Documentation",
        "After",
        "Wants",
        "Type",
        "User",
        "Group",
        "Environment",
        "EnvironmentFile",
        "StateDirectory",
        "ExecStart",
        "Restart",
        "RestartSec",
        "KillSignal",
        "TimeoutStopSec",
        "NoNewPrivileges",
        "ProtectSystem",
        "ProtectHome",
        "PrivateTmp",
        "ReadWritePaths",
        "WantedBy",
    ];
    let vars = sample_vars();
    for unit in ["kinema-api.service", "kinema-worker@.service"] {
        let text = read(&format!("deploy/systemd/{unit}"));
        let mut sections = Vec::new();
        let mut exec = None;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                sections.push(name.to_string());
                continue;
            }
            let (key, value) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("{unit}: not KEY=VALUE: {line}"));
            assert!(
                DIRECTIVES.contains(&key),
                "{unit}: unexpected directive {key}"
            );
            assert!(!sections.is_empty(), "{unit}: {key} before any section");
            if key == "ExecStart" {
                exec = Some(value.to_string());
            }
        }
        assert_eq!(sections, ["Unit", "Service", "Install"], "{unit}");
        let exec = exec.unwrap_or_else(|| panic!("{unit} has no ExecStart"));
        let exec = substitute(&exec.replace("%H", "render1").replace("%i", "0"), &vars);
        let words = shlex::split(&exec).expect("shell words");
        assert_eq!(words[0], "/usr/local/bin/kinema", "{unit}");
        parses(&words[1..], unit);
    }
}

fn strings(y: &Yaml) -> Vec<String> {
    y.as_vec()
        .map(|v| {
            v.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_compose_file_parses_and_its_kinema_commands_are_valid() {
    let docs = YamlLoader::load_from_str(&read("deploy/compose/compose.yaml")).expect("YAML");
    let doc = &docs[0];
    let services = doc["services"].as_hash().expect("services");
    let names: Vec<&str> = services.keys().filter_map(Yaml::as_str).collect();
    for needed in ["postgres", "garage", "api", "worker", "proxy"] {
        assert!(names.contains(&needed), "compose has no {needed}");
    }
    let vars = sample_vars();
    let volumes = doc["volumes"].as_hash().expect("volumes");
    for (name, service) in services {
        let name = name.as_str().unwrap();
        // Compose merges `<<: *kinema`; yaml-rust2 leaves it as a key, so look there too.
        let image = service["image"]
            .as_str()
            .or_else(|| service["<<"]["image"].as_str())
            .unwrap_or_else(|| panic!("{name} has no image"));
        if image.starts_with("kinema") {
            let args: Vec<String> = strings(&service["command"])
                .iter()
                .map(|a| substitute(a, &vars))
                .collect();
            parses(&args, &format!("compose service {name}"));
        }
        for v in strings(&service["volumes"]) {
            let source = v.split(':').next().unwrap();
            if !source.starts_with('.') {
                assert!(
                    volumes.contains_key(&Yaml::String(source.into())),
                    "{name} mounts undeclared volume {source}"
                );
            } else {
                assert!(
                    repo().join("deploy/compose").join(source).exists(),
                    "{source}"
                );
            }
        }
    }
}

#[test]
fn kubernetes_manifests_parse_and_their_kinema_commands_are_valid() {
    let docs = YamlLoader::load_from_str(&read("deploy/kubernetes/kinema.yaml")).expect("YAML");
    let vars = sample_vars();
    let mut kinds = Vec::new();
    for doc in &docs {
        let kind = doc["kind"].as_str().expect("kind");
        assert!(
            doc["apiVersion"].as_str().is_some(),
            "{kind} has no apiVersion"
        );
        let name = doc["metadata"]["name"].as_str().expect("metadata.name");
        kinds.push(kind.to_string());
        if kind != "Deployment" {
            continue;
        }
        let spec = &doc["spec"];
        assert_eq!(
            spec["selector"]["matchLabels"], spec["template"]["metadata"]["labels"],
            "{name}: the selector must match the pod labels"
        );
        for c in spec["template"]["spec"]["containers"]
            .as_vec()
            .expect("containers")
        {
            let args: Vec<String> = strings(&c["args"])
                .iter()
                .map(|a| substitute(a, &vars))
                .collect();
            parses(&args, name);
            let ports: Vec<&str> = c["ports"]
                .as_vec()
                .map(|p| p.iter().filter_map(|p| p["name"].as_str()).collect())
                .unwrap_or_default();
            for probe in ["readinessProbe", "livenessProbe"] {
                if let Some(port) = c[probe]["httpGet"]["port"].as_str() {
                    assert!(
                        ports.contains(&port),
                        "{name}: {probe} uses undeclared port {port}"
                    );
                }
            }
        }
    }
    for needed in ["Deployment", "Service", "PodDisruptionBudget"] {
        assert!(kinds.iter().any(|k| k == needed), "no {needed}");
    }
}

#[test]
fn every_kinema_command_in_deploy_md_is_valid() {
    let vars = sample_vars();
    let doc = read("docs/DEPLOY.md");
    let mut checked = 0;
    // Inside a ```sh block: its commands; other blocks (diagrams) are not commands.
    let mut in_shell = None;
    for line in doc.lines() {
        if let Some(fence) = line.trim_start().strip_prefix("```") {
            in_shell = match in_shell {
                None => Some(matches!(fence.trim(), "sh" | "bash" | "shell")),
                Some(_) => None,
            };
            continue;
        }
        let line = line.trim();
        if in_shell != Some(true) || !line.starts_with("kinema ") {
            continue;
        }
        let command = line
            .split(" #")
            .next()
            .unwrap()
            .trim_end_matches('\\')
            .trim();
        let words = shlex::split(&substitute(command, &vars)).expect("shell words");
        parses(&words[1..], "docs/DEPLOY.md");
        checked += 1;
    }
    assert!(
        checked >= 3,
        "docs/DEPLOY.md shows {checked} kinema commands"
    );
}
