//! Starting the module locally: moto (its state kept across runs), the
//! tables and key from the stack model, both functions under the local
//! Runtime API, and the HTTP API with the model's routes and authorizer.
//! Stopping it in order: gateway, functions, then moto (which saves its state).

use crate::error::{bail, Context, Result};
use crate::gateway;
use crate::ids;
use crate::jwt;
use crate::log::{say, Log};
use crate::model::{FunctionSpec, LocalModel, ACCOUNT_ID, REGION};
use crate::provision;
use crate::runtime_api;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// What runs as the functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Functions {
    /// The real binaries, built for this machine by cargo.
    Build { release: bool },
    /// One program for every function (a stand-in, e.g. in tests).
    Program(PathBuf),
    /// Binaries built before, `<dir>/<bin>` (e.g. another commit's, to
    /// compare).
    Prebuilt(PathBuf),
}

/// Where dev keeps its data when not told otherwise: `.dev/` in the workspace.
pub fn default_data_dir() -> PathBuf {
    emulator::workspace_root().join(".dev")
}

/// A dev token (`dev token`): an ID token for `sub` signed by the local key
/// in `data_dir`, for the stage's authorizer, valid `ttl` (e.g. `1h`), in
/// the Cognito `groups` given (e.g. the assistant writers' group), issued to
/// app client `client_id` (one of the authorizer's audience; the first, the
/// web app's, when `None`). With `scopes`, an access token granted them
/// instead (what routes with `RouteScopes` require).
pub fn dev_token(
    data_dir: &Path,
    stage: Option<&str>,
    sub: &str,
    ttl: std::time::Duration,
    groups: &[String],
    client_id: Option<&str>,
    scopes: &[String],
) -> Result<String> {
    let ttl = jwt::check_ttl(ttl)?;
    if sub.trim().is_empty() {
        bail!("--sub must not be empty");
    }
    let (_, m) = LocalModel::synth(stage)?;
    let spec = m.jwt()?;
    let key = jwt::SigningKey::load_or_create(data_dir)?;
    let audience = match client_id {
        None => spec
            .audience
            .first()
            .context("the authorizer has no audience")?,
        Some(id) => spec.audience.iter().find(|a| *a == id).with_context(|| {
            format!(
                "--client-id {id} is not one of dev's app clients ({}): its tokens would be refused",
                spec.audience.join(", ")
            )
        })?,
    };
    if scopes.is_empty() {
        key.id_token(&spec.issuer, audience, sub, ttl, groups)
    } else {
        key.access_token(&spec.issuer, audience, sub, ttl, groups, scopes)
    }
}

/// What [`start`] needs.
#[derive(Debug, Clone)]
pub struct StartOptions {
    pub stage: Option<String>,
    pub functions: Functions,
    /// Start with empty tables and a new key.
    pub fresh: bool,
    /// Every function's timeout instead of the template's.
    pub function_timeout_ms: Option<u64>,
    pub data_dir: PathBuf,
    pub access_log: bool,
    pub forward_logs: bool,
    /// Where messages go (stderr for `cargo xtask dev`).
    pub log: Log,
    pub concurrency: usize,
    /// Put a [`FaultProxy`](crate::fault_proxy::FaultProxy) between the
    /// functions and moto (`bench functions` adds a fixed delay per AWS
    /// call; the load test injects faults).
    pub aws_proxy: bool,
    /// Run moto without its dispatch lock, as `moto_server` does (conditional
    /// writes not atomic): only to show the load test catches lost writes.
    pub unlocked_emulator: bool,
    /// Browser origins the gateway answers CORS for (a frontend's dev
    /// server), with the deployed API's CORS settings.
    pub cors_origins: Vec<String>,
    /// OAuth scopes the routes require (`RouteScopes`): a token must carry
    /// one of them; empty: no scope check, id tokens accepted.
    pub route_scopes: Vec<String>,
}

