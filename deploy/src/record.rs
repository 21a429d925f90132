//! Records every AWS operation the deploy engine makes, for the test that
//! checks them against `cargo xtask deployer-policy`. Off unless
//! `XTASK_RECORD_SDK_CALLS` names a file; then each operation appends one
//! line `service:Operation` (the SDK's own operation metadata).

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::io::Write;
use std::path::PathBuf;

pub const ENV: &str = "XTASK_RECORD_SDK_CALLS";

#[derive(Debug)]
struct CallRecorder(PathBuf);

impl Intercept for CallRecorder {
    fn name(&self) -> &'static str {
        "CallRecorder"
    }

    fn read_before_serialization(
        &self,
        _ctx: &BeforeSerializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(meta) = cfg.load::<Metadata>() {
            let line = format!("{}:{}\n", meta.service(), meta.name());
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.0)
                .and_then(|mut f| f.write_all(line.as_bytes()))?;
        }
        Ok(())
    }
}

/// The recorder, when `XTASK_RECORD_SDK_CALLS` is set.
pub fn interceptor() -> Option<SharedInterceptor> {
    std::env::var_os(ENV).map(|p| SharedInterceptor::new(CallRecorder(PathBuf::from(p))))
}

/// A service client from `conf`, with the recorder when it is on.
macro_rules! recorded_client {
    ($sdk:ident, $conf:expr) => {{
        let mut b = $sdk::config::Builder::from($conf);
        if let Some(i) = $crate::record::interceptor() {
            b.push_interceptor(i);
        }
        $sdk::Client::from_conf(b.build())
    }};
}
pub(crate) use recorded_client;
