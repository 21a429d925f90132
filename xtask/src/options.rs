//! From flags to the libraries' option structs, in one place: every default
//! that is not clap's and every conversion of a flag's type.

use crate::flags;
use deploy::options::{
    Artifacts, AwsOptions, DeployOptions, DestroyOptions, DiffOptions, ParamOptions, VerifyOptions,
};
use std::path::PathBuf;

impl From<flags::Aws> for AwsOptions {
    fn from(a: flags::Aws) -> Self {
        AwsOptions {
            region: a.region,
            profile: a.profile,
            endpoint_url: a.endpoint_url,
            static_credentials: None,
        }
    }
}

impl From<flags::Params> for ParamOptions {
    fn from(p: flags::Params) -> Self {
        ParamOptions {
            arch: p.arch,
            user_pool_id: p.user_pool_id,
            user_pool_client_id: (!p.user_pool_client_ids.is_empty())
                .then(|| p.user_pool_client_ids.join(",")),
            alarm_email: p.alarm_email,
            reserved_concurrency: p.reserved_concurrency,
            memory_mb: p.memory_mb.into_iter().collect(),
            backup_retention_days: p.backup_retention_days,
            monthly_budget_usd: p.monthly_budget_usd,
            tls_trust_store: p.tls_trust_store,
            log_level: p.log_level,
            tracing: p.tracing,
            cors_origins: (!p.cors_origins.is_empty()).then_some(p.cors_origins),
            allow_local_origins: p.allow_local_origins,
            route_scopes: (!p.route_scopes.is_empty()).then_some(p.route_scopes),
        }
    }
}

impl From<flags::Deploy> for DeployOptions {
    fn from(d: flags::Deploy) -> Self {
        DeployOptions {
            aws: d.aws.into(),
            stage: d.stage.stage,
            params: d.params.into(),
            require_approval: d.require_approval,
            yes: d.yes,
            allow_replacement: d.allow_replacement,
            outputs_file: d.outputs_file,
            artifacts: d.artifacts_dir.map_or(Artifacts::Build, Artifacts::Dir),
            template: d.template,
            smoke: !d.no_verify,
            protect: !d.no_protection,
            role_arn: d.role_arn,
        }
    }
}

/// `target/lambda` (under `CARGO_TARGET_DIR` when set), where `build` writes the zips.
fn default_artifacts_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| emulator::workspace_root().join("target"))
        .join("lambda")
}

impl From<flags::Diff> for DiffOptions {
    fn from(d: flags::Diff) -> Self {
        DiffOptions {
            aws: d.aws.into(),
            stage: d.stage.stage,
            params: d.params.into(),
            artifacts_dir: d.artifacts_dir.unwrap_or_else(default_artifacts_dir),
            template: None,
        }
    }
}

impl From<flags::Destroy> for DestroyOptions {
    fn from(d: flags::Destroy) -> Self {
        DestroyOptions {
            aws: d.aws.into(),
            stage: d.stage.stage,
            yes: d.yes,
        }
    }
}

impl From<flags::Verify> for VerifyOptions {
    fn from(v: flags::Verify) -> Self {
        VerifyOptions {
            aws: v.aws.into(),
            stage: v.stage.stage,
            smoke: !v.no_smoke,
        }
    }
}

impl From<flags::Logs> for deploy::logs::LogsOptions {
    fn from(l: flags::Logs) -> Self {
        deploy::logs::LogsOptions {
            aws: l.aws.into(),
            stage: l.stage.stage,
            function: l.function,
            source: l.source,
            status: l.status,
            route: l.route,
            since: l.since,
            follow: l.follow,
            filter: l.filter,
            request_id: l.request_id,
            poll_interval: std::time::Duration::from_secs(2),
            page_limit: None,
        }
    }
}

impl From<flags::Backup> for deploy::backup::BackupOptions {
    fn from(b: flags::Backup) -> Self {
        deploy::backup::BackupOptions {
            aws: b.aws.into(),
            stage: b.stage.stage,
            table: b.table,
        }
    }
}

impl From<flags::Tune> for deploy::tune::TuneOptions {
    fn from(t: flags::Tune) -> Self {
        deploy::tune::TuneOptions {
            aws: t.aws.into(),
            stage: t.stage.stage,
            function: t.function,
            memory_mb: t.memory,
            invocations: t.invocations,
        }
    }
}

impl From<flags::Audit> for deploy::audit::AuditOptions {
    fn from(a: flags::Audit) -> Self {
        deploy::audit::AuditOptions {
            aws: a.aws.into(),
            stage: a.stage.stage,
            since: a.since,
        }
    }
}

impl From<flags::Backups> for deploy::backup::BackupOptions {
    fn from(b: flags::Backups) -> Self {
        deploy::backup::BackupOptions {
            aws: b.aws.into(),
            stage: b.stage.stage,
            table: None,
        }
    }
}

