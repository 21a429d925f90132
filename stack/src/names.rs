//! The public names of the module (those of the deployment guide). A stage
//! suffixes every name so a second copy can live in the same account.

use crate::StackError;

/// Every physical name the module uses, for one stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub stage: Option<String>,
    pub stack: String,
    pub session_persistence_function: String,
    pub context_manager_function: String,
    pub session_persistence_role: String,
    pub context_manager_role: String,
    pub sessions_table: String,
    pub user_profiles_table: String,
    pub user_session_index: String,
    pub dashboard: String,
    pub key_alias: String,
    pub api: String,
    /// AWS Backup (only with `BackupRetentionDays` > 0).
    pub backup_vault: String,
    pub backup_plan: String,
    pub backup_role: String,
    /// The monthly cost budget (only with `MonthlyBudgetUsd` > 0 and an `AlarmEmail`).
    pub budget: String,
}

/// Stage names: lowercase letters, digits and '-', starting with a letter,
/// at most 16 characters (so every suffixed name stays within AWS limits).
pub fn validate_stage(stage: &str) -> Result<(), StackError> {
    let ok = !stage.is_empty()
        && stage.len() <= 16
        && stage.starts_with(|c: char| c.is_ascii_lowercase())
        && stage
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !stage.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(StackError::InvalidStage(stage.to_string()))
    }
}

impl Names {
    /// The names for `stage`; `None` gives exactly the deployment guide's names.
    pub fn new(stage: Option<&str>) -> Result<Self, StackError> {
        use crate::Function::{ContextManager, SessionPersistence};
        if let Some(s) = stage {
            validate_stage(s)?;
        }
        let dash = |base: &str| match stage {
            Some(s) => format!("{base}-{s}"),
            None => base.to_string(),
        };
        let camel = |base: &str| match stage {
            Some(s) => format!("{base}-{s}"),
            None => base.to_string(),
        };
        Ok(Names {
            stage: stage.map(str::to_string),
            stack: camel("VoiceLearningAssistantStack"),
            session_persistence_function: dash(&SessionPersistence.base_name()),
            context_manager_function: dash(&ContextManager.base_name()),
            session_persistence_role: dash(&format!("{}-role", SessionPersistence.base_name())),
            context_manager_role: dash(&format!("{}-role", ContextManager.base_name())),
            sessions_table: dash("voice-learning-sessions"),
            user_profiles_table: dash("voice-learning-user-profiles"),
            user_session_index: "UserSessionIndex".to_string(),
            dashboard: camel("VoiceLearningSessionManagement"),
            key_alias: format!("alias/{}", dash("voice-learning-sessions")),
            api: dash("voice-learning-session-api"),
            backup_vault: dash("voice-learning-backups"),
            backup_plan: dash("voice-learning-daily-backup"),
            backup_role: dash("voice-learning-backup-role"),
            budget: dash("voice-learning-monthly-cost"),
        })
    }

    /// `/aws/lambda/<function name>`.
    pub fn log_group(function_name: &str) -> String {
        format!("/aws/lambda/{function_name}")
    }

    /// Both function names, in the table's order (`crate::Function::ALL`).
    pub fn functions(&self) -> Vec<&str> {
        crate::Function::ALL
            .iter()
            .map(|f| f.function_name(self))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_are_the_deployment_guides() {
        let n = Names::new(None).unwrap();
        assert_eq!(n.stack, "VoiceLearningAssistantStack");
        assert_eq!(
            n.session_persistence_function,
            "voice-learning-session-persistence"
        );
        assert_eq!(n.context_manager_function, "voice-learning-context-manager");
        assert_eq!(n.sessions_table, "voice-learning-sessions");
        assert_eq!(n.user_profiles_table, "voice-learning-user-profiles");
        assert_eq!(n.dashboard, "VoiceLearningSessionManagement");
    }

    #[test]
    fn stage_suffixes_every_name() {
        let n = Names::new(Some("dev2")).unwrap();
        assert_eq!(n.stack, "VoiceLearningAssistantStack-dev2");
        assert_eq!(n.sessions_table, "voice-learning-sessions-dev2");
        assert_eq!(n.dashboard, "VoiceLearningSessionManagement-dev2");
    }

    #[test]
    fn bad_stages_are_rejected() {
        for bad in [
            "",
            "Dev",
            "a_b",
            "1abc",
            "a b",
            "x-",
            "abcdefghijklmnopq",
            "é",
        ] {
            assert!(Names::new(Some(bad)).is_err(), "{bad:?} accepted");
        }
    }
}
