//! `cargo xtask dev`: the module on this machine (`local`), until SIGINT,
//! SIGTERM or SIGHUP; `dev token` prints a token for it.
//!
//! Should dev itself be killed (SIGKILL), moto still saves and exits (its
//! stdin closes) and the functions exit when their runtime API goes away.

use crate::flags::{self, DevCommand};
use crate::output::outln;
use anyhow::{Context, Result};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

pub fn run(args: flags::Dev) -> Result<ExitCode> {
    if let Some(DevCommand::Token(t)) = &args.command {
        let dir = crate::options::dev_data_dir(&args);
        outln!(
            "{}",
            local::start::dev_token(
                &dir,
                args.stage.as_deref(),
                &t.sub,
                t.ttl,
                &t.groups,
                t.client_id.as_deref(),
                &t.scopes,
            )?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let rt = crate::runtime()?;
    let result = rt.block_on(serve(args));
    rt.shutdown_timeout(Duration::from_secs(2));
    result
}

async fn serve(args: flags::Dev) -> Result<ExitCode> {
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
    let bad = deploy::options::cors_origin_problems(&args.cors_origins, true);
    if !bad.is_empty() {
        anyhow::bail!("{}", bad.join("\n"));
    }
    let opts = crate::options::dev(&args);
    let running = tokio::select! {
        r = local::start(&opts) => r?,
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
    if args.watch {
        tokio::spawn(local::watch::run(
            opts.clone(),
            running.runtimes.clone(),
            local::watch::function_sources(),
            Duration::from_millis(500),
            running.shutdown.subscribe(),
        ));
    }
    let url = format!("http://{addr}");
    let token = running.token("dev-user", 3600)?;
    let stage_flag = args
        .stage
        .as_deref()
        .map(|s| format!(" --stage {s}"))
        .unwrap_or_default();
    eprintln!("dev: started in {:.1} s", t0.elapsed().as_secs_f64());
    outln!("ready: {url}");
    outln!();
    outln!("# A token for user dev-user, valid 1 h (another: TOKEN=$(cargo xtask dev token{stage_flag} --sub NAME)):");
    outln!("TOKEN={token}");
    outln!();
    outln!("# Create a session (the deployment guide's example); keeps its id in SESSION_ID:");
    outln!(
        "SESSION_ID=$(curl -s -X POST {url}/sessions -H \"Authorization: Bearer $TOKEN\" -H \"Content-Type: application/json\" \\\n  -d '{{\"action\":\"create\",\"session\":{{\"currentTopic\":\"JavaScript Basics\",\"mode\":\"tutor\"}}}}' \\\n  | tee /dev/stderr | sed -n 's/.*\"sessionId\": *\"\\([^\"]*\\)\".*/\\1/p'); echo"
    );
    outln!();
    outln!("# Add a turn to it:");
    outln!(
        "curl -s -X POST {url}/context -H \"Authorization: Bearer $TOKEN\" -H \"Content-Type: application/json\" \\\n  -d '{{\"action\":\"add_turn\",\"sessionId\":\"'\"$SESSION_ID\"'\",\"turn\":{{\"role\":\"user\",\"content\":\"What is a closure?\",\"language\":\"en\"}}}}'; echo"
    );
    outln!();
    outln!(
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
