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
