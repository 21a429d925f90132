//! `cargo xtask`: builds, checks, deploys and runs the voice-learning
//! session module. A thin CLI: flags (`flags`) become the libraries' option
//! structs (`options`), the libraries do the work, and this crate prints
//! (`ui`, `render`) and picks the exit code.

mod bench;
mod book;
mod config;
mod deps;
mod dev;
mod docs;
mod flags;
mod inspect;
mod lint;
mod ops;
mod options;
mod output;
mod render;
mod synth;
mod test;
mod ui;

use anyhow::{Context, Result};
use clap::Parser;
use deploy::report::Report;
use flags::Command;
use output::outln;
use std::process::ExitCode;
use ui::{Prompt, Terminal};

/// The async runtime of every command that talks to AWS or runs `dev`.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Runs an engine future. Ctrl-C at a prompt exits 130 at once: the
/// prompt's thread still blocks on stdin, and dropping the runtime would wait for it.
pub fn block_on<T>(f: impl std::future::Future<Output = deploy::Result<T>>) -> Result<T> {
    let rt = runtime()?;
    match rt.block_on(f) {
        Err(e @ deploy::Error::Interrupted(_)) => {
            eprintln!();
            output::finish(Err(e.into()));
            std::process::exit(130)
        }
        r => Ok(r?),
    }
}

