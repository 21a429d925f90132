//! What the deploy engine's tests share: recorded stack events, the
//! engine run in process against moto, fixtures.

use deploy::events::{Poll, StackEventsPage};
use deploy::options::{Artifacts, AwsOptions, DeployOptions, ParamOptions, RequireApproval};
use deploy::report::{Approval, Captured};
use deploy::watch::{PollError, StackSource};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use testkit::account::{Account, CLIENT_ID, POOL_ID};

/// A recorded sequence: the events before the operation, then one poll per step.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Recording {
    pub before: StackEventsPage,
    pub started_at: String,
    pub polls: Vec<Poll>,
    /// The stack's change time read before the operation, where recorded.
    #[serde(default)]
    pub changed_before: Option<String>,
}

/// The polls of a recording, one per call, then the last one again.
pub struct Replay {
    polls: std::vec::IntoIter<Poll>,
    last: Poll,
}

impl StackSource for Replay {
    async fn poll(&mut self) -> Result<Poll, PollError> {
        if let Some(p) = self.polls.next() {
            self.last = p;
        }
        Ok(self.last.clone())
    }
    fn cli_args(&self) -> String {
        "--stack-name S --region eu-west-1".into()
    }
}

/// A recording from `tests/fixtures/events/`, and its replay.
pub fn recording(name: &str) -> (Recording, Replay) {
    let rec: Recording = testkit::fixture::json(&format!("deploy/tests/fixtures/events/{name}"));
    let replay = Replay {
        polls: rec.polls.clone().into_iter(),
        last: Poll::default(),
    };
    (rec, replay)
}

/// The SDK replay of a recorded account from `tests/fixtures/verify/`.
pub fn verify_replay(name: &str) -> testkit::replay::Replay {
    testkit::replay::Replay::from_fixture(&format!("deploy/tests/fixtures/verify/{name}"))
}

/// The synthesized template of the default stage, as deployed.
pub fn template() -> serde_json::Value {
    stack::synth(&stack::StackOptions::default())
        .unwrap()
        .to_json_value()
}

/// A moto server, an account in it, a scratch directory.
pub struct Moto {
    pub server: emulator::MotoServer,
    pub account: Account,
    pub dir: PathBuf,
}

impl Moto {
    pub fn start(name: &str) -> Moto {
        let server = emulator::MotoServer::start(Default::default()).expect("moto starts");
        let dir = std::env::temp_dir().join(format!(
            "deploy-{name}-{}-{}",
            std::process::id(),
            server.port()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let account = Account::new(&server.endpoint_url());
        Moto {
            server,
            account,
            dir,
        }
    }

    /// Fake function zips in `<dir>/<name>`.
    pub fn zips(&self, name: &str, session: &str, context: &str) -> PathBuf {
        testkit::account::zips(&self.dir.join(name), session, context)
    }

    /// A deploy of the zips in `artifacts` to this emulator, no smoke test.
    pub fn deploy_options(&self, artifacts: &Path) -> DeployOptions {
        DeployOptions {
            aws: AwsOptions {
                region: Some(emulator::TEST_REGION.into()),
                profile: None,
                endpoint_url: Some(self.server.endpoint_url()),
                static_credentials: Some((
                    emulator::TEST_ACCESS_KEY_ID.into(),
                    emulator::TEST_SECRET_ACCESS_KEY.into(),
                )),
            },
            stage: None,
            params: ParamOptions {
                user_pool_id: Some(POOL_ID.into()),
                user_pool_client_id: Some(CLIENT_ID.into()),
                ..ParamOptions::default()
            },
            require_approval: RequireApproval::Broadening,
            yes: false,
            allow_replacement: false,
            outputs_file: None,
            artifacts: Artifacts::Dir(artifacts.to_path_buf()),
            template: None,
            smoke: false,
            protect: true,
            role_arn: None,
        }
    }

    /// Runs the engine in process; nobody can answer its questions.
    pub fn deploy(
        &self,
        opts: &DeployOptions,
    ) -> (deploy::Result<deploy::apply::Outcome>, Captured) {
        let mut report = Captured::default();
        let mut nobody = |_: &str| Approval::NoTerminal;
        let r = self
            .account
            .block_on(deploy::apply::run(opts, &mut report, &mut nobody));
        (r, report)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
