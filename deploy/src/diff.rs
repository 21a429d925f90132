//! `diff`: the local template, parameters and code hashes against the
//! deployed stack (GetTemplate and the stack's parameters), without a
//! change set.

use crate::assets;
use crate::aws;
use crate::error::{Error, Result};
use crate::options::{self, DiffOptions};
use crate::stack_state::{deployed_template, describe_stack};
use aws_sdk_cloudformation::types::StackStatus;
use cfn_plan::diff_report::{report, DiffReport, MovedAlias};
use cfn_plan::params;
use serde_json::Value;
use stack::module::ids;

/// Compares the local template, parameters and code with the deployed stack.
pub async fn run(opts: &DiffOptions) -> Result<DiffReport> {
    let names = options::names(opts.stage.as_deref())?;
    opts.params.validate()?;
    let aws = aws::connect(&opts.aws).await?;
    opts.params.check_region(&aws.region)?;
    let template = options::template(opts.stage.as_deref(), &aws.region, opts.template.as_ref())?;
    let deployed = describe_stack(&aws, &names.stack)
        .await?
        .filter(|d| d.status != StackStatus::ReviewInProgress);
    let old_template = match &deployed {
        Some(_) => deployed_template(&aws, &names.stack).await?,
        None => Value::Null,
    };
    let kept = deployed.as_ref().map(|d| d.params.clone());

    let mut explicit = opts.params.explicit();
    explicit.insert(
        ids::P_CODE_BUCKET.into(),
        assets::bucket_name(&aws.account, &aws.region),
    );
    let dir = &opts.artifacts_dir;
    let code_note;
    let mut code_stale = false;
    let mut have_zips = false;
    match lambda_package::artifacts_in(dir)
        .map_err(Error::from)
        .and_then(|a| Ok((assets::from_artifacts(&a)?, a)))
    {
        Ok((list, artifacts)) => {
            for a in list {
                explicit.insert(a.parameter.into(), a.key);
            }
            have_zips = true;
            // diff does not build: it says which build it compares, and
            // when the sources changed since.
            use lambda_package::artifact::{built_at, newer_source};
            let built = built_at(&artifacts);
            let stale = built.and_then(newer_source);
            code_stale = stale.is_some();
            code_note = Some(match stale {
                Some(src) => format!(
                    "code: compared with the last build in {}, which is older than {}: run `cargo xtask build` to compare the current code",
                    dir.display(),
                    src.display()
                ),
                None => format!(
                    "code: compared with the last build in {}{}",
                    dir.display(),
                    built
                        .and_then(|t| t.elapsed().ok())
                        .map(|d| format!(" (built {} ago)", crate::text::ago(d)))
                        .unwrap_or_default()
                ),
            });
        }
        Err(_) => {
            code_note = Some(format!(
                "no built zips in {} (run `cargo xtask build`): code is not compared",
                dir.display()
            ));
        }
    }
    let mut new_params = params::resolve(&template, &explicit, kept.as_ref(), true)?;
    if !have_zips {
        // Without local zips, assume the deployed code (or mark it unknown).
        for p in [
            ids::P_SESSION_PERSISTENCE_CODE_KEY,
            ids::P_CONTEXT_MANAGER_CODE_KEY,
        ] {
            if let Some(v) = kept.as_ref().and_then(|k| k.get(p)) {
                new_params.insert(p.into(), v.clone());
            }
        }
    }
    let mut rep = report(
        &names.stack,
        &old_template,
        &template,
        &kept.clone().unwrap_or_default(),
        &new_params,
        deployed.is_some(),
    );
    rep.code_note = code_note;
    rep.code_stale = code_stale;
    if deployed.is_some() {
        rep.moved_aliases = moved_aliases(&aws, &names).await?;
    }
    Ok(rep)
}

/// The functions whose `live` alias is not on the version the stack
/// published (none for a stack from before versions).
async fn moved_aliases(aws: &aws::Aws, names: &stack::Names) -> Result<Vec<MovedAlias>> {
    let cfn = crate::record::recorded_client!(aws_sdk_cloudformation, &aws.conf);
    let Ok(resources) = crate::verify::resources::read(&cfn, &names.stack).await else {
        return Ok(vec![]);
    };
    let lambda = crate::record::recorded_client!(aws_sdk_lambda, &aws.conf);
    let mut out = vec![];
    for f in stack::Function::ALL {
        let function = f.function_name(names);
        let stack_version = resources
            .physical_id(f.version_id())
            .and_then(|arn| arn.rsplit(':').next());
        if let (Some(stack_version), Some(live)) = (
            stack_version,
            crate::versions::live(&lambda, function).await?,
        ) {
            if live.version != stack_version {
                out.push(MovedAlias {
                    function: function.to_string(),
                    live: live.version,
                    stack: stack_version.to_string(),
                });
            }
        }
    }
    Ok(out)
}
