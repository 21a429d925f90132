//! The deployed system end to end on MiniStack: the real function zips
//! (`xtask build --arch x86_64`), deployed by `xtask deploy` through
//! CloudFormation, called through API Gateway's JWT authorizer with Cognito
//! id tokens, then a no-op deploy, a code change, `rollback` and forward
//! again, `--hotswap`, `diff`, `verify` and `destroy`.
//!
//! moto (the other tests' emulator) does not run functions and skips API
//! Gateway; MiniStack runs both, and its Cognito issues tokens whose issuer
//! is the real one (`https://cognito-idp.<region>.amazonaws.com/<pool>`), so
//! the authorizer the template builds is exercised as deployed.
//!
//! `xtask build` runs in the test, for the host's architecture: about a
//! second when the zips are up to date, minutes for a cold release build.
//! The code change deploys the same binary behind a wrapper script (see
//! [`wrapped_zip`]) rather than a second release build.
//!
//! Known emulator gaps are asserted as such (exactly which checks fail, and
//! why), so a product regression cannot hide behind them:
//! - MiniStack's CloudFormation ignores a table's SSESpecification,
//!   TimeToLiveSpecification and PointInTimeRecoverySpecification, and a
//!   function's KmsKeyArn: `verify` reports those checks failing.
//! - Its `AUTH=true` IAM enforcement does not model KMS condition keys
//!   faithfully, so it is off: the roles' least privilege is covered by the
//!   functions' suite (recorded operations against the role's actions), not
//!   here.

use crate::support::{run_cmd, sha256_hex, xtask, Run, CONTEXT_FN, SESSION_FN, STACK};
use emulator::ministack::{MiniStack, MiniStackOptions};
use emulator::{alive, children_of};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use testkit::http::{claims_of, http, now, Resp};

const PASSWORD: &str = "Corr3ct-Horse-Battery!";
/// MiniStack runs the bootstraps on this machine, so they are built for its
/// architecture (x86_64 here and in CI).
const ARCH: &str = if cfg!(target_arch = "aarch64") {
    "arm64"
} else {
    "x86_64"
};
/// What the wrapped context-manager bootstrap prints when it starts.
const V2_MARKER: &str = "xtask-e2e: context-manager v2 (wrapped bootstrap)";

struct E2e {
    ms: Option<MiniStack>,
    dir: PathBuf,
    log: PathBuf,
    rt: tokio::runtime::Runtime,
    conf: aws_config::SdkConfig,
}