/// A running dev stack.
pub struct Running {
    pub moto: emulator::MotoServer,
    pub runtimes: Vec<Arc<runtime_api::Runtime>>,
    pub gateway: Arc<gateway::Gateway>,
    pub shutdown: watch::Sender<bool>,
    pub key: jwt::SigningKey,
    pub issuer: String,
    pub audience: String,
    pub state_file: PathBuf,
    /// This run's hold on its stage directory, released when it is dropped.
    pub lock: crate::lock::DevLock,
    /// The functions' way to moto, when asked for ([`StartOptions::aws_proxy`]).
    pub aws_proxy: Option<crate::fault_proxy::FaultProxy>,
}

impl Running {
    /// Serves the HTTP API on a free loopback port until the run stops: its
    /// address, and the server's task.
    pub async fn serve_api(
        &self,
    ) -> std::io::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(
            self.gateway
                .clone()
                .serve(listener, self.shutdown.subscribe()),
        );
        Ok((addr, server))
    }

    /// Stops the functions (and waits for them), then moto (which saves its state).
    pub async fn stop(self) {
        self.shutdown.send_replace(true);
        for rt in &self.runtimes {
            rt.stopped().await;
        }
        let mut moto = self.moto;
        let _ = tokio::task::spawn_blocking(move || moto.shutdown(Duration::from_secs(20))).await;
    }

    /// An end user's token: it may add `user` turns.
    pub fn token(&self, sub: &str, ttl: u64) -> Result<String> {
        self.key
            .id_token(&self.issuer, &self.audience, sub, ttl, &[])
    }

    /// The assistant backend's token: in the stack's default writer group,
    /// so it may also add `assistant`/`system` turns and set summaries.
    pub fn writer_token(&self, sub: &str, ttl: u64) -> Result<String> {
        let groups = [stack::module::DEFAULT_ASSISTANT_WRITER_GROUP.to_string()];
        self.key
            .id_token(&self.issuer, &self.audience, sub, ttl, &groups)
    }
}

/// Builds the functions again (for `dev --watch`): the executables keep
/// their paths, so restarted processes run the new build. A stand-in program
/// has nothing to build.
pub async fn rebuild(opts: &StartOptions) -> Result<()> {
    let (_, m) = LocalModel::synth(opts.stage.as_deref())?;
    function_commands(opts, &m).await.map(|_| ())
}

/// Builds the functions' executables (or names the stand-in).
async fn function_commands(
    opts: &StartOptions,
    m: &LocalModel,
) -> Result<Vec<(String, runtime_api::Command)>> {
    let release = match &opts.functions {
        Functions::Build { release } => *release,
        Functions::Prebuilt(dir) => {
            return m
                .functions
                .iter()
                .map(|f| {
                    let program = dir.join(f.bin);
                    if !program.is_file() {
                        bail!(
                            "no binary {} (build one with `cargo build --release -p functions --bins` and copy target/release/{} there)",
                            program.display(),
                            f.bin
                        );
                    }
                    let cmd = runtime_api::Command {
                        program,
                        args: vec![],
                        env: vec![],
                    };
                    Ok((f.logical_id.clone(), cmd))
                })
                .collect();
        }
        Functions::Program(program) => {
            return Ok(m
                .functions
                .iter()
                .map(|f| {
                    let cmd = runtime_api::Command {
                        program: program.clone(),
                        args: vec![],
                        env: vec![],
                    };
                    (f.logical_id.clone(), cmd)
                })
                .collect())
        }
    };
    say!(
        opts.log,
        "dev: {}",
        format!(
            "building the functions ({})",
            if release { "release" } else { "debug" }
        )
    );
    let std_cmd = lambda_package::cargo::cargo_build_command(release, None, false);
    let mut cmd = tokio::process::Command::from(std_cmd);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true);
    let out = cmd
        .spawn()
        .context("running cargo")?
        .wait_with_output()
        .await
        .context("running cargo")?;
    if !out.status.success() {
        bail!("building the functions failed; cargo's messages are above");
    }
    let exes = lambda_package::cargo::parse_artifacts(&String::from_utf8_lossy(&out.stdout));
    m.functions
        .iter()
        .map(|f| {
            let exe = exes
                .get(f.bin)
                .with_context(|| format!("cargo built no executable for the bin `{}`", f.bin))?;
            Ok((
                f.logical_id.clone(),
                runtime_api::Command {
                    program: exe.clone(),
                    args: vec![],
                    env: vec![],
                },
            ))
        })
        .collect()
}

