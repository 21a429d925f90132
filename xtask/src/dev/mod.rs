//! `cargo xtask dev`: the whole module on this machine, no AWS account.
//!
//! 1. moto (the AWS emulator) on a free loopback port, its DynamoDB and KMS
//!    state kept in `.dev/<stage>/moto-state.pickle` across runs
//!    ([`emulator::MotoServer::start_persistent`]);
//! 2. the tables and the key, made through the DynamoDB and KMS APIs from
//!    the typed stack model ([`provision`]);
//! 3. both functions built for the host and run under a local Lambda
//!    Runtime API ([`runtime_api`]) with the environment the template gives
//!    them, pointed at the emulator;
//! 4. the HTTP API on 127.0.0.1 with the model's routes and JWT authorizer
//!    ([`gateway`], [`jwt`]), tokens signed by a local key in `.dev/`.
//!
//! SIGINT, SIGTERM or SIGHUP stops everything in order: gateway, functions,
//! then moto (which saves its state). Should dev itself be killed (SIGKILL),
//! moto still saves and exits (its stdin closes) and the functions exit when
//! their runtime API goes away. `dev token` prints a token for a running dev.
mod bench;
mod fixture;
mod gateway;
mod jwt;
pub mod model;
pub(crate) mod provision;
mod runtime_api;
mod util;

/// `cargo xtask bench functions`.
pub use bench::bench_functions;

use anyhow::{bail, Context};
use model::LocalModel;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::watch;

#[derive(Debug, clap::Args)]
pub struct DevArgs {
    #[command(subcommand)]
    pub command: Option<DevCommand>,
    /// Port of the HTTP API on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 3000)]
    pub port: u16,
    /// Suffix every name for a second copy (the same as deploy's --stage).
    #[arg(long, global = true)]
    pub stage: Option<String>,
    /// Build and run the functions with the release profile.
    #[arg(long)]
    pub release: bool,
    /// Start with empty tables and a new key (the saved emulator state is deleted).
    #[arg(long)]
    pub fresh: bool,
    /// Do not print one line per request.
    #[arg(long)]
    pub quiet: bool,
    /// Most processes per function: like Lambda, another starts when a
    /// request arrives and all are busy.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Where dev keeps its data (default: `.dev/` in the workspace).
    #[arg(long, global = true, env = "XTASK_DEV_DIR", hide = true)]
    pub data_dir: Option<PathBuf>,
    /// Run a stand-in function (for the runtime API's tests) instead of the real ones.
    #[arg(long, hide = true)]
    pub fixture_functions: bool,
    /// Override every function's timeout (for tests).
    #[arg(long, hide = true)]
    pub function_timeout_ms: Option<u64>,
}

#[derive(Debug, clap::Subcommand)]
pub enum DevCommand {
    /// Print a signed dev token (only the token) for a running `cargo xtask dev`.
    Token(TokenArgs),
    /// The stand-in function `--fixture-functions` runs.
    #[command(hide = true)]
    FixtureFunction,
}

#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// The user id (`sub` claim).
    #[arg(long, default_value = "dev-user")]
    pub sub: String,
    /// Lifetime, e.g. 1h, 30m, 90s, 2d.
    #[arg(long, default_value = "1h")]
    pub ttl: String,
}

