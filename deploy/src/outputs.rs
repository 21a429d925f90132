//! The stack's outputs: printed (`HttpApiUrl` first) and written to the
//! outputs file.

use crate::error::Result;
use crate::report::Report;
use crate::stack_state::ordered_outputs;
use serde_json::{json, Value};
use std::path::Path;

pub fn outputs_json(outputs: &[(String, String)]) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in ordered_outputs(outputs) {
        m.insert(k, Value::String(v));
    }
    Value::Object(m)
}

/// Prints the outputs (HttpApiUrl first) and writes the outputs file.
pub fn finish_outputs(
    report: &mut impl Report,
    outputs_file: Option<&Path>,
    stack_name: &str,
    outputs: &[(String, String)],
) -> Result<()> {
    if outputs.is_empty() {
        report.warn(&format!(
            "{stack_name} reports no outputs (some emulators don't report them for stacks created from a change set); \
             `aws cloudformation describe-stacks --stack-name {stack_name}` shows them once they exist."
        ));
    } else {
        report.heading("Outputs");
        for (k, v) in ordered_outputs(outputs) {
            report.say(&format!("  {k} = {v}"));
        }
    }
    if let Some(path) = outputs_file {
        let doc = json!({ stack_name: outputs_json(outputs) });
        std::fs::write(
            path,
            serde_json::to_string_pretty(&doc).expect("JSON") + "\n",
        )
        .map_err(crate::error::io(format!(
            "writing the outputs to {}",
            path.display()
        )))?;
        report.say(&format!("outputs written to {}", path.display()));
    }
    Ok(())
}
