//! `xtask.toml`: settings per stage, so `cargo xtask deploy --stage qa`
//! needs no region, profile or user pool flags each time. A flag (or its
//! environment variable, e.g. AWS_REGION) always wins over the file.
//!
//! ```toml
//! [default]            # every stage
//! region = "eu-west-1"
//!
//! [stages.default]     # the stack without --stage
//! user_pool_id = "eu-west-1_AbC123xyz"
//! user_pool_client_id = "1example23456789"
//!
//! [stages.qa]
//! profile = "qa-account"
//! user_pool_id = "eu-west-1_Qa0000000"
//! user_pool_client_id = "2example23456789"
//! alarm_email = "qa-alerts@example.com"
//! cors_origins = ["https://qa.app.example.com"]
//! role_arn = "arn:aws:iam::123456789012:role/voice-learning-cfn-qa"
//! ```

use crate::flags;
use anyhow::{Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What one stage (or every stage) sets.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSettings {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub user_pool_id: Option<String>,
    pub user_pool_client_id: Option<String>,
    pub alarm_email: Option<String>,
    /// Browser origins allowed to call the stage's API (CORS).
    pub cors_origins: Option<Vec<String>>,
    /// The CloudFormation service role `deploy` passes (`--role-arn`).
    pub role_arn: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub default: StageSettings,
    #[serde(default)]
    pub stages: BTreeMap<String, StageSettings>,
}

/// `--config`, else `xtask.toml` in the workspace root.
pub fn path(given: Option<&Path>) -> PathBuf {
    given
        .map(Path::to_path_buf)
        .unwrap_or_else(|| emulator::workspace_root().join("xtask.toml"))
}

/// The file's settings; none when it does not exist (unless given explicitly).
pub fn load(given: Option<&Path>) -> Result<Config> {
    let p = path(given);
    let text = match std::fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && given.is_none() => {
            return Ok(Config::default())
        }
        Err(e) => {
            return Err(e).with_context(|| format!("--config {}: cannot read it", p.display()))
        }
    };
    toml::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a valid settings file: {}",
            p.display(),
            e.message()
        )
    })
}

impl Config {
    /// The settings of `stage` (`None`: `[stages.default]`), over `[default]`.
    pub fn for_stage(&self, stage: Option<&str>) -> StageSettings {
        let s = self
            .stages
            .get(stage.unwrap_or("default"))
            .cloned()
            .unwrap_or_default();
        let d = &self.default;
        StageSettings {
            region: s.region.or_else(|| d.region.clone()),
            profile: s.profile.or_else(|| d.profile.clone()),
            user_pool_id: s.user_pool_id.or_else(|| d.user_pool_id.clone()),
            user_pool_client_id: s
                .user_pool_client_id
                .or_else(|| d.user_pool_client_id.clone()),
            alarm_email: s.alarm_email.or_else(|| d.alarm_email.clone()),
            cors_origins: s.cors_origins.or_else(|| d.cors_origins.clone()),
            role_arn: s.role_arn.or_else(|| d.role_arn.clone()),
        }
    }

    /// Fills what the flags left unset.
    pub fn fill_aws(&self, aws: &mut flags::Aws, stage: Option<&str>) {
        let s = self.for_stage(stage);
        if aws.region.is_none() {
            aws.region = s.region;
        }
        if aws.profile.is_none() {
            aws.profile = s.profile;
        }
    }

    pub fn fill_params(&self, p: &mut flags::Params, stage: Option<&str>) {
        let s = self.for_stage(stage);
        if p.user_pool_id.is_none() {
            p.user_pool_id = s.user_pool_id;
        }
        if p.user_pool_client_ids.is_empty() {
            // One id, or several separated by commas, as the flag repeated.
            p.user_pool_client_ids = s
                .user_pool_client_id
                .map(|ids| ids.split(',').map(|i| i.trim().to_string()).collect())
                .unwrap_or_default();
        }
        if p.alarm_email.is_none() {
            p.alarm_email = s.alarm_email;
        }
        if p.cors_origins.is_empty() {
            // An empty list in the file means none, as `--cors-origin ''` does.
            p.cors_origins = s
                .cors_origins
                .map(|o| if o.is_empty() { vec![String::new()] } else { o })
                .unwrap_or_default();
        }
    }
}