/// The environment Lambda gives a function, plus the template's variables.
fn function_env(
    f: &FunctionSpec,
    resolved: Vec<(String, String)>,
    moto: &emulator::MotoServer,
    proxy: Option<&crate::fault_proxy::FaultProxy>,
    program: &Path,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = vec![
        ("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()),
        ("LANG".into(), "en_US.UTF-8".into()),
        ("TZ".into(), ":UTC".into()),
        ("AWS_LAMBDA_FUNCTION_NAME".into(), f.name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION".into(), "$LATEST".into()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(),
            f.memory_mb.to_string(),
        ),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME".into(),
            stack::Names::log_group(&f.name),
        ),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME".into(),
            format!(
                "{}/[$LATEST]{:016x}",
                apigw_event::time::request_time(ids::now_millis())
                    .get(..11)
                    .unwrap_or(""),
                ids::random_u64()
            ),
        ),
        ("AWS_LAMBDA_LOG_FORMAT".into(), f.log_format.clone()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE".into(), "on-demand".into()),
        ("AWS_DEFAULT_REGION".into(), REGION.into()),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ("_HANDLER".into(), "bootstrap".into()),
        (
            "LAMBDA_TASK_ROOT".into(),
            program
                .parent()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ),
    ];
    env.extend(moto.client_env().into_iter().map(|(k, v)| {
        let v = match proxy {
            Some(p) if k == "AWS_ENDPOINT_URL" => p.endpoint_url(),
            _ => v,
        };
        (k.to_string(), v)
    }));
    for k in ["RUST_LOG", "RUST_BACKTRACE"] {
        if let Ok(v) = std::env::var(k) {
            env.push((k.into(), v));
        }
    }
    env.extend(resolved);
    env
}