fn exit(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn build(args: flags::Build) -> Result<ExitCode> {
    let artifacts = lambda_package::build_all(args.arch, &mut |l| eprintln!("{l}"))?;
    for line in lambda_package::artifact::summary_lines(&artifacts) {
        outln!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

fn deploy(args: flags::Deploy) -> Result<ExitCode> {
    let mut term = Terminal::new(args.json);
    term.details = args.details;
    if args.hotswap {
        let opts = args.into();
        block_on(deploy::hotswap::run(&opts, &mut term))?;
        return Ok(ExitCode::SUCCESS);
    }
    let opts = args.into();
    let outcome = block_on(deploy::apply::run(&opts, &mut term, &mut Prompt))?;
    Ok(exit(outcome != deploy::apply::Outcome::Cancelled))
}

fn diff(args: flags::Diff) -> Result<ExitCode> {
    let mut term = Terminal::new(args.json);
    let (fail, json) = (args.fail, args.json);
    let rep = block_on(deploy::diff::run(&args.into()))?;
    for line in render::diff(&rep) {
        term.line(line);
    }
    if json {
        term.result(rep.to_json());
    }
    Ok(exit(!(fail && rep.has_differences())))
}

fn destroy(args: flags::Destroy) -> Result<ExitCode> {
    let mut term = Terminal::new(args.json);
    let opts = args.into();
    let done = block_on(deploy::destroy::run(&opts, &mut term, &mut Prompt))?;
    Ok(exit(done != deploy::destroy::Destroyed::Cancelled))
}

fn verify(args: flags::Verify) -> Result<ExitCode> {
    let json = args.json;
    let v = block_on(deploy::verify::run(&args.into()))?;
    let checks = &v.checks;
    let summary = deploy::verify::check::Summary::of(checks);
    if json {
        output::result(serde_json::json!({
            "stack": v.stack, "account": v.account, "region": v.region,
            "ok": summary.passed(), "summary": summary, "checks": checks,
        }));
    } else {
        outln!("{} → account {}, region {}", v.stack, v.account, v.region);
        for line in render::verify_rows(checks) {
            outln!("{line}");
        }
        for line in summary.lines() {
            outln!("{line}");
        }
    }
    Ok(exit(summary.passed()))
}

fn deployer_policy(args: flags::DeployerPolicy) -> Result<ExitCode> {
    use deploy::deployer_policy::{account_and_region, check_role_arn, policy_for, Audience};
    let aws = args.aws.into();
    if let Some(r) = &args.role_arn {
        check_role_arn(r)?;
    }
    let audience = match (args.audience, args.role_arn.as_deref()) {
        (flags::PolicyAudience::Caller, None) => Audience::Caller,
        (flags::PolicyAudience::Caller, Some(r)) => Audience::CallerWithRole(r),
        (flags::PolicyAudience::CloudformationRole, None) => Audience::CloudFormationRole,
        (flags::PolicyAudience::CloudformationRole, Some(_)) => anyhow::bail!(
            "--role-arn goes with --for caller (the deployer that passes the role); \
             --for cloudformation-role prints the role's own policy"
        ),
    };
    let (account, region) = block_on(account_and_region(&aws, args.account.as_deref()))?;
    let doc = policy_for(audience, args.stage.stage.as_deref(), &account, &region)?;
    if args.parts {
        let parts = deploy::deployer_policy::split(
            &doc,
            deploy::deployer_policy::MANAGED_POLICY_MAX_CHARS,
        )?;
        outln!("{}", serde_json::to_string_pretty(&parts)?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(ExitCode::SUCCESS)
}

fn ci_role(args: flags::CiRole) -> Result<ExitCode> {
    use deploy::ci_role::{template, Source};
    let source = Source::new(&args.github, &args.branch)?;
    let aws = args.aws.into();
    let (account, region) = block_on(deploy::deployer_policy::account_and_region(
        &aws,
        args.account.as_deref(),
    ))?;
    let t = template(
        args.stage.stage.as_deref(),
        &account,
        &region,
        &source,
        args.existing_provider.as_deref(),
    )?;
    outln!("{}", serde_json::to_string_pretty(&t)?);
    Ok(ExitCode::SUCCESS)
}

/// The commands whose `--json` output goes through [`output`].
fn wants_json(c: &Command) -> bool {
    match c {
        Command::Diff(a) => a.json,
        Command::Deploy(a) => a.json,
        Command::Destroy(a) => a.json,
        Command::Verify(a) => a.json,
        Command::Outputs(a) => a.json,
        Command::Rollback(a) => a.json,
        Command::Stages(a) => a.json,
        Command::Backup(a) => a.json,
        Command::Backups(a) => a.json,
        Command::Restore(a) => a.json,
        Command::Cost(a) => a.json,
        Command::Audit(a) => a.json,
        Command::Tune(a) => a.json,
        _ => false,
    }
}

fn main() -> ExitCode {
    let (mut command, config_file) = match flags::Xtask::try_parse() {
        Ok(x) => (x.command, x.config),
        Err(e) => {
            // Usage errors of a `--json` run are a JSON document too.
            if e.use_stderr() && std::env::args().any(|a| a == "--json") {
                output::usage_error(&e.to_string());
            }
            e.exit()
        }
    };
    output::set_json(wants_json(&command));
    if let Err(e) =
        config::load(config_file.as_deref()).map(|c| options::with_config(&mut command, &c))
    {
        // diff keeps 1 for "differences": its errors are 2.
        return output::fail(
            e,
            if matches!(command, Command::Diff(_)) {
                2
            } else {
                1
            },
        );
    }
    let result = match command {
        Command::Synth(a) => synth::run(a),
        Command::Openapi(a) => synth::openapi(a),
        Command::Lint(a) => lint::run(a),
        Command::Deny(a) => deps::deny(a),
        Command::Deps(a) => deps::run(a),
        Command::Test(a) => test::run(a),
        Command::Build(a) => build(a),
        // 1 means "differences" to `diff --fail`, so trouble is 2.
        Command::Diff(a) => Ok(diff(a).unwrap_or_else(|e| output::fail(e, 2))),
        Command::Deploy(a) => deploy(a),
        Command::Destroy(a) => destroy(a),
        Command::DeployerPolicy(a) => deployer_policy(a),
        Command::CiRole(a) => ci_role(a),
        Command::Dev(a) => dev::run(a),
        Command::Verify(a) => verify(a),
        Command::Outputs(a) => inspect::outputs(a),
        Command::Rollback(a) => ops::rollback(a),
        Command::Stages(a) => inspect::stages(a),
        Command::Logs(a) => ops::logs(a),
        Command::Backup(a) => ops::backup(a),
        Command::Backups(a) => ops::backups(a),
        Command::Restore(a) => ops::restore(a),
        Command::Cost(a) => ops::cost(a),
        Command::Audit(a) => ops::audit(a),
        Command::Tune(a) => ops::tune(a),
        Command::Bench(a) => bench::run(a),
        Command::Completions(a) => docs::completions(a),
        Command::Man(a) => docs::man(a),
        Command::Docs(a) => book::run(a),
    };
    output::finish(result)
}