impl From<flags::Restore> for deploy::backup::RestoreOptions {
    fn from(r: flags::Restore) -> Self {
        use deploy::backup::{RestoreSource, TableChoice};
        // clap's group makes exactly one of the two present.
        let source = match (r.to_time, r.backup_arn) {
            (Some(time), _) => RestoreSource::PointInTime {
                table: r.table.unwrap_or(TableChoice::Sessions),
                time,
            },
            (None, arn) => RestoreSource::Backup {
                arn: arn.unwrap_or_default(),
            },
        };
        deploy::backup::RestoreOptions {
            aws: r.aws.into(),
            stage: r.stage.stage,
            source,
            target_table: r.target_table,
            poll_interval: std::time::Duration::from_secs(5),
        }
    }
}

impl From<&flags::Cost> for deploy::cost_actual::ActualOptions {
    fn from(c: &flags::Cost) -> Self {
        deploy::cost_actual::ActualOptions {
            aws: c.aws.clone().into(),
            stage: c.stage.stage.clone(),
            month: c.month.clone(),
        }
    }
}

impl From<&flags::Cost> for deploy::cost::Usage {
    fn from(c: &flags::Cost) -> Self {
        deploy::cost::Usage {
            students: c.students,
            sessions_per_student: c.sessions_per_student,
            turns_per_session: c.turns_per_session,
            turn_bytes: c.turn_bytes,
        }
    }
}

/// `dev`'s options; the data directory defaults to `.dev/`.
pub fn dev(d: &flags::Dev) -> local::StartOptions {
    local::StartOptions {
        stage: d.stage.clone(),
        functions: local::Functions::Build { release: d.release },
        fresh: d.fresh,
        function_timeout_ms: None,
        data_dir: dev_data_dir(d),
        access_log: !d.quiet,
        forward_logs: true,
        log: local::Log::stderr(),
        concurrency: d.concurrency,
        aws_proxy: false,
        unlocked_emulator: false,
        cors_origins: d.cors_origins.clone(),
        route_scopes: d.route_scopes.clone(),
    }
}

pub fn dev_data_dir(d: &flags::Dev) -> PathBuf {
    d.data_dir
        .clone()
        .unwrap_or_else(local::start::default_data_dir)
}

/// `xtask.toml`'s settings for the command's stage, where its flags left
/// them unset (flags, and the environment variables clap reads, win).
pub fn with_config(command: &mut flags::Command, config: &crate::config::Config) {
    use flags::Command as C;
    match command {
        C::Deploy(a) => {
            let stage = a.stage.stage.clone();
            config.fill_aws(&mut a.aws, stage.as_deref());
            config.fill_params(&mut a.params, stage.as_deref());
            if a.role_arn.is_none() {
                a.role_arn = config.for_stage(stage.as_deref()).role_arn;
            }
        }
        C::Diff(a) => {
            let stage = a.stage.stage.clone();
            config.fill_aws(&mut a.aws, stage.as_deref());
            config.fill_params(&mut a.params, stage.as_deref());
        }
        C::Destroy(a) => config.fill_aws(&mut a.aws, a.stage.stage.clone().as_deref()),
        C::Verify(a) => config.fill_aws(&mut a.aws, a.stage.stage.clone().as_deref()),
        C::Outputs(a) => config.fill_aws(&mut a.aws, a.stage.stage.clone().as_deref()),
        C::Rollback(a) => config.fill_aws(&mut a.aws, a.stage.stage.clone().as_deref()),
        C::CiRole(a) => config.fill_aws(&mut a.aws, a.stage.stage.clone().as_deref()),
        C::DeployerPolicy(a) => {
            let stage = a.stage.stage.clone();
            config.fill_aws(&mut a.aws, stage.as_deref());
            // The stage's deployer passes the role the file names.
            if a.audience == flags::PolicyAudience::Caller && a.role_arn.is_none() {
                a.role_arn = config.for_stage(stage.as_deref()).role_arn;
            }
        }
        C::Stages(a) => config.fill_aws(&mut a.aws, None),
        C::Logs(a) => config.fill_aws(&mut a.aws, a.stage.stage.clone().as_deref()),
        C::Backup(a) => config.fill_aws(&mut a.aws, a.stage.stage.clone().as_deref()),
        C::Backups(a) => config.fill_aws(&mut a.aws, a.stage.stage.clone().as_deref()),
        C::Audit(a) => config.fill_aws(&mut a.aws, a.stage.stage.clone().as_deref()),
        C::Tune(a) => config.fill_aws(&mut a.aws, a.stage.stage.clone().as_deref()),
        C::Restore(a) => config.fill_aws(&mut a.aws, a.stage.stage.clone().as_deref()),
        _ => {}
    }
}
