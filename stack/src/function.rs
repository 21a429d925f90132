//! The module's two Lambda functions, every fact about each written once:
//! the cargo binary (also the short name commands take), the logical ids of
//! the function, its role and its code-key parameter, its route, and its
//! physical names for a stage. The template, the packager, the functions
//! themselves, `logs`, `tune` and `verify` read them from here.

use crate::names::Names;

/// The table: each function's variant name is the prefix of its logical
/// ids (`SessionPersistence` → `SessionPersistenceFunction`,
/// `SessionPersistenceRole`, `SessionPersistenceCodeKey`, …).
macro_rules! functions {
    ($($(#[$doc:meta])* $variant:ident { binary: $binary:literal, route: $route:literal }),+ $(,)?) => {
        /// One of the module's Lambda functions.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Function {
            $($(#[$doc])* $variant),+
        }

        impl Function {
            /// All of them, in the template's order.
            pub const ALL: &'static [Function] = &[$(Function::$variant),+];

            /// The cargo binary of the `functions` package, and the short
            /// name `logs --function` and `tune` take.
            pub const fn binary(self) -> &'static str {
                match self {
                    $(Function::$variant => $binary),+
                }
            }

            /// The prefix of every logical id that belongs to it (its
            /// function, role, log group, route, integration, alarms).
            pub const fn id_prefix(self) -> &'static str {
                match self {
                    $(Function::$variant => stringify!($variant)),+
                }
            }

            /// The function's logical id in the template.
            pub const fn logical_id(self) -> &'static str {
                match self {
                    $(Function::$variant => concat!(stringify!($variant), "Function")),+
                }
            }

            /// Its execution role's logical id.
            pub const fn role_id(self) -> &'static str {
                match self {
                    $(Function::$variant => concat!(stringify!($variant), "Role")),+
                }
            }

            /// Its published version's logical id.
            pub const fn version_id(self) -> &'static str {
                match self {
                    $(Function::$variant => concat!(stringify!($variant), "Version")),+
                }
            }

            /// Its `live` alias's logical id.
            pub const fn alias_id(self) -> &'static str {
                match self {
                    $(Function::$variant => concat!(stringify!($variant), "LiveAlias")),+
                }
            }

            /// The parameter holding its memory size in MB.
            pub const fn memory_parameter(self) -> &'static str {
                match self {
                    $(Function::$variant => concat!(stringify!($variant), "MemorySize")),+
                }
            }

            /// The parameter naming its code's S3 key.
            pub const fn code_key_parameter(self) -> &'static str {
                match self {
                    $(Function::$variant => concat!(stringify!($variant), "CodeKey")),+
                }
            }

            /// The HTTP API route it serves.
            pub const fn route_key(self) -> &'static str {
                match self {
                    $(Function::$variant => $route),+
                }
            }
        }
    };
}

functions! {
    /// `POST /sessions`: create, get, update, delete, list, restore.
    SessionPersistence { binary: "session-persistence", route: "POST /sessions" },
    /// `POST /context`: add_turn, get_context, set_summary, clear.
    ContextManager { binary: "context-manager", route: "POST /context" },
}

/// The alias the API invokes; `rollback` moves it.
pub const LIVE_ALIAS: &str = "live";

/// The physical names' common prefix (`voice-learning-<binary>`).
const NAME_PREFIX: &str = "voice-learning-";

impl Function {
    /// The route's path (`/sessions`).
    pub fn path(self) -> &'static str {
        let route = self.route_key();
        &route[route.find('/').unwrap_or(0)..]
    }

    /// The function for a cargo binary (or short) name.
    pub fn from_binary(name: &str) -> Option<Function> {
        Function::ALL.iter().copied().find(|f| f.binary() == name)
    }

    /// Its function name without a stage (the deployment guide's).
    pub(crate) fn base_name(self) -> String {
        format!("{NAME_PREFIX}{}", self.binary())
    }

    /// Its function name in a stage.
    pub fn function_name(self, names: &Names) -> &str {
        match self {
            Function::SessionPersistence => &names.session_persistence_function,
            Function::ContextManager => &names.context_manager_function,
        }
    }

    /// Its execution role's name in a stage.
    pub fn role_name(self, names: &Names) -> &str {
        match self {
            Function::SessionPersistence => &names.session_persistence_role,
            Function::ContextManager => &names.context_manager_role,
        }
    }

    /// Its log group in a stage.
    pub fn log_group(self, names: &Names) -> String {
        Names::log_group(self.function_name(names))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_binary() {
        let n = Names::new(Some("dev")).unwrap();
        for &f in Function::ALL {
            assert_eq!(Function::from_binary(f.binary()), Some(f));
            assert_eq!(f.function_name(&n), format!("{}-dev", f.base_name()));
            assert_eq!(f.role_name(&n), format!("{}-role-dev", f.base_name()));
            assert!(f.route_key().ends_with(f.path()));
            assert_eq!(f.logical_id(), format!("{}Function", f.id_prefix()));
        }
        assert_eq!(Function::ContextManager.path(), "/context");
        assert_eq!(
            Function::SessionPersistence.log_group(&n),
            "/aws/lambda/voice-learning-session-persistence-dev"
        );
    }
}
