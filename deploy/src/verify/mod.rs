//! `verify`: after a deploy, checks that what runs in the account
//! is what the design says, starting from the stack itself:
//!
//! - [`resources`]: the stack's resources (ListStackResources): every physical id
//!   the other checks use (table names, the key, the API id, function names);
//! - [`key`]: the stack's KMS key (customer managed, enabled, rotation on);
//! - [`tables`]: key schema and index, SSE with *the stack's* key, TTL, PITR;
//! - [`functions`]: runtime, environment, environment encrypted with the key;
//! - [`api`]: the stack's HTTP API (by its physical id), routes behind the
//!   JWT authorizer;
//! - [`smoke`]: a real request through both functions (`lambda:Invoke` with
//!   an API Gateway payload-2.0 event), also run by `deploy`.
//!
//! Every check has one of four outcomes ([`Outcome`]): ok, FAIL, pending (AWS
//! is still turning a setting on: re-run later) and cannot check (the caller
//! may not call that describe action). Every expectation comes from the same
//! typed stack model synth uses, so verify cannot drift from the template.

pub mod api;
// A leaf of the crate (the results name it too); its path here stays.
pub use crate::check;
pub mod functions;
pub mod invokers;
pub mod key;
pub mod resources;
pub mod smoke;
pub mod tables;

use crate::aws;
use crate::error::Result;
use crate::options::VerifyOptions;
use aws_config::SdkConfig;
use check::Check;

/// What `verify` checked, and where.
#[derive(Debug, Clone)]
pub struct Verified {
    pub stack: String,
    pub account: String,
    pub region: String,
    pub checks: Vec<Check>,
}

/// Connects (the credentials check first), then runs every check; a stack
/// that does not exist is one error, not a list of failed checks.
pub async fn run(opts: &VerifyOptions) -> Result<Verified> {
    let names = crate::options::names(opts.stage.as_deref())?;
    let aws = aws::connect(&opts.aws).await?;
    if crate::stack_state::describe_stack(&aws, &names.stack)
        .await?
        .is_none()
    {
        return Err(crate::error::failed!(kind = NotFound,
            "{} does not exist in account {}, region {}: deploy it first (`cargo xtask deploy`), or pass the --stage / --region it was deployed with.",
            names.stack,
            aws.account,
            aws.region
        ));
    }
    let checks = verify(&aws.conf, opts.stage.as_deref(), opts.smoke).await?;
    Ok(Verified {
        stack: names.stack,
        account: aws.account,
        region: aws.region,
        checks,
    })
}

/// A parameter's value on the deployed stack: `Some("")` when the stack
/// predates the parameter (its default then), `None` when it cannot be read.
async fn stack_parameter(
    cfn: &aws_sdk_cloudformation::Client,
    stack_name: &str,
    key: &str,
) -> Option<String> {
    let out = cfn
        .describe_stacks()
        .stack_name(stack_name)
        .send()
        .await
        .ok()?;
    let stack = out.stacks().first()?;
    Some(
        stack
            .parameters()
            .iter()
            .find(|p| p.parameter_key() == Some(key))
            .and_then(|p| p.parameter_value())
            .unwrap_or_default()
            .to_string(),
    )
}

/// Runs every check against the account `conf` points at.
pub async fn verify(conf: &SdkConfig, stage: Option<&str>, smoke: bool) -> Result<Vec<Check>> {
    let names = stack::Names::new(stage)?;
    let template = stack::synth(&stack::StackOptions {
        stage: stage.map(str::to_string),
        region: conf.region().map(|r| r.to_string()),
    })?;
    let mut checks = Vec::new();
    let cfn = crate::record::recorded_client!(aws_sdk_cloudformation, conf);
    let deployed = match resources::read(&cfn, &names.stack).await {
        Ok(r) => {
            checks.push(Check::ok(
                format!("stack {}", names.stack),
                format!("{} resources", r.count()),
            ));
            r
        }
        // Nothing else can be located without the stack's physical ids.
        Err(c) => return Ok(vec![c]),
    };

    let kms = crate::record::recorded_client!(aws_sdk_kms, conf);
    let (stack_key, key_checks) = key::verify_stack_key(&kms, &deployed).await;
    checks.extend(key_checks);

    let ddb = crate::record::recorded_client!(aws_sdk_dynamodb, conf);
    for (logical, model) in tables::modelled(&template) {
        match deployed.physical_id(logical) {
            Some(name) => checks
                .extend(tables::verify_table(&ddb, &kms, name, model, stack_key.as_ref()).await),
            None => checks.push(Check::fail(
                format!("table {}", model.table_name),
                format!("the stack has no {logical} resource"),
            )),
        }
    }

    let lambda = crate::record::recorded_client!(aws_sdk_lambda, conf);
    checks
        .extend(functions::verify_functions(&lambda, &names, &deployed, stack_key.as_ref()).await);
    checks.extend(functions::verify_live(&lambda, &names, &deployed).await);
    checks.extend(
        invokers::verify(
            &lambda,
            &functions::function_names(&names, &deployed),
            deployed.physical_id(stack::module::ids::HTTP_API),
        )
        .await,
    );

    let apigw = crate::record::recorded_client!(aws_sdk_apigatewayv2, conf);
    let origins = stack_parameter(
        &cfn,
        &names.stack,
        stack::module::ids::P_CORS_ALLOWED_ORIGINS,
    )
    .await;
    checks.extend(api::verify_api(&apigw, &deployed, &template, origins.as_deref()).await);

    if smoke {
        let targets = smoke::Targets::from_stack(&names, Some(&deployed));
        checks.extend(smoke::run(conf, &targets).await);
    }
    Ok(checks)
}