/// Starts moto, provisions, builds and starts the functions; returns when
/// every function finished its init.
pub async fn start(opts: &StartOptions) -> Result<Running> {
    let (template, m) = LocalModel::synth(opts.stage.as_deref())?;
    let stage_dir = opts
        .data_dir
        .join(opts.stage.as_deref().unwrap_or("default"));
    std::fs::create_dir_all(&stage_dir)
        .with_context(|| format!("creating {}", stage_dir.display()))?;
    let lock = crate::lock::DevLock::acquire(&stage_dir)?;
    let state_file = stage_dir.join("moto-state.pickle");
    if opts.fresh {
        for f in [state_file.clone(), state_file.with_extension("pickle.bad")] {
            match std::fs::remove_file(&f) {
                Ok(()) => say!(
                    opts.log,
                    "dev: {}",
                    format!("--fresh: deleted {}", f.display())
                ),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("deleting {}", f.display())),
            }
        }
    }
    let had_state = state_file.exists();

    // Build the functions while moto starts.
    let moto_opts = emulator::MotoOptions {
        port: None,
        log_file: Some(stage_dir.join("moto.log")),
        venv: None,
        unlocked: opts.unlocked_emulator,
    };
    let state = state_file.clone();
    let moto = tokio::task::spawn_blocking(move || {
        emulator::MotoServer::start_persistent(moto_opts, &state)
    });
    let commands = function_commands(opts, &m).await?;
    let moto = moto.await.context("starting moto")??;
    say!(
        opts.log,
        "dev: {}",
        format!(
            "moto on {} ({}; log {})",
            moto.endpoint_url(),
            if had_state {
                format!("state from {}", state_file.display())
            } else {
                "empty".into()
            },
            stage_dir.join("moto.log").display()
        )
    );

    let p = provision::provision(&template, &m, &moto.endpoint_url()).await?;
    say!(
        opts.log,
        "dev: {}",
        format!(
            "key {} {} ({}){}; tables {}",
            m.key.alias.as_deref().unwrap_or(&p.key_id),
            p.key_arn,
            if p.key_created { "created" } else { "kept" },
            if p.key_created && had_state {
                " [the saved state had no key]"
            } else {
                ""
            },
            p.tables_created
                .iter()
                .map(|t| format!("{t} (created)"))
                .chain(p.tables_kept.iter().map(|t| format!("{t} (kept)")))
                .collect::<Vec<_>>()
                .join(", ")
        )
    );

    let aws_proxy = if opts.aws_proxy {
        let port = moto.port();
        Some(
            crate::fault_proxy::FaultProxy::start(([127, 0, 0, 1], port).into())
                .await
                .context("starting the AWS fault proxy")?,
        )
    } else {
        None
    };
    let key = jwt::SigningKey::load_or_create(&opts.data_dir)?;
    let jwks = key.jwks();
    let (shutdown, shutdown_rx) = watch::channel(false);
    let mut runtimes = vec![];
    for f in &m.functions {
        let cmd = commands
            .iter()
            .find(|(id, _)| *id == f.logical_id)
            .map(|(_, c)| c.clone())
            .context("no command for a function")?;
        let resolved = f
            .env
            .iter()
            .map(|(k, v)| Ok((k.clone(), p.resolver.string(v)?)))
            .collect::<Result<Vec<_>>>()
            .with_context(|| format!("the environment of {}", f.name))?;
        let env = function_env(f, resolved, &moto, aws_proxy.as_ref(), &cmd.program);
        let cmd = runtime_api::Command { env, ..cmd };
        let arn = format!(
            "arn:aws:lambda:{}:{}:function:{}",
            REGION, ACCOUNT_ID, f.name
        );
        let timeout = Duration::from_millis(opts.function_timeout_ms.unwrap_or(f.timeout_ms));
        let rt = runtime_api::Runtime::new(
            f.clone(),
            arn,
            timeout,
            cmd,
            opts.forward_logs,
            opts.log.clone(),
            opts.concurrency,
            shutdown_rx.clone(),
        );
        rt.start();
        runtimes.push(rt);
    }
    let mut routes = vec![];
    let mut authorizers: Vec<(String, Arc<jwt::Authorizer>)> = vec![];
    for r in &m.routes {
        let runtime = runtimes
            .iter()
            .find(|rt| rt.spec.logical_id == r.function)
            .context("route to an unknown function")?
            .clone();
        let authorizer = match &r.authorizer {
            None => None,
            Some(spec) => match authorizers.iter().find(|(id, _)| *id == spec.logical_id) {
                Some((_, a)) => Some(a.clone()),
                None => {
                    let a = Arc::new(jwt::Authorizer::new(spec, &jwks)?);
                    authorizers.push((spec.logical_id.clone(), a.clone()));
                    Some(a)
                }
            },
        };
        if r.payload_format != "2.0" {
            bail!(
                "route {}: payload format {} is not supported by dev",
                r.route_key,
                r.payload_format
            );
        }
        routes.push(gateway::GwRoute {
            method: r.method.clone(),
            path: r.path.clone(),
            route_key: r.route_key.clone(),
            runtime,
            timeout: Duration::from_millis(r.integration_timeout_ms),
            authorizer,
            scopes: crate::model::route_scopes(&template, &r.route_key, &opts.route_scopes)?,
        });
    }
    let cors = crate::model::cors(&template, &opts.cors_origins)?;
    let gateway = Arc::new(gateway::Gateway {
        routes,
        cors,
        runtimes: runtimes.clone(),
        jwks,
        moto_pid: moto.pid(),
        access_log: opts.access_log,
        log: opts.log.clone(),
        unauthorized: Default::default(),
        requests: Default::default(),
    });
    let jwt_spec = m.jwt()?;
    let running = Running {
        moto,
        runtimes,
        gateway,
        shutdown,
        key,
        issuer: jwt_spec.issuer.clone(),
        audience: jwt_spec
            .audience
            .first()
            .cloned()
            .context("the authorizer has no audience")?,
        state_file,
        lock,
        aws_proxy,
    };
    for rt in &running.runtimes {
        if let Err(e) = rt.wait_ready(Duration::from_secs(60)).await {
            running.stop().await;
            return Err(e);
        }
    }
    Ok(running)
}
