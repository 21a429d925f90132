//! An account in an emulator (moto or MiniStack) seen through the SDK: the
//! clients, what the account holds, and a snapshot to compare before and
//! after a command that must change nothing.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const POOL_ID: &str = "us-east-1_AbC123xyz";
pub const CLIENT_ID: &str = "4tq9s1exampleclient";
pub const STACK: &str = "VoiceLearningAssistantStack";
pub const SESSION_FN: &str = "voice-learning-session-persistence";
pub const CONTEXT_FN: &str = "voice-learning-context-manager";

/// SDK clients for an emulator's endpoint, with its own runtime.
pub struct Account {
    rt: tokio::runtime::Runtime,
    pub conf: aws_config::SdkConfig,
}

/// The SDK configuration for an emulator at `endpoint` (test credentials and region).
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(emulator::TEST_REGION))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            emulator::TEST_ACCESS_KEY_ID,
            emulator::TEST_SECRET_ACCESS_KEY,
            None,
            None,
            "test",
        ))
        .load()
        .await
}

/// Both function zips in `dir`, each holding a `bootstrap` with the given contents.
pub fn zips(dir: &Path, session: &str, context: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    for (f, body) in [(SESSION_FN, session), (CONTEXT_FN, context)] {
        let file = std::fs::File::create(dir.join(format!("{f}.zip"))).unwrap();
        let mut z = zip::ZipWriter::new(file);
        let opts = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
        z.start_file("bootstrap", opts).unwrap();
        z.write_all(body.as_bytes()).unwrap();
        z.finish().unwrap();
    }
    dir.to_path_buf()
}

impl Account {
    pub fn new(endpoint: &str) -> Account {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let conf = rt.block_on(sdk_config(endpoint));
        Account { rt, conf }
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
    pub fn kms(&self) -> aws_sdk_kms::Client {
        aws_sdk_kms::Client::new(&self.conf)
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