impl E2e {
    /// A MiniStack and a directory of its own for the test `name` (the
    /// tests run in parallel in one process).
    fn start(name: &str) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("ministack-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("ministack.log");
        let t = Instant::now();
        let ms = MiniStack::start(MiniStackOptions {
            log_file: Some(log.clone()),
            ..Default::default()
        })
        .expect("MiniStack starts");
        eprintln!(
            "MiniStack ready on {} in {:?}",
            ms.endpoint_url(),
            t.elapsed()
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let conf = rt.block_on(testkit::account::sdk_config(&ms.endpoint_url()));
        E2e {
            ms: Some(ms),
            dir,
            log,
            rt,
            conf,
        }
    }

    fn ms(&self) -> &MiniStack {
        self.ms.as_ref().expect("MiniStack is running")
    }

    /// The xtask binary with only MiniStack's environment, as a user would run it.
    fn run(&self, args: &[&str]) -> Run {
        run_cmd(xtask(&self.dir, &self.ms().client_env(), args))
    }

    /// One call of an AWS JSON-protocol API (Cognito, CloudWatch Logs) over
    /// plain HTTP: MiniStack routes on `X-Amz-Target` and, without `AUTH`,
    /// does not check signatures.
    fn aws_json(&self, target: &str, body: &Value) -> Value {
        let r = http(
            self.ms().port(),
            "POST",
            "/",
            &[
                ("X-Amz-Target", target),
                ("Content-Type", "application/x-amz-json-1.1"),
            ],
            &body.to_string(),
        );
        assert_eq!(r.status, 200, "{target}: {}", r.body);
        if r.body.is_empty() {
            Value::Null
        } else {
            r.json()
        }
    }

    fn cognito(&self, op: &str, body: Value) -> Value {
        self.aws_json(&format!("AWSCognitoIdentityProviderService.{op}"), &body)
    }

    /// Every message in a log group.
    fn log_messages(&self, group: &str) -> Vec<String> {
        let out = self.aws_json(
            "Logs_20140328.FilterLogEvents",
            &json!({ "logGroupName": group }),
        );
        out["events"]
            .as_array()
            .map(|e| {
                e.iter()
                    .filter_map(|x| x["message"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }
    fn cfn(&self) -> aws_sdk_cloudformation::Client {
        aws_sdk_cloudformation::Client::new(&self.conf)
    }
    fn lambda(&self) -> aws_sdk_lambda::Client {
        aws_sdk_lambda::Client::new(&self.conf)
    }
    fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.conf)
    }
    fn kms(&self) -> aws_sdk_kms::Client {
        aws_sdk_kms::Client::new(&self.conf)
    }

    fn code_sha256(&self, function: &str) -> String {
        self.block_on(
            self.lambda()
                .get_function_configuration()
                .function_name(function)
                .send(),
        )
        .unwrap()
        .code_sha256()
        .unwrap_or_default()
        .to_string()
    }

    /// The version `live` points at, and the code that version runs.
    fn live(&self, function: &str) -> (String, String) {
        let alias = self
            .block_on(
                self.lambda()
                    .get_alias()
                    .function_name(function)
                    .name("live")
                    .send(),
            )
            .unwrap();
        let version = alias.function_version().unwrap().to_string();
        let code = self
            .block_on(
                self.lambda()
                    .get_function_configuration()
                    .function_name(function)
                    .qualifier(&version)
                    .send(),
            )
            .unwrap()
            .code_sha256()
            .unwrap_or_default()
            .to_string();
        (version, code)
    }

    fn stack_outputs(&self) -> serde_json::Map<String, Value> {
        let out = self
            .block_on(self.cfn().describe_stacks().stack_name(STACK).send())
            .unwrap();
        out.stacks()[0]
            .outputs()
            .iter()
            .map(|o| {
                (
                    o.output_key().unwrap_or_default().to_string(),
                    Value::String(o.output_value().unwrap_or_default().to_string()),
                )
            })
            .collect()
    }
}

impl Drop for E2e {
    fn drop(&mut self) {
        // Stop MiniStack (and its functions) before anything else.
        drop(self.ms.take());
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(80).collect();
            eprintln!(
                "--- MiniStack log (last 80 lines; all of it and the test's files are kept in {})",
                self.dir.display()
            );
            for l in tail.into_iter().rev() {
                eprintln!("{l}");
            }
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A user of the deployed API, through MiniStack's execute-api endpoint.
struct Api<'a> {
    e2e: &'a E2e,
    /// `/_aws/execute-api/<api id>/$default`
    base: String,
}

impl<'a> Api<'a> {
    /// The API at `HttpApiUrl` (`https://<api id>.execute-api.<region>.amazonaws.com`),
    /// which MiniStack serves under `/_aws/execute-api/<api id>/$default`.
    fn of(e2e: &'a E2e, url: &str) -> Self {
        let api_id = url
            .strip_prefix("https://")
            .and_then(|u| {
                u.strip_suffix(&format!(
                    ".execute-api.{}.amazonaws.com",
                    emulator::TEST_REGION
                ))
            })
            .unwrap_or_else(|| panic!("unexpected HttpApiUrl {url}"));
        let endpoint = e2e.ms().endpoint_url();
        Api {
            e2e,
            base: e2e
                .ms()
                .execute_api_url(api_id, "$default")
                .strip_prefix(&endpoint)
                .unwrap()
                .to_string(),
        }
    }

    fn post(&self, route: &str, token: Option<&str>, body: &Value) -> Resp {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(a) = &auth {
            headers.push(("Authorization", a.as_str()));
        }
        http(
            self.e2e.ms().port(),
            "POST",
            &format!("{}/{route}", self.base),
            &headers,
            &body.to_string(),
        )
    }

    /// A call that must answer `status`; its JSON body.
    fn expect(&self, status: u16, route: &str, token: Option<&str>, body: Value) -> Value {
        let r = self.post(route, token, &body);
        assert_eq!(r.status, status, "POST /{route} {body} → {}", r.body);
        r.json()
    }

    /// A call the function answers with an error: its `error.code`.
    fn error(&self, status: u16, route: &str, token: &str, body: Value) -> String {
        let j = self.expect(status, route, Some(token), body);
        j["error"]["code"].as_str().unwrap_or_default().to_string()
    }
}

/// Release-builds both functions for [`ARCH`] with `xtask build` and copies the
/// zips to `dest` (so a concurrent build cannot change them under the test).
fn build_real_zips(dest: &Path) {
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["build", "--arch", ARCH])
        .current_dir(emulator::workspace_root())
        .stdin(Stdio::null())
        .output()
        .expect("xtask build runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "xtask build --arch {ARCH} failed\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("xtask build --arch {ARCH} took {:?}", t.elapsed());
    std::fs::create_dir_all(dest).unwrap();
    for f in [SESSION_FN, CONTEXT_FN] {
        let name = format!("{f}.zip");
        let built = stdout
            .lines()
            .map(str::trim)
            .find(|l| l.ends_with(&format!("/{name}")))
            .unwrap_or_else(|| panic!("xtask build named no {name}:\n{stdout}"));
        std::fs::copy(built, dest.join(&name)).unwrap();
        // The build's table names each zip's sha256: the copy is that build.
        let sha = sha256_hex(&dest.join(&name));
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(f) && l.trim_end().ends_with(&sha)),
            "{name} changed after the build (a concurrent build?):\n{stdout}"
        );
    }
}

/// "v2" of a function without a second release build: a zip whose
/// `bootstrap` is a shell script that prints [`V2_MARKER`] and execs the real
/// binary, kept beside it, with `SESSION_TOUCH_INTERVAL_SECONDS=0`. Its hash
/// differs (a code change to deploy), and the new code is visible through the
/// API: `add_turn` then refreshes the session item every time, so `list`'s
/// `turnCount` no longer lags.
fn wrapped_zip(real: &Path, out: &Path) {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(real).unwrap()).unwrap();
    let mut binary = Vec::new();
    archive
        .by_name("bootstrap")
        .unwrap()
        .read_to_end(&mut binary)
        .unwrap();
    let mut z = zip::ZipWriter::new(std::fs::File::create(out).unwrap());
    let opts = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    z.start_file("bootstrap", opts).unwrap();
    write!(
        z,
        "#!/bin/sh\necho '{V2_MARKER}' >&2\nexport SESSION_TOUCH_INTERVAL_SECONDS=0\nexec \"$(dirname \"$0\")/bootstrap-v1\" \"$@\"\n"
    )
    .unwrap();
    z.start_file("bootstrap-v1", opts).unwrap();
    z.write_all(&binary).unwrap();
    z.finish().unwrap();
}

/// Lambda's CodeSha256 of a zip: base64 of its sha256.
fn lambda_sha256(zip: &Path) -> String {
    use base64::Engine;
    let hex = sha256_hex(zip);
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Cognito: a user pool, the app client the stack trusts, another client,
/// and two users with permanent passwords.
struct Cognito {
    pool_id: String,
    client_id: String,
    other_client_id: String,
}

impl Cognito {
    fn create(e2e: &E2e) -> Self {
        let pool = e2e.cognito("CreateUserPool", json!({ "PoolName": "vla-e2e" }));
        let pool_id = pool["UserPool"]["Id"].as_str().unwrap().to_string();
        let client = |name: &str| {
            let c = e2e.cognito(
                "CreateUserPoolClient",
                json!({
                    "UserPoolId": pool_id,
                    "ClientName": name,
                    "ExplicitAuthFlows": ["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                }),
            );
            c["UserPoolClient"]["ClientId"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let cognito = Cognito {
            client_id: client("vla-app"),
            other_client_id: client("another-app"),
            pool_id: pool_id.clone(),
        };
        for user in ["alice", "bob", "carol"] {
            e2e.cognito(
                "AdminCreateUser",
                json!({ "UserPoolId": pool_id, "Username": user, "MessageAction": "SUPPRESS" }),
            );
            e2e.cognito(
                "AdminSetUserPassword",
                json!({ "UserPoolId": pool_id, "Username": user, "Password": PASSWORD, "Permanent": true }),
            );
        }
        cognito
    }

    /// The user's id token for `client_id` (ADMIN_USER_PASSWORD_AUTH).
    fn id_token(&self, e2e: &E2e, user: &str, client_id: &str) -> String {
        let out = e2e.cognito(
            "AdminInitiateAuth",
            json!({
                "UserPoolId": self.pool_id,
                "ClientId": client_id,
                "AuthFlow": "ADMIN_USER_PASSWORD_AUTH",
                "AuthParameters": { "USERNAME": user, "PASSWORD": PASSWORD },
            }),
        );
        out["AuthenticationResult"]["IdToken"]
            .as_str()
            .unwrap_or_else(|| panic!("no IdToken: {out}"))
            .to_string()
    }

    /// Puts `user` in the stack's assistant-writer group (created on first
    /// use): tokens minted from now on carry it in `cognito:groups`.
    fn add_to_writers(&self, e2e: &E2e, user: &str) {
        let group = stack::module::DEFAULT_ASSISTANT_WRITER_GROUP;
        let _ = http(
            e2e.ms().port(),
            "POST",
            "/",
            &[
                (
                    "X-Amz-Target",
                    "AWSCognitoIdentityProviderService.CreateGroup",
                ),
                ("Content-Type", "application/x-amz-json-1.1"),
            ],
            &json!({ "UserPoolId": self.pool_id, "GroupName": group }).to_string(),
        );
        e2e.cognito(
            "AdminAddUserToGroup",
            json!({ "UserPoolId": self.pool_id, "Username": user, "GroupName": group }),
        );
    }

    /// Sets how long the app client's id tokens live.
    fn id_token_validity(&self, e2e: &E2e, value: u64, unit: &str) {
        e2e.cognito(
            "UpdateUserPoolClient",
            json!({
                "UserPoolId": self.pool_id,
                "ClientId": self.client_id,
                "ClientName": "vla-app",
                "ExplicitAuthFlows": ["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                "IdTokenValidity": value,
                "TokenValidityUnits": { "IdToken": unit },
            }),
        );
    }
}

/// The names of the checks `verify --json` did not pass, with their details.
fn failed_checks(verify: &Value) -> Vec<(String, String)> {
    verify["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("verify --json has no checks: {verify}"))
        .iter()
        .filter(|c| c["outcome"] != "ok")
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_string(),
                c["detail"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn deploy_call_change_verify_and_destroy_on_ministack() {
    let started = Instant::now();
    let e2e = E2e::start("e2e");
    let v1 = e2e.dir.join("v1");
    build_real_zips(&v1);
    let v1_dir = v1.to_str().unwrap();

    // Cognito: the pool, the client the stack trusts, tokens.
    let cognito = Cognito::create(&e2e);
    let alice = cognito.id_token(&e2e, "alice", &cognito.client_id);
    let bob = cognito.id_token(&e2e, "bob", &cognito.client_id);
    let alice_other_client = cognito.id_token(&e2e, "alice", &cognito.other_client_id);
    let claims = claims_of(&alice);
    assert_eq!(
        claims["iss"],
        format!(
            "https://cognito-idp.{}.amazonaws.com/{}",
            emulator::TEST_REGION,
            cognito.pool_id
        ),
        "the issuer the template builds from region and pool id"
    );
    assert_eq!(claims["aud"], cognito.client_id.as_str());
    assert_eq!(claims["token_use"], "id");
    assert_ne!(claims["sub"], claims_of(&bob)["sub"]);

    // First deploy: the real zips, the real template, through a change set.
    let outputs_file = e2e.dir.join("outputs.json");
    let first = e2e
        .run(&[
            "deploy",
            "--artifacts-dir",
            v1_dir,
            "--user-pool-id",
            &cognito.pool_id,
            "--user-pool-client-id",
            &cognito.client_id,
            "--arch",
            ARCH,
            "--yes",
            "--json",
            "--outputs-file",
            outputs_file.to_str().unwrap(),
        ])
        .ok();
    // Deploy ends with its smoke test (both functions invoked directly) and
    // exits 1 when that fails: here the functions really run.
    eprintln!("first deploy took {:?}", first.elapsed);
    assert_progress_in_order(&first.stderr);
    let j = first.json();
    assert_eq!(j["result"], "deployed", "{j}");
    assert_eq!(j["finalStatus"], "CREATE_COMPLETE", "{j}");
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&outputs_file).unwrap()).unwrap();
    let outputs = &written[STACK];
    assert_eq!(
        outputs.as_object().unwrap(),
        &e2e.stack_outputs(),
        "the outputs file is the stack's outputs"
    );
    let url = outputs["HttpApiUrl"].as_str().expect("HttpApiUrl output");
    // What a frontend build reads: the API, the region, the pool and client.
    let env = e2e.run(&["outputs", "--dotenv"]).ok().stdout;
    assert_eq!(
        env.lines().collect::<Vec<_>>(),
        [
            format!("VITE_HTTP_API_URL={url}"),
            format!("VITE_REGION={}", emulator::TEST_REGION),
            format!("VITE_USER_POOL_ID={}", cognito.pool_id),
            format!("VITE_USER_POOL_CLIENT_ID={}", cognito.client_id),
        ],
        "{env}"
    );
    let api = Api::of(&e2e, url);
    assert_eq!(
        e2e.code_sha256(CONTEXT_FN),
        lambda_sha256(&v1.join(format!("{CONTEXT_FN}.zip")))
    );

    // A token that will expire: short-lived id tokens for the app client
    // (MiniStack accepts a validity in seconds; Cognito's minimum is 5
    // minutes), used while valid to show it is otherwise good; it is used
    // again below, once expired.
    cognito.id_token_validity(&e2e, 4, "seconds");
    let short = cognito.id_token(&e2e, "alice", &cognito.client_id);
    cognito.id_token_validity(&e2e, 60, "minutes");
    let short_exp = claims_of(&short)["exp"].as_u64().unwrap();
    assert!(short_exp <= now() + 4, "a 4-second token");
    api.expect(200, "sessions", Some(&short), json!({"action": "list"}));

    // The API as a user sees it.
    let created = api.expect(
        201,
        "sessions",
        Some(&alice),
        json!({"action": "create", "session": {"currentTopic": "JavaScript Basics", "mode": "tutor"}}),
    );
    let session = &created["session"];
    let sid = session["sessionId"].as_str().unwrap().to_string();
    assert_eq!(session["currentTopic"], "JavaScript Basics");
    assert_eq!(session["status"], "active");
    assert_eq!(session["version"], 1);

    let turn =
        json!({"role": "user", "content": "What is a closure?", "language": "en", "turnId": "t-1"});
    let added = api.expect(
        200,
        "context",
        Some(&alice),
        json!({"action": "add_turn", "sessionId": sid, "turn": turn}),
    );
    assert_eq!(added["turn"]["seq"], 1, "{added}");
    assert_eq!(
        added["context"]["turns"][0]["content"],
        "What is a closure?"
    );
    // Retried with the same turnId: stored once.
    let again = api.expect(
        200,
        "context",
        Some(&alice),
        json!({"action": "add_turn", "sessionId": sid, "turn": turn}),
    );
    assert_eq!(again["turn"]["seq"], 1, "{again}");
    // An assistant turn needs the writer group: refused with alice's plain
    // token, accepted once her token carries `cognito:groups`.
    let assistant_turn = json!({"action": "add_turn", "sessionId": sid,
           "turn": {"role": "assistant", "content": "A function with its environment.", "language": "en"}});
    assert_eq!(
        api.error(403, "context", &alice, assistant_turn.clone()),
        "forbidden_role"
    );
    cognito.add_to_writers(&e2e, "alice");
    let alice_writer = cognito.id_token(&e2e, "alice", &cognito.client_id);
    assert_eq!(
        claims_of(&alice_writer)["cognito:groups"],
        json!([stack::module::DEFAULT_ASSISTANT_WRITER_GROUP])
    );
    api.expect(200, "context", Some(&alice_writer), assistant_turn);

    let ctx = api.expect(
        200,
        "context",
        Some(&alice),
        json!({"action": "get_context", "sessionId": sid}),
    );
    let contents: Vec<&str> = ctx["context"]["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        contents,
        ["What is a closure?", "A function with its environment."],
        "decrypted, oldest first"
    );
    assert_eq!(ctx["context"]["turnCount"], 2);

    let listed = api.expect(200, "sessions", Some(&alice), json!({"action": "list"}));
    let ids: Vec<&str> = listed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sessionId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [sid.as_str()]);
    // The session item is refreshed at most every 300 s by default: its
    // turnCount lags (documented).
    assert_eq!(listed["sessions"][0]["turnCount"], 0, "{listed}");

    let restored = api.expect(200, "sessions", Some(&alice), json!({"action": "restore"}));
    assert_eq!(restored["session"]["sessionId"], sid.as_str());
    assert_eq!(restored["context"]["turns"].as_array().unwrap().len(), 2);

    let updated = api.expect(
        200,
        "sessions",
        Some(&alice),
        json!({"action": "update", "sessionId": sid, "version": 1, "session": {"currentTopic": "Closures"}}),
    );
    assert_eq!(updated["session"]["version"], 2);
    assert_eq!(updated["session"]["currentTopic"], "Closures");
    assert_eq!(
        api.error(
            409,
            "sessions",
            &alice,
            json!({"action": "update", "sessionId": sid, "version": 1, "session": {"currentTopic": "Stale"}}),
        ),
        "version_conflict"
    );

    // Another user's session is not found, on both routes.
    assert_eq!(
        api.error(
            404,
            "sessions",
            &bob,
            json!({"action": "get", "sessionId": sid})
        ),
        "not_found"
    );
    assert_eq!(
        api.error(
            404,
            "context",
            &bob,
            json!({"action": "get_context", "sessionId": sid})
        ),
        "not_found"
    );
    let bobs = api.expect(
        201,
        "sessions",
        Some(&bob),
        json!({"action": "create", "session": {"currentTopic": "Rust ownership", "mode": "tutor"}}),
    );
    let bob_sid = bobs["session"]["sessionId"].as_str().unwrap().to_string();

    // The gateway's authorizer: no token, another client's token, a forged one.
    let list = json!({"action": "list"});
    let forged = forge(&alice);
    for (what, token) in [
        ("no token", None),
        (
            "a token for another app client",
            Some(alice_other_client.as_str()),
        ),
        ("a token with a forged payload", Some(forged.as_str())),
    ] {
        let r = api.post("sessions", token, &list);
        assert_eq!(r.status, 401, "{what}: {}", r.body);
    }
    // The short-lived token (above), now past its `exp`.
    while now() <= short_exp {
        std::thread::sleep(Duration::from_millis(200));
    }
    let r = api.post("sessions", Some(&short), &list);
    assert_eq!(r.status, 401, "expired token: {}", r.body);

    // Concurrent writers on shared sessions through the deployed gateway,
    // its authorizer and MiniStack's Lambda and DynamoDB (a user of its own,
    // so the other checks' sessions stay as they are): every turn stored
    // once, in order, counted; no 5xx but 503.
    let carol = cognito.id_token(&e2e, "carol", &cognito.client_id);
    let load_plan = local::load::LoadPlan {
        sessions: 2,
        writers: 3,
        turns: 4,
        duplicate_every: 2,
        retry_wait: Some(Duration::from_millis(100)),
    };
    let target = local::load::Target {
        addr: ([127, 0, 0, 1], e2e.ms().port()).into(),
        base: api.base.clone(),
        token: carol,
    };
    let report = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(local::load::run(&target, &load_plan))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        report.passed(),
        "{}",
        serde_json::to_string_pretty(&report).unwrap()
    );
    eprintln!(
        "load on MiniStack: {} requests, {:?}, p50 {:.0} ms, p99 {:.0} ms",
        report.requests, report.statuses, report.latency_ms.p50, report.latency_ms.p99
    );

    // Deploy again with nothing changed: no change set, parameters kept.
    let noop = e2e.run(&["deploy", "--artifacts-dir", v1_dir]).ok();
    eprintln!("no-op deploy took {:?}", noop.elapsed);
    assert!(noop.stdout.contains("no changes"), "{}", noop.stdout);
    assert!(!noop.stdout.contains("Plan for"), "{}", noop.stdout);
    let same = e2e.run(&["diff", "--artifacts-dir", v1_dir, "--fail"]).ok();
    assert!(same.stdout.contains("no differences"), "{}", same.stdout);

    // A code change: the context manager in a different zip.
    let v2 = e2e.dir.join("v2");
    std::fs::create_dir_all(&v2).unwrap();
    std::fs::copy(
        v1.join(format!("{SESSION_FN}.zip")),
        v2.join(format!("{SESSION_FN}.zip")),
    )
    .unwrap();
    wrapped_zip(
        &v1.join(format!("{CONTEXT_FN}.zip")),
        &v2.join(format!("{CONTEXT_FN}.zip")),
    );
    let v2_dir = v2.to_str().unwrap();
    let log_group = format!("/aws/lambda/{CONTEXT_FN}");
    assert!(
        !e2e.log_messages(&log_group)
            .iter()
            .any(|m| m.contains(V2_MARKER)),
        "v1 never prints the marker"
    );
    // diff: exit 0 listing the change; with --fail exit 1.
    let d = e2e.run(&["diff", "--artifacts-dir", v2_dir]).ok();
    assert!(
        d.stdout.contains("[~] ContextManagerCodeKey"),
        "{}",
        d.stdout
    );
    assert!(
        !d.stdout.contains("SessionPersistenceCodeKey"),
        "{}",
        d.stdout
    );
    let failed = e2e
        .run(&["diff", "--artifacts-dir", v2_dir, "--fail", "--json"])
        .failed();
    assert_eq!(failed.code, 1);
    assert_eq!(failed.json()["differences"], true);

    let changed = e2e
        .run(&["deploy", "--artifacts-dir", v2_dir, "--yes", "--json"])
        .ok();
    eprintln!("code-change deploy took {:?}", changed.elapsed);
    assert_progress_in_order(&changed.stderr);
    let j = changed.json();
    assert_eq!(j["result"], "deployed", "{j}");
    assert_eq!(j["finalStatus"], "UPDATE_COMPLETE", "{j}");
    assert_eq!(
        e2e.code_sha256(CONTEXT_FN),
        lambda_sha256(&v2.join(format!("{CONTEXT_FN}.zip")))
    );
    assert_eq!(
        e2e.code_sha256(SESSION_FN),
        lambda_sha256(&v1.join(format!("{SESSION_FN}.zip"))),
        "the unchanged function keeps its code"
    );
    // The change published version 2 and made it live; the unchanged
    // function published nothing.
    let v1_context = lambda_sha256(&v1.join(format!("{CONTEXT_FN}.zip")));
    let v2_context = lambda_sha256(&v2.join(format!("{CONTEXT_FN}.zip")));
    assert_eq!(e2e.live(CONTEXT_FN), ("2".to_string(), v2_context.clone()));
    assert_eq!(e2e.live(SESSION_FN).0, "1");
    // The new code answers, and reads what the old code wrote.
    let added = api.expect(
        200,
        "context",
        Some(&alice),
        json!({"action": "add_turn", "sessionId": sid,
               "turn": {"role": "user", "content": "And a generator?", "language": "en"}}),
    );
    assert_eq!(added["turn"]["seq"], 3, "{added}");
    assert_eq!(
        added["context"]["turns"][0]["content"], "What is a closure?",
        "{added}"
    );
    let listed = api.expect(200, "sessions", Some(&alice), json!({"action": "list"}));
    assert_eq!(
        listed["sessions"][0]["turnCount"], 3,
        "add_turn was served by the new code, which refreshes the session item: {listed}"
    );
    assert!(
        e2e.log_messages(&log_group)
            .iter()
            .any(|m| m.contains(V2_MARKER)),
        "the new code started (its marker is in the function's log)"
    );
    // logs: the requests just made, read back from CloudWatch Logs, one
    // parsed line each; then one request by its id.
    let logs = e2e
        .run(&[
            "logs",
            "--function",
            "context-manager",
            "--since",
            "30m",
            "--json",
        ])
        .ok();
    let lines: Vec<Value> = logs
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let add_turn = lines
        .iter()
        .find(|l| l["kind"] == "request" && l["action"] == "add_turn" && l["status"] == 200)
        .unwrap_or_else(|| panic!("an add_turn request line: {}", logs.stdout));
    assert_eq!(add_turn["function"], "context-manager");
    assert!(add_turn["latency_ms"].as_f64().is_some(), "{add_turn}");
    let id = add_turn["request_id"]
        .as_str()
        .expect("a request id")
        .to_string();
    let one = e2e
        .run(&[
            "logs",
            "--function",
            "context-manager",
            "--since",
            "30m",
            "--request-id",
            &id,
        ])
        .ok();
    assert!(
        !one.stdout.is_empty() && one.stdout.lines().all(|l| l.contains(&id)),
        "{}",
        one.stdout
    );
    // The stack's cost-allocation tags reached its resources (MiniStack
    // propagates stack tags as CloudFormation does).
    let table_arn = e2e
        .block_on(
            e2e.dynamodb()
                .describe_table()
                .table_name("voice-learning-sessions")
                .send(),
        )
        .unwrap()
        .table()
        .and_then(|t| t.table_arn())
        .unwrap()
        .to_string();
    let tags = e2e
        .block_on(
            e2e.dynamodb()
                .list_tags_of_resource()
                .resource_arn(&table_arn)
                .send(),
        )
        .unwrap();
    let tags: Vec<(String, String)> = tags
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    for want in [("Project", "VoiceLearningAssistant"), ("Stage", "default")] {
        assert!(
            tags.iter().any(|(k, v)| (k.as_str(), v.as_str()) == want),
            "{want:?} on the sessions table: {tags:?}"
        );
    }
    // rollback: `live` back on version 1 (v1's code) in one call, the API
    // still answering; a refusal moves nothing; `--to 2` goes forward again.
    let listed = e2e.run(&["rollback", "--list", "--json"]).ok().json();
    crate::json_output::documented(&listed);
    let context = listed["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["function"] == CONTEXT_FN)
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(context["live"], "2", "{listed}");
    assert_eq!(context["versions"].as_array().unwrap().len(), 2, "{listed}");
    let refused = e2e
        .run(&["rollback", "--function", "context-manager", "--to", "9"])
        .failed();
    assert!(
        refused
            .stderr
            .contains("has no version 9: its published versions are 1, 2"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        e2e.live(CONTEXT_FN).0,
        "2",
        "a refused rollback moves nothing"
    );
    let rolled = e2e
        .run(&["rollback", "--function", "context-manager", "--json"])
        .ok();
    eprintln!("rollback took {:?}", rolled.elapsed);
    let j = rolled.json();
    crate::json_output::documented(&j);
    assert_eq!(j["functions"][0]["from"], "2", "{j}");
    assert_eq!(j["functions"][0]["to"], "1", "{j}");
    assert_eq!(e2e.live(CONTEXT_FN), ("1".to_string(), v1_context.clone()));
    assert_eq!(e2e.live(SESSION_FN).0, "1", "only the named function moves");
    api.expect(
        200,
        "context",
        Some(&alice),
        json!({"action": "get_context", "sessionId": sid}),
    );
    // diff says the alias moved, and counts it as no difference.
    let moved = e2e
        .run(&["diff", "--artifacts-dir", v2_dir, "--fail", "--json"])
        .ok()
        .json();
    crate::json_output::documented(&moved);
    assert_eq!(
        moved["movedAliases"],
        json!([{"function": CONTEXT_FN, "live": "1", "stack": "2"}]),
        "{moved}"
    );
    let outputs_now = e2e.run(&["outputs", "--json"]).ok().json();
    assert!(
        outputs_now["live"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["function"] == CONTEXT_FN && l["version"] == "1"),
        "{outputs_now}"
    );
    let forward = e2e
        .run(&["rollback", "--function", "context-manager", "--to", "2"])
        .ok();
    assert!(
        forward.stdout.contains("live version 1 → 2"),
        "{}",
        forward.stdout
    );
    assert_eq!(e2e.live(CONTEXT_FN), ("2".to_string(), v2_context.clone()));

    let now_same = e2e.run(&["diff", "--artifacts-dir", v2_dir, "--fail"]).ok();
    assert!(
        now_same.stdout.contains("no differences"),
        "{}",
        now_same.stdout
    );

    // `deploy --hotswap` back to v1's context manager: code only, in place,
    // the drift said; the next plain deploy of v2 puts the stack's code back
    // rather than saying nothing changed.
    let swapped = e2e
        .run(&["deploy", "--hotswap", "--artifacts-dir", v1_dir, "--json"])
        .ok();
    eprintln!("hotswap deploy took {:?}", swapped.elapsed);
    let j = swapped.json();
    assert_eq!(j["result"], "hotswapped", "{j}");
    assert_eq!(j["functions"], json!([CONTEXT_FN]), "{j}");
    assert_eq!(
        e2e.code_sha256(CONTEXT_FN),
        lambda_sha256(&v1.join(format!("{CONTEXT_FN}.zip")))
    );
    // What the API invokes moved with it: a new version, live.
    assert_eq!(e2e.live(CONTEXT_FN), ("3".to_string(), v1_context.clone()));
    let back = e2e
        .run(&["deploy", "--artifacts-dir", v2_dir, "--yes"])
        .ok();
    eprintln!("deploy after the hotswap took {:?}", back.elapsed);
    let said = format!("{}{}", back.stdout, back.stderr);
    assert!(
        said.contains("restored the code the stack names in") && said.contains("no changes"),
        "{said}"
    );
    assert_eq!(
        e2e.code_sha256(CONTEXT_FN),
        lambda_sha256(&v2.join(format!("{CONTEXT_FN}.zip")))
    );
    assert_eq!(e2e.live(CONTEXT_FN), ("4".to_string(), v2_context));

    // verify: everything MiniStack deploys as designed passes; exactly the
    // emulator gaps fail.
    let verify = e2e.run(&["verify", "--json"]);
    assert_eq!(verify.code, 1, "{}\n{}", verify.stdout, verify.stderr);
    let v = verify.json();
    let checks = v["checks"].as_array().map_or(0, Vec::len);
    let failed = failed_checks(&v);
    let names: Vec<&str> = failed.iter().map(|(n, _)| n.as_str()).collect();
    let known: Vec<&str> = KNOWN_VERIFY_GAPS.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names, known,
        "only MiniStack's known gaps may fail: {failed:#?}"
    );
    for ((name, detail), (_, why)) in failed.iter().zip(KNOWN_VERIFY_GAPS) {
        assert!(detail.contains(why), "{name}: {detail}");
    }
    eprintln!(
        "verify: {} of {checks} checks pass, the {} known MiniStack gaps fail",
        checks - failed.len(),
        failed.len()
    );
    let key_arn = outputs["DataKeyArn"].as_str().unwrap();

    // The deleted session is gone (on the last calls, so the data survives for destroy).
    let deleted = api.expect(
        200,
        "sessions",
        Some(&alice),
        json!({"action": "delete", "sessionId": sid}),
    );
    assert_eq!(deleted["deleted"], true);
    assert_eq!(deleted["turnsDeleted"], 3);
    assert_eq!(
        api.error(
            404,
            "sessions",
            &alice,
            json!({"action": "get", "sessionId": sid})
        ),
        "not_found"
    );

    // The functions run as MiniStack's child processes (warm, between requests).
    let function_processes = children_of(e2e.ms().pid());
    assert!(
        function_processes
            .iter()
            .any(|p| std::fs::read_to_string(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| c.contains("bootstrap"))),
        "no function process found under MiniStack ({function_processes:?})"
    );

    // destroy: the stack goes, the tables (with bob's session) and the key stay.
    let destroy = e2e.run(&["destroy", "--yes", "--json"]).ok();
    eprintln!("destroy took {:?}", destroy.elapsed);
    let j = destroy.json();
    assert_eq!(j["result"], "deleted", "{j}");
    let mut retained: Vec<&str> = j["retained"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["logicalId"].as_str().unwrap())
        .collect();
    retained.sort_unstable();
    assert_eq!(retained, ["DataKey", "SessionsTable", "UserProfilesTable"]);
    let stack = e2e.block_on(e2e.cfn().describe_stacks().stack_name(STACK).send());
    assert!(stack.is_err(), "the stack is gone");
    let functions = e2e.block_on(e2e.lambda().list_functions().send()).unwrap();
    assert!(functions.functions().is_empty(), "the functions are gone");
    let bob_item = e2e
        .block_on(
            e2e.dynamodb()
                .query()
                .table_name(outputs["SessionsTableName"].as_str().unwrap())
                .key_condition_expression("sessionId = :s")
                .expression_attribute_values(
                    ":s",
                    aws_sdk_dynamodb::types::AttributeValue::S(bob_sid.clone()),
                )
                .send(),
        )
        .unwrap();
    assert!(bob_item.count() > 0, "the retained table keeps its data");
    let key = e2e
        .block_on(e2e.kms().describe_key().key_id(key_arn).send())
        .unwrap();
    assert_eq!(
        key.key_metadata().unwrap().key_state().unwrap().as_str(),
        "Enabled",
        "the retained key stays usable"
    );
    let gone = api.post("sessions", Some(&alice), &list);
    assert_ne!(gone.status, 200, "the API is gone: {}", gone.body);

    // Every process MiniStack started (the functions) dies with it.
    let pid = e2e.ms().pid();
    let mut processes = function_processes;
    processes.extend(children_of(pid));
    let mut e2e = e2e;
    drop(e2e.ms.take());
    assert!(!alive(pid), "MiniStack survived its drop");
    for p in processes {
        assert!(!alive(p), "process {p} started by MiniStack survived it");
    }
    eprintln!("whole test took {:?}", started.elapsed());
}

/// The stack the previous release deployed (its committed template,
/// `tests/fixtures/previous-release/`: functions invoked as `$LATEST`, the
/// invoke permissions on the functions) updates to this release's (a
/// version and a `live` alias each, the API and its permissions on the
/// aliases) in one deploy, keeps its data, and answers through the new path;
/// then a function's memory changes, by `deploy --memory-mb` and by what
/// `tune --apply` runs.
#[test]
fn the_previous_releases_stack_updates_to_this_one_on_ministack() {
    let e2e = E2e::start("upgrade");
    let v1 = e2e.dir.join("v1");
    build_real_zips(&v1);
    let v1_dir = v1.to_str().unwrap();
    let cognito = Cognito::create(&e2e);
    let alice = cognito.id_token(&e2e, "alice", &cognito.client_id);
    let previous: Value = serde_norway::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/previous-release/VoiceLearningAssistantStack.yaml"),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(
        !previous.to_string().contains("AWS::Lambda::Alias"),
        "the fixture is a release from before the alias"
    );
    let previous_file = e2e.dir.join("previous-release.json");
    std::fs::write(&previous_file, previous.to_string()).unwrap();
    let pool = [
        "--user-pool-id",
        &cognito.pool_id,
        "--user-pool-client-id",
        &cognito.client_id,
    ];
    let mut old = vec![
        "deploy",
        "--artifacts-dir",
        v1_dir,
        "--arch",
        ARCH,
        "--yes",
        "--json",
    ];
    old.extend(pool);
    // Its smoke request calls the alias this release invokes, which the
    // previous release's stack does not have yet.
    old.extend(["--no-verify", "--template", previous_file.to_str().unwrap()]);
    let j = e2e.run(&old).ok().json();
    assert_eq!(j["finalStatus"], "CREATE_COMPLETE", "{j}");
    let url = e2e.stack_outputs()["HttpApiUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let api = Api::of(&e2e, &url);
    let created = api.expect(
        201,
        "sessions",
        Some(&alice),
        json!({"action": "create", "session": {"currentTopic": "closures", "mode": "tutor"}}),
    );
    let sid = created["session"]["sessionId"]
        .as_str()
        .unwrap()
        .to_string();

    // This release over it: an update, with the smoke request through the aliases.
    let mut new = vec!["deploy", "--artifacts-dir", v1_dir, "--yes", "--json"];
    new.extend(pool);
    let updated = e2e.run(&new).ok();
    eprintln!("the update to this release took {:?}", updated.elapsed);
    let j = updated.json();
    assert_eq!(j["result"], "deployed", "{j}");
    assert_eq!(j["finalStatus"], "UPDATE_COMPLETE", "{j}");
    for f in [SESSION_FN, CONTEXT_FN] {
        assert_eq!(
            e2e.live(f).0,
            "1",
            "{f}: the update published version 1 and made it live"
        );
    }
    let got = api.expect(
        200,
        "sessions",
        Some(&alice),
        json!({"action": "get", "sessionId": sid}),
    );
    assert_eq!(got["session"]["currentTopic"], "closures", "{got}");
    let turn = api.expect(
        200,
        "context",
        Some(&alice),
        json!({"action": "add_turn", "sessionId": sid,
               "turn": {"role": "user", "content": "What is a closure?", "language": "en"}}),
    );
    assert_eq!(turn["turn"]["seq"], 1, "{turn}");
    // The permissions moved to the aliases: `verify` finds only the API
    // allowed to invoke, and only MiniStack's known gaps fail.
    let v = e2e.run(&["verify", "--json"]).json();
    let failed = failed_checks(&v);
    let names: Vec<&str> = failed.iter().map(|(n, _)| n.as_str()).collect();
    let known: Vec<&str> = KNOWN_VERIFY_GAPS.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names, known,
        "only MiniStack's known gaps may fail: {failed:#?}"
    );

    // A function's memory is a parameter: a deploy sets it, publishing a
    // version with the new size and making it live.
    let memory = |version: &str| {
        e2e.block_on(
            e2e.lambda()
                .get_function_configuration()
                .function_name(CONTEXT_FN)
                .qualifier(version)
                .send(),
        )
        .unwrap()
        .memory_size()
        .unwrap()
    };
    let mut sized = vec!["deploy", "--artifacts-dir", v1_dir, "--yes", "--no-verify"];
    sized.extend(pool);
    sized.extend(["--memory-mb", "context-manager=512"]);
    e2e.run(&sized).ok();
    let live = e2e.live(CONTEXT_FN).0;
    assert_eq!(live, "2", "a new version for the new size");
    assert_eq!(memory(&live), 512);
    assert_eq!(
        e2e.live(SESSION_FN).0,
        "1",
        "the other function is unchanged"
    );

    // What `tune --apply` runs (MiniStack's Invoke returns no log tail, so
    // `tune` itself cannot measure here): a change set on the deployed
    // template that changes only that parameter. A size Lambda refuses
    // changes nothing; the size the stack has runs nothing.
    let aws = deploy::options::AwsOptions {
        region: Some(emulator::TEST_REGION.into()),
        endpoint_url: Some(e2e.ms().endpoint_url()),
        static_credentials: Some((
            emulator::TEST_ACCESS_KEY_ID.into(),
            emulator::TEST_SECRET_ACCESS_KEY.into(),
        )),
        ..Default::default()
    };
    let mut report = deploy::report::Captured::default();
    let apply = |mb: u32, report: &mut deploy::report::Captured| {
        e2e.block_on(deploy::memory::apply(
            &aws,
            None,
            stack::Function::ContextManager,
            mb,
            report,
        ))
    };
    let refused = apply(64, &mut report).unwrap_err().to_string();
    assert!(
        refused.contains("outside Lambda's 128-10240 MB"),
        "{refused}"
    );
    let same = apply(512, &mut report).unwrap();
    assert!(!same.changed, "{same:?}");
    assert_eq!(e2e.live(CONTEXT_FN).0, "2", "nothing ran");
    let applied = apply(1024, &mut report).unwrap();
    assert!(applied.changed && applied.from_mb == 512, "{applied:?}");
    let live = e2e.live(CONTEXT_FN).0;
    assert_eq!(live, "3", "{}", report.text());
    assert_eq!(memory(&live), 1024);
    let kept = e2e
        .block_on(e2e.cfn().describe_stacks().stack_name(STACK).send())
        .unwrap();
    let params: Vec<(String, String)> = kept.stacks()[0]
        .parameters()
        .iter()
        .map(|p| {
            (
                p.parameter_key().unwrap_or_default().to_string(),
                p.parameter_value().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert!(
        params.contains(&("ContextManagerMemorySize".into(), "1024".into()))
            && params.contains(&("UserPoolId".into(), cognito.pool_id.clone())),
        "only the memory changed, the rest kept: {params:?}"
    );
    api.expect(
        200,
        "context",
        Some(&alice),
        json!({"action": "get_context", "sessionId": sid}),
    );
}

/// The checks `verify` fails on MiniStack, each with what its detail must
/// say: MiniStack's CloudFormation ignores a table's SSESpecification,
/// TimeToLiveSpecification and PointInTimeRecoverySpecification, and a
/// function's KmsKeyArn. Every other check must pass.
const KNOWN_VERIFY_GAPS: &[(&str, &str)] = &[
    (
        "table voice-learning-sessions SSE with the stack's key",
        "no SSEDescription",
    ),
    (
        "table voice-learning-sessions TTL on expiresAt",
        "TTL is DISABLED",
    ),
    (
        "table voice-learning-sessions point-in-time recovery",
        "PITR is DISABLED",
    ),
    (
        "table voice-learning-user-profiles SSE with the stack's key",
        "no SSEDescription",
    ),
    (
        "table voice-learning-user-profiles TTL on expiresAt",
        "TTL is DISABLED",
    ),
    (
        "table voice-learning-user-profiles point-in-time recovery",
        "PITR is DISABLED",
    ),
    (
        "function voice-learning-session-persistence environment encrypted with the key",
        "not encrypted with a customer key",
    ),
    (
        "function voice-learning-context-manager environment encrypted with the key",
        "not encrypted with a customer key",
    ),
];

/// Deploy's live progress lists each resource's events in the order they
/// happened: `*_IN_PROGRESS` before `*_COMPLETE`. (MiniStack gives many
/// events the same millisecond, so this also checks ties keep their order.)
fn assert_progress_in_order(progress: &str) {
    let mut started: Vec<String> = Vec::new();
    let mut lines = 0;
    for line in progress.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(status) = words.iter().find(|w| {
            w.starts_with("CREATE_") || w.starts_with("UPDATE_") || w.starts_with("DELETE_")
        }) else {
            continue;
        };
        let id = words.last().unwrap().to_string();
        lines += 1;
        if status.ends_with("_IN_PROGRESS") {
            started.push(id);
        } else if status.ends_with("_COMPLETE") {
            assert!(
                started.contains(&id),
                "{id} completed before it started:\n{progress}"
            );
        }
    }
    assert!(lines > 0, "no progress lines:\n{progress}");
}

/// `token` with its payload's `sub` changed and the signature kept: the
/// authorizer must reject it.
fn forge(token: &str) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    let mut claims = claims_of(token);
    claims["sub"] = json!("someone-else");
    parts[1] = b64.encode(claims.to_string());
    parts.join(".")
}
