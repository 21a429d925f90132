//! Shared harness for the `deploy_*` tests: a moto server per test, the
//! built `xtask` binary run against it with a clean environment, small fake
//! function zips (so no release build is needed: `--artifacts-dir`), and SDK
//! clients to check what the commands did.

#![allow(dead_code)] // each test file uses a different part of the harness

use emulator::{MotoOptions, MotoServer};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const POOL_ID: &str = "us-east-1_AbC123xyz";
pub const CLIENT_ID: &str = "4tq9s1exampleclient";
pub const STACK: &str = "VoiceLearningAssistantStack";
pub const SESSION_FN: &str = "voice-learning-session-persistence";
pub const CONTEXT_FN: &str = "voice-learning-context-manager";

pub struct Harness {
    pub moto: MotoServer,
    pub dir: PathBuf,
    rt: tokio::runtime::Runtime,
    conf: aws_config::SdkConfig,
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "expected success\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
    pub fn failed(self) -> Self {
        assert_ne!(
            self.code, 0,
            "expected failure\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\n{}",
                self.stdout, self.stderr
            )
        })
    }
    /// stdout and stderr together.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

pub fn sha256_hex(path: &Path) -> String {
    lambda_package::sha256_hex(&std::fs::read(path).unwrap())
}

impl Harness {
    pub fn start(name: &str) -> Self {
        let moto = MotoServer::start(MotoOptions::default()).expect("moto starts");
        let dir = std::env::temp_dir().join(format!(
            "xtask-{name}-{}-{}",
            std::process::id(),
            moto.port()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let conf = rt.block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .endpoint_url(moto.endpoint_url())
                .region(aws_sdk_sts::config::Region::new(emulator::TEST_REGION))
                .credentials_provider(aws_sdk_sts::config::Credentials::new(
                    emulator::TEST_ACCESS_KEY_ID,
                    emulator::TEST_SECRET_ACCESS_KEY,
                    None,
                    None,
                    "test",
                ))
                .load(),
        );
        Harness {
            moto,
            dir,
            rt,
            conf,
        }
    }

    /// A command for the xtask binary with only the emulator's environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_xtask"));
        c.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.dir)
            .env("AWS_CONFIG_FILE", self.dir.join("no-aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.dir.join("no-aws-credentials"),
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in self.moto.client_env() {
            c.env(k, v);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_cmd(self.command(args))
    }

    pub fn run_cmd(&self, mut c: Command) -> Run {
        let t = Instant::now();
        let out = c.output().expect("xtask runs");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed: t.elapsed(),
        }
    }

    /// A directory with both function zips, each holding a `bootstrap` with `contents`.
    pub fn zips(&self, name: &str, session: &str, context: &str) -> PathBuf {
        let d = self.dir.join(name);
        std::fs::create_dir_all(&d).unwrap();
        for (f, body) in [(SESSION_FN, session), (CONTEXT_FN, context)] {
            let file = std::fs::File::create(d.join(format!("{f}.zip"))).unwrap();
            let mut z = zip::ZipWriter::new(file);
            let opts = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
            z.start_file("bootstrap", opts).unwrap();
            z.write_all(body.as_bytes()).unwrap();
            z.finish().unwrap();
        }
        d
    }

    /// A JSON template file (for `--template-file`).
    pub fn template_file(&self, name: &str, template: &serde_json::Value) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, serde_json::to_string_pretty(template).unwrap()).unwrap();
        p
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    pub fn cfn(&self) -> aws_sdk_cloudformation::Client {
        aws_sdk_cloudformation::Client::new(&self.conf)
    }
    pub fn s3(&self) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.conf)
                .force_path_style(true)
                .build(),
        )
    }
    pub fn lambda(&self) -> aws_sdk_lambda::Client {
        aws_sdk_lambda::Client::new(&self.conf)
    }
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.conf)
    }

    /// Stacks that exist (not deleted): (name, status).
    pub fn stacks(&self) -> Vec<(String, String)> {
        let out = self.block_on(self.cfn().list_stacks().send()).unwrap();
        out.stack_summaries()
            .iter()
            .filter(|s| s.stack_status().map(|s| s.as_str()) != Some("DELETE_COMPLETE"))
            .map(|s| {
                (
                    s.stack_name().unwrap_or_default().to_string(),
                    s.stack_status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                )
            })
            .collect()
    }

    pub fn stack_status(&self, name: &str) -> Option<String> {
        self.stacks()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
    }

    pub fn stack_params(&self, name: &str) -> BTreeMap<String, String> {
        let out = self
            .block_on(self.cfn().describe_stacks().stack_name(name).send())
            .unwrap();
        out.stacks()[0]
            .parameters()
            .iter()
            .map(|p| {
                (
                    p.parameter_key().unwrap().to_string(),
                    p.parameter_value().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    pub fn deployed_template(&self, name: &str) -> serde_json::Value {
        let out = self
            .block_on(self.cfn().get_template().stack_name(name).send())
            .unwrap();
        serde_json::from_str(out.template_body().unwrap()).unwrap()
    }

    /// Change sets of the stack: (name, execution status).
    pub fn change_sets(&self, name: &str) -> Vec<(String, String)> {
        match self.block_on(self.cfn().list_change_sets().stack_name(name).send()) {
            Ok(out) => out
                .summaries()
                .iter()
                .map(|c| {
                    (
                        c.change_set_name().unwrap_or_default().to_string(),
                        c.execution_status()
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_default(),
                    )
                })
                .collect(),
            Err(_) => vec![],
        }
    }

    pub fn buckets(&self) -> Vec<String> {
        let out = self.block_on(self.s3().list_buckets().send()).unwrap();
        out.buckets()
            .iter()
            .filter_map(|b| b.name().map(str::to_string))
            .collect()
    }

    /// Every object key in every bucket, with its last-modified time.
    pub fn objects(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        for b in self.buckets() {
            let out = self
                .block_on(self.s3().list_objects_v2().bucket(&b).send())
                .unwrap();
            for o in out.contents() {
                m.insert(
                    format!("{b}/{}", o.key().unwrap()),
                    o.last_modified().map(|t| t.to_string()).unwrap_or_default(),
                );
            }
        }
        m
    }

    pub fn function_names(&self) -> Vec<String> {
        let out = self
            .block_on(self.lambda().list_functions().send())
            .unwrap();
        let mut v: Vec<String> = out
            .functions()
            .iter()
            .filter_map(|f| f.function_name().map(str::to_string))
            .collect();
        v.sort();
        v
    }

    pub fn table_names(&self) -> Vec<String> {
        let out = self.block_on(self.dynamodb().list_tables().send()).unwrap();
        out.table_names().to_vec()
    }

    /// Everything a deploy could have changed, to compare before and after a refused run.
    pub fn snapshot(&self) -> String {
        let stacks = self.stacks();
        let mut s = format!(
            "stacks={stacks:?}\nbuckets={:?}\nobjects={:?}\n",
            self.buckets(),
            self.objects()
        );
        for (name, _) in &stacks {
            s.push_str(&format!(
                "{name}: params={:?} changesets={:?} template={}\n",
                self.stack_params(name),
                self.change_sets(name),
                self.deployed_template(name)
            ));
        }
        s
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The synthesized template of the default stage, as deployed.
pub fn template() -> serde_json::Value {
    stack::synth(&stack::StackOptions::default())
        .unwrap()
        .to_json_value()
}
