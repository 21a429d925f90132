//! `cargo xtask synth`: the template, printed, written or checked against
//! the committed one.

use crate::flags::{self, Format};
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::ExitCode;

/// The committed template, relative to the workspace root.
pub const COMMITTED_TEMPLATE: &str = "templates/VoiceLearningAssistantStack.yaml";

/// Synthesizes the template text for `stage` in `format`.
pub fn render(stage: Option<&str>, format: Format) -> Result<String> {
    render_for(stage, None, format)
}

/// The template `deploy` sends to `region` (`None`: every resource type).
pub fn render_for(stage: Option<&str>, region: Option<&str>, format: Format) -> Result<String> {
    let template = stack::synth(&stack::StackOptions {
        stage: stage.map(str::to_string),
        region: region.map(str::to_string),
    })?;
    Ok(match format {
        Format::Yaml => template.to_yaml(),
        Format::Json => template.to_json(),
    })
}

pub fn run(args: flags::Synth) -> Result<ExitCode> {
    let stage = args.stage.stage.as_deref();
    if args.check {
        if stage.is_some() || args.format != Format::Yaml {
            bail!("--check compares the default YAML template; drop --stage/--format");
        }
        let root = emulator::workspace_root();
        let (ok, message) = check(&root.join(COMMITTED_TEMPLATE))?;
        eprint!("{message}");
        // The API contract is generated from code too, and checked beside it.
        let (api_ok, message) = check_openapi(&root.join(functions::openapi::COMMITTED_PATH))?;
        eprint!("{message}");
        return Ok(if ok && api_ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    if let Some(s) = stage {
        stack::names::validate_stage(s)?;
    }
    let text = render(stage, args.format)?;
    match args.out {
        Some(path) => {
            // One sentence with what to do, not the bare OS error.
            let cannot = |e: std::io::Error| {
                anyhow::anyhow!(
                    "--out {}: cannot write it ({}): give a file path in a writable directory.",
                    path.display(),
                    e.kind()
                )
            };
            if path.is_dir() {
                bail!(
                    "--out {} is a directory: give a file path, e.g. {}.",
                    path.display(),
                    path.join("VoiceLearningAssistantStack.yaml").display()
                );
            }
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(cannot)?;
            }
            std::fs::write(&path, &text).map_err(cannot)?;
            eprintln!("wrote {} ({} bytes)", path.display(), text.len());
        }
        None => {
            use std::io::Write;
            // A closed pipe (e.g. `| head`) is not an error worth a message.
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `cargo xtask openapi`: writes the OpenAPI document of the HTTP API.
pub fn openapi(args: flags::Openapi) -> Result<ExitCode> {
    let path = args
        .out
        .unwrap_or_else(|| emulator::workspace_root().join(functions::openapi::COMMITTED_PATH));
    let text = functions::openapi::yaml();
    std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("wrote {} ({} bytes)", path.display(), text.len());
    Ok(ExitCode::SUCCESS)
}

/// Whether `path` holds the OpenAPI document the code generates.
pub fn check_openapi(path: &Path) -> Result<(bool, String)> {
    let fix = format!(
        "cargo xtask openapi --out {}",
        functions::openapi::COMMITTED_PATH
    );
    compare(path, &functions::openapi::yaml(), &fix)
}

/// Whether `path` holds what the code synthesizes, and what to tell the
/// user (with a unified diff when it does not).
pub fn check(path: &Path) -> Result<(bool, String)> {
    let want = render(None, Format::Yaml)?;
    compare(
        path,
        &want,
        &format!("cargo xtask synth --out {COMMITTED_TEMPLATE}"),
    )
}

/// Whether `path` holds `want`; the message says how to fix it (`fix`).
fn compare(path: &Path, want: &str, fix: &str) -> Result<(bool, String)> {
    let have = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((
                false,
                format!(
                    "{} is missing. Run `{fix}` and commit it.\n",
                    path.display()
                ),
            ))
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let root = emulator::workspace_root();
    let shown = path
        .strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string();
    if have == want {
        return Ok((true, format!("{shown} is up to date\n")));
    }
    let diff = similar::TextDiff::from_lines(have.as_str(), want);
    Ok((
        false,
        format!(
            "{shown} is stale: the code generates something different.\n{}Run `{fix}` and commit the result.\n",
            diff.unified_diff()
                .context_radius(3)
                .header(&format!("{shown} (committed)"), "synthesized")
        ),
    ))
}

#[cfg(test)]
mod tests {
    /// A stale file: exit 1 with a diff naming both values, and nothing written.
    #[test]
    fn check_fails_with_a_diff_when_stale() {
        let dir = std::env::temp_dir().join(format!("xtask-synth-stale-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let stale = dir.join("stale.yaml");
        let edited = super::render(None, super::Format::Yaml)
            .unwrap()
            .replace("RetentionInDays: 30", "RetentionInDays: 7");
        std::fs::write(&stale, &edited).unwrap();
        let (ok, err) = super::check(&stale).unwrap();
        assert!(!ok);
        assert!(err.contains("is stale"), "{err}");
        let removed = err
            .lines()
            .any(|l| l.starts_with('-') && l.trim_end().ends_with("RetentionInDays: 7"));
        let added = err
            .lines()
            .any(|l| l.starts_with('+') && l.trim_end().ends_with("RetentionInDays: 30"));
        assert!(removed && added, "{err}");
        assert_eq!(
            std::fs::read_to_string(&stale).unwrap(),
            edited,
            "--check must not write"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
