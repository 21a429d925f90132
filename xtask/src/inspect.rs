//! `outputs` and `stages`: what is deployed, printed for a person (aligned
//! text) or a script (`--json`, one document).

use crate::flags;
use crate::output::{self, outln};
use anyhow::Result;
use std::process::ExitCode;

pub fn outputs(args: flags::Outputs) -> Result<ExitCode> {
    let aws = args.aws.into();
    let o = crate::block_on(deploy::stages::outputs(&aws, args.stage.stage.as_deref()))?;
    if args.json {
        output::result(serde_json::to_value(&o)?);
        return Ok(ExitCode::SUCCESS);
    }
    if args.dotenv {
        for line in dotenv(&o.outputs, &args.prefix).map_err(|missing| {
            anyhow::anyhow!(
                "{} has no output {missing}: it was deployed before this version; `cargo xtask deploy` adds it",
                o.stack
            )
        })? {
            outln!("{line}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if o.outputs.is_empty() {
        eprintln!(
            "{} reports no outputs (some emulators don't report them for stacks created from a change set).",
            o.stack
        );
    }
    let width = o.outputs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in &o.outputs {
        outln!("{k:<width$}  {v}");
    }
    for l in &o.live {
        outln!(
            "live: {} version {}{}",
            l.function,
            l.version,
            l.code_key
                .as_deref()
                .map(|k| format!(" ({k})"))
                .unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn stages(args: flags::Stages) -> Result<ExitCode> {
    let aws = args.aws.into();
    let s = crate::block_on(deploy::stages::stages(&aws))?;
    if args.json {
        output::result(serde_json::to_value(&s)?);
        return Ok(ExitCode::SUCCESS);
    }
    if s.stages.is_empty() {
        outln!(
            "no stage deployed in account {}, region {}",
            s.account,
            s.region
        );
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = s
        .stages
        .iter()
        .map(|st| {
            vec![
                st.stage.clone().unwrap_or_else(|| "(none)".into()),
                st.stack.clone(),
                st.status.clone(),
                st.last_updated.clone().unwrap_or_default(),
            ]
        })
        .collect();
    outln!("account {}, region {}", s.account, s.region);
    let headers = ["stage", "stack", "status", "last update"];
    let widths: Vec<usize> = (0..headers.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([headers[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    outln!("{}", line(headers.to_vec()));
    for r in &rows {
        outln!("{}", line(r.iter().map(String::as_str).collect()));
    }
    Ok(ExitCode::SUCCESS)
}

/// The frontend's outputs as `PREFIXNAME=value` lines (`HttpApiUrl` →
/// `VITE_HTTP_API_URL`); the name of the first output missing otherwise.
pub fn dotenv(outputs: &[(String, String)], prefix: &str) -> Result<Vec<String>, String> {
    std::iter::once("HttpApiUrl")
        .chain(stack::module::FRONTEND_OUTPUTS)
        .map(|key| {
            let value = outputs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .ok_or_else(|| key.to_string())?;
            Ok(format!("{prefix}{}={value}", screaming_snake(key)))
        })
        .collect()
}

/// `UserPoolClientId` → `USER_POOL_CLIENT_ID`.
fn screaming_snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn dotenv_names_the_frontends_outputs_with_the_prefix() {
        let outputs: Vec<(String, String)> = [
            (
                "HttpApiUrl",
                "https://abc123.execute-api.eu-west-1.amazonaws.com",
            ),
            ("Region", "eu-west-1"),
            ("UserPoolId", "eu-west-1_AbC123xyz"),
            ("UserPoolClientId", "1example23456789"),
            ("DataKeyArn", "arn:aws:kms:eu-west-1:111122223333:key/x"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .to_vec();
        assert_eq!(
            super::dotenv(&outputs, "VITE_").unwrap(),
            [
                "VITE_HTTP_API_URL=https://abc123.execute-api.eu-west-1.amazonaws.com",
                "VITE_REGION=eu-west-1",
                "VITE_USER_POOL_ID=eu-west-1_AbC123xyz",
                "VITE_USER_POOL_CLIENT_ID=1example23456789",
            ]
        );
        // A stack from before these outputs: the missing one is named.
        assert_eq!(
            super::dotenv(&outputs[..2], "X_"),
            Err("UserPoolId".to_string())
        );
    }
}