pub fn run(args: DevArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        Some(DevCommand::Token(t)) => token(&args, t),
        Some(DevCommand::FixtureFunction) => fixture::run(),
        None => {
            let rt = runtime()?;
            let result = rt.block_on(serve(args));
            rt.shutdown_timeout(Duration::from_secs(2));
            result
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

fn data_dir(args_dir: Option<&Path>) -> PathBuf {
    args_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| emulator::workspace_root().join(".dev"))
}

fn token(args: &DevArgs, t: &TokenArgs) -> anyhow::Result<ExitCode> {
    let ttl = jwt::parse_ttl(&t.ttl)?;
    if t.sub.trim().is_empty() {
        bail!("--sub must not be empty");
    }
    let (_, m) = LocalModel::synth(args.stage.as_deref())?;
    let spec = m.jwt()?;
    let key = jwt::SigningKey::load_or_create(&data_dir(args.data_dir.as_deref()))?;
    let audience = spec
        .audience
        .first()
        .context("the authorizer has no audience")?;
    println!("{}", key.id_token(&spec.issuer, audience, &t.sub, ttl)?);
    Ok(ExitCode::SUCCESS)
}

/// What [`start`] needs.
#[derive(Debug, Clone)]
pub(crate) struct StartOptions {
    pub stage: Option<String>,
    pub release: bool,
    pub fresh: bool,
    pub fixture_functions: bool,
    pub function_timeout_ms: Option<u64>,
    pub data_dir: PathBuf,
    pub access_log: bool,
    pub forward_logs: bool,
    pub concurrency: usize,
}

/// A running dev stack.
pub(crate) struct Running {
    pub moto: emulator::MotoServer,
    pub runtimes: Vec<Arc<runtime_api::Runtime>>,
    pub gateway: Arc<gateway::Gateway>,
    pub shutdown: watch::Sender<bool>,
    pub key: jwt::SigningKey,
    pub issuer: String,
    pub audience: String,
    pub state_file: PathBuf,
}

impl Running {
    /// Stops the functions (and waits for them), then moto (which saves its state).
    pub async fn stop(self) {
        self.shutdown.send_replace(true);
        for rt in &self.runtimes {
            rt.stopped().await;
        }
        let mut moto = self.moto;
        let _ = tokio::task::spawn_blocking(move || moto.shutdown(Duration::from_secs(20))).await;
    }

    pub fn token(&self, sub: &str, ttl: u64) -> anyhow::Result<String> {
        self.key.id_token(&self.issuer, &self.audience, sub, ttl)
    }
}

/// Resolves once `rx` turns true (or its sender is gone).
pub(crate) async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

fn progress(msg: &str) {
    eprintln!("dev: {msg}");
}

/// Builds the functions' executables (or names the stand-in).
async fn function_commands(
    opts: &StartOptions,
    m: &LocalModel,
) -> anyhow::Result<Vec<(String, runtime_api::Command)>> {
    if opts.fixture_functions {
        let me = std::env::current_exe().context("locating the xtask executable")?;
        return Ok(m
            .functions
            .iter()
            .map(|f| {
                let cmd = runtime_api::Command {
                    program: me.clone(),
                    args: vec!["dev".into(), "fixture-function".into()],
                    env: vec![],
                };
                (f.logical_id.clone(), cmd)
            })
            .collect());
    }
    progress(&format!(
        "building the functions ({})",
        if opts.release { "release" } else { "debug" }
    ));
    let std_cmd = lambda_package::cargo::cargo_build_command(opts.release, None, false);
    let mut cmd = tokio::process::Command::from(std_cmd);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true);
    let out = cmd
        .spawn()
        .context("running cargo")?
        .wait_with_output()
        .await?;
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
    f: &model::FunctionSpec,
    resolved: Vec<(String, String)>,
    moto: &emulator::MotoServer,
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
                util::apigw_time(util::now_millis()).get(..11).unwrap_or(""),
                util::random_u64()
            ),
        ),
        ("AWS_LAMBDA_LOG_FORMAT".into(), f.log_format.clone()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE".into(), "on-demand".into()),
        ("AWS_DEFAULT_REGION".into(), model::REGION.into()),
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
    env.extend(
        moto.client_env()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v)),
    );
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
pub(crate) async fn start(opts: &StartOptions) -> anyhow::Result<Running> {
    let (template, m) = LocalModel::synth(opts.stage.as_deref())?;
    let stage_dir = opts
        .data_dir
        .join(opts.stage.as_deref().unwrap_or("default"));
    std::fs::create_dir_all(&stage_dir)
        .with_context(|| format!("creating {}", stage_dir.display()))?;
    let state_file = stage_dir.join("moto-state.pickle");
    if opts.fresh {
        for f in [state_file.clone(), state_file.with_extension("pickle.bad")] {
            match std::fs::remove_file(&f) {
                Ok(()) => progress(&format!("--fresh: deleted {}", f.display())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(anyhow::Error::new(e).context(format!("deleting {}", f.display())))
                }
            }
        }
    }
    let had_state = state_file.exists();

    // Build the functions while moto starts.
    let moto_opts = emulator::MotoOptions {
        port: None,
        log_file: Some(stage_dir.join("moto.log")),
        venv: None,
    };
    let state = state_file.clone();
    let moto = tokio::task::spawn_blocking(move || {
        emulator::MotoServer::start_persistent(moto_opts, &state)
    });
    let commands = function_commands(opts, &m).await?;
    let moto = moto.await.context("starting moto")??;
    progress(&format!(
        "moto on {} ({}; log {})",
        moto.endpoint_url(),
        if had_state {
            format!("state from {}", state_file.display())
        } else {
            "empty".into()
        },
        stage_dir.join("moto.log").display()
    ));

    let p = provision::provision(&template, &m, &moto.endpoint_url()).await?;
    progress(&format!(
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
    ));

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
            .collect::<anyhow::Result<Vec<_>>>()
            .with_context(|| format!("the environment of {}", f.name))?;
        let env = function_env(f, resolved, &moto, &cmd.program);
        let cmd = runtime_api::Command { env, ..cmd };
        let arn = format!(
            "arn:aws:lambda:{}:{}:function:{}",
            model::REGION,
            model::ACCOUNT_ID,
            f.name
        );
        let timeout = Duration::from_millis(opts.function_timeout_ms.unwrap_or(f.timeout_ms));
        let rt = runtime_api::Runtime::new(
            f.clone(),
            arn,
            timeout,
            cmd,
            opts.forward_logs,
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
        });
    }
    let gateway = Arc::new(gateway::Gateway {
        routes,
        runtimes: runtimes.clone(),
        jwks,
        moto_pid: moto.pid(),
        access_log: opts.access_log,
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
    };
    for rt in &running.runtimes {
        if let Err(e) = rt.wait_ready(Duration::from_secs(60)).await {
            running.stop().await;
            return Err(e);
        }
    }
    Ok(running)
}

