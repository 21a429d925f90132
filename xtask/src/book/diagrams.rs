//! The architecture pictures, as Mermaid (GitHub draws it; elsewhere it
//! reads as text), generated rather than drawn: the deployed resources from
//! the synthesized template (an arrow for each `Ref`, `Fn::GetAtt` and
//! `Fn::Sub` reference between logical ids), the services from the same
//! graph, and the crates from `cargo metadata`.

use anyhow::{Context, Result};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The default template's resources: logical id → (type, condition).
fn template() -> Result<serde_json::Map<String, Value>> {
    let json = crate::synth::render(None, crate::flags::Format::Json)?;
    let doc: Value = serde_json::from_str(&json).context("reading the synthesized template")?;
    Ok(doc["Resources"].as_object().cloned().unwrap_or_default())
}

/// The logical ids that `v` refers to.
fn refs(v: &Value, ids: &BTreeSet<String>, out: &mut BTreeSet<String>) {
    fn add(id: &str, ids: &BTreeSet<String>, out: &mut BTreeSet<String>) {
        if ids.contains(id) {
            out.insert(id.to_string());
        }
    }
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("Ref", Value::String(id)) => add(id, ids, out),
                    ("Fn::GetAtt", Value::Array(a)) => {
                        if let Some(Value::String(id)) = a.first() {
                            add(id, ids, out);
                        }
                    }
                    ("Fn::GetAtt", Value::String(s)) => {
                        add(s.split('.').next().unwrap_or(""), ids, out)
                    }
                    ("Fn::Sub", sub) => {
                        let text = match sub {
                            Value::Array(a) => a.first().and_then(Value::as_str).unwrap_or(""),
                            s => s.as_str().unwrap_or(""),
                        };
                        for part in text.split("${").skip(1) {
                            let name = part.split('}').next().unwrap_or("");
                            add(name.split('.').next().unwrap_or(""), ids, out);
                        }
                    }
                    _ => {}
                }
                refs(v, ids, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| refs(v, ids, out)),
        _ => {}
    }
}

/// The resource graph: id → (type, conditional, what it refers to).
type Graph = BTreeMap<String, (String, bool, BTreeSet<String>)>;

fn graph() -> Result<Graph> {
    let resources = template()?;
    let ids: BTreeSet<String> = resources.keys().cloned().collect();
    Ok(resources
        .iter()
        .map(|(id, r)| {
            let mut to = BTreeSet::new();
            refs(&r["Properties"], &ids, &mut to);
            to.remove(id);
            let ty = r["Type"].as_str().unwrap_or("?").to_string();
            (id.clone(), (ty, r.get("Condition").is_some(), to))
        })
        .collect())
}

/// `AWS::DynamoDB::Table` → `DynamoDB`.
fn service(ty: &str) -> &str {
    ty.split("::").nth(1).unwrap_or(ty)
}

/// Every resource, grouped by service; dashed ones exist only with an option.
pub fn resources() -> Result<String> {
    let g = graph()?;
    let mut by_service: BTreeMap<&str, Vec<&String>> = BTreeMap::new();
    for (id, (ty, _, _)) in &g {
        by_service.entry(service(ty)).or_default().push(id);
    }
    let mut m = String::from("```mermaid\nflowchart LR\n");
    m.push_str("  classDef optional stroke-dasharray: 5 5\n");
    for (svc, ids) in &by_service {
        m.push_str(&format!("  subgraph {svc}\n"));
        for id in ids {
            let (ty, optional, _) = &g[*id];
            let kind = ty.rsplit("::").next().unwrap_or(ty);
            let class = if *optional { ":::optional" } else { "" };
            m.push_str(&format!("    {id}[\"{id}<br/><i>{kind}</i>\"]{class}\n"));
        }
        m.push_str("  end\n");
    }
    for (id, (_, _, to)) in &g {
        for t in to {
            m.push_str(&format!("  {id} --> {t}\n"));
        }
    }
    m.push_str("```\n");
    Ok(m)
}

/// The services the stack uses and which refers to which.
pub fn overview() -> Result<String> {
    let g = graph()?;
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    let mut edges: BTreeSet<(&str, &str)> = BTreeSet::new();
    for (ty, _, to) in g.values() {
        *count.entry(service(ty)).or_default() += 1;
        for t in to {
            let (a, b) = (service(ty), service(&g[t].0));
            if a != b {
                edges.insert((a, b));
            }
        }
    }
    let mut m = String::from("```mermaid\nflowchart LR\n");
    m.push_str(
        "  Client([\"web app / assistant backend<br/>(Cognito ID token)\"]) --> ApiGatewayV2\n",
    );
    for (svc, n) in &count {
        let s = if *n == 1 { "" } else { "s" };
        m.push_str(&format!("  {svc}[\"{svc}<br/><i>{n} resource{s}</i>\"]\n"));
    }
    for (a, b) in &edges {
        m.push_str(&format!("  {a} --> {b}\n"));
    }
    m.push_str("```\n");
    Ok(m)
}

/// The workspace's crates and which uses which (normal dependencies; dev-only
/// ones dotted).
pub fn crates() -> Result<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(emulator::workspace_root())
        .output()
        .context("running cargo metadata")?;
    anyhow::ensure!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).context("reading cargo metadata")?;
    let packages = meta["packages"].as_array().cloned().unwrap_or_default();
    let names: BTreeSet<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let mut edges = BTreeSet::new();
    for p in &packages {
        let from = p["name"].as_str().unwrap_or("");
        for d in p["dependencies"].as_array().into_iter().flatten() {
            let to = d["name"].as_str().unwrap_or("");
            if names.contains(to) {
                let dev = d["kind"].as_str() == Some("dev");
                edges.insert((from.to_string(), to.to_string(), dev));
            }
        }
    }
    let mut m = String::from("```mermaid\nflowchart LR\n");
    for n in &names {
        m.push_str(&format!("  {}[\"{n}\"]\n", n.replace('-', "_")));
    }
    for (from, to, dev) in &edges {
        // A normal edge hides a dev edge between the same two crates.
        if *dev && edges.contains(&(from.clone(), to.clone(), false)) {
            continue;
        }
        let arrow = if *dev { "-.->" } else { "-->" };
        m.push_str(&format!(
            "  {} {arrow} {}\n",
            from.replace('-', "_"),
            to.replace('-', "_")
        ));
    }
    m.push_str("```\n");
    Ok(m)
}