async fn serve(args: DevArgs) -> anyhow::Result<ExitCode> {
    use tokio::signal::unix::{signal, SignalKind};
    let t0 = Instant::now();
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let stop = async move {
        tokio::select! {
            _ = sigint.recv() => "SIGINT",
            _ = sigterm.recv() => "SIGTERM",
            _ = sighup.recv() => "SIGHUP",
        }
    };
    tokio::pin!(stop);
    let listener = TcpListener::bind(("127.0.0.1", args.port))
        .await
        .with_context(|| {
            format!(
            "cannot listen on 127.0.0.1:{}; is another dev running? Pick another port with --port",
            args.port
        )
        })?;
    let addr = listener.local_addr()?;
    let opts = StartOptions {
        stage: args.stage.clone(),
        release: args.release,
        fresh: args.fresh,
        fixture_functions: args.fixture_functions,
        function_timeout_ms: args.function_timeout_ms,
        data_dir: data_dir(args.data_dir.as_deref()),
        access_log: !args.quiet,
        forward_logs: true,
        concurrency: args.concurrency,
    };
    let running = tokio::select! {
        r = start(&opts) => r?,
        sig = &mut stop => {
            eprintln!("dev: {sig} during startup: stopped");
            return Ok(ExitCode::SUCCESS);
        }
    };
    let server = tokio::spawn(
        running
            .gateway
            .clone()
            .serve(listener, running.shutdown.subscribe()),
    );
    let url = format!("http://{addr}");
    let token = running.token("dev-user", 3600)?;
    let stage_flag = args
        .stage
        .as_deref()
        .map(|s| format!(" --stage {s}"))
        .unwrap_or_default();
    eprintln!("dev: started in {:.1} s", t0.elapsed().as_secs_f64());
    println!("ready: {url}");
    println!();
    println!("# A token for user dev-user, valid 1 h (another: TOKEN=$(cargo xtask dev token{stage_flag} --sub NAME)):");
    println!("TOKEN={token}");
    println!();
    println!("# Create a session (the deployment guide's example); keeps its id in SESSION_ID:");
    println!(
        "SESSION_ID=$(curl -s -X POST {url}/sessions -H \"Authorization: Bearer $TOKEN\" -H \"Content-Type: application/json\" \\\n  -d '{{\"action\":\"create\",\"session\":{{\"currentTopic\":\"JavaScript Basics\",\"mode\":\"tutor\"}}}}' \\\n  | tee /dev/stderr | sed -n 's/.*\"sessionId\": *\"\\([^\"]*\\)\".*/\\1/p'); echo"
    );
    println!();
    println!("# Add a turn to it:");
    println!(
        "curl -s -X POST {url}/context -H \"Authorization: Bearer $TOKEN\" -H \"Content-Type: application/json\" \\\n  -d '{{\"action\":\"add_turn\",\"sessionId\":\"'\"$SESSION_ID\"'\",\"turn\":{{\"role\":\"user\",\"content\":\"What is a closure?\",\"language\":\"en\"}}}}'; echo"
    );
    println!();
    println!(
        "# Ctrl-C stops everything; data stays in {} (--fresh starts over).",
        opts.data_dir.display()
    );
    use std::io::Write;
    let _ = std::io::stdout().flush();

    let sig = (&mut stop).await;
    eprintln!("dev: {sig}: stopping");
    let state_file = running.state_file.clone();
    running.shutdown.send_replace(true);
    let _ = server.await;
    running.stop().await;
    eprintln!(
        "dev: stopped; emulator state saved to {}",
        state_file.display()
    );
    Ok(ExitCode::SUCCESS)
}
