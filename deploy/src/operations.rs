//! Day-2 operations on a deployed stage, apart from the engine that
//! changes it ([`crate::apply`], [`crate::destroy`]): they read the stack
//! and its resources and change only what their command names.
//!
//! - [`logs`]: the functions' CloudWatch Logs and the API's access log,
//!   parsed and followed.
//! - [`backup`]: on-demand backups, their list, restores into a new table.
//! - [`cost`]: the monthly estimate from a price table and measured figures;
//!   [`cost_actual`]: the real spend from Cost Explorer, by the stack's tags.
//! - [`tune`]: the functions' memory, measured size by size; [`memory`]:
//!   one function's size set through the stack (`tune --apply`).
//! - [`audit`]: CloudTrail's events on the stack's resources.
//! - [`stages`]: a stage's outputs and the stages deployed (read only).
//! - [`versions`]: the functions' versions, which is live, and `rollback`.

pub mod audit;
pub mod backup;
pub mod cost;
pub mod cost_actual;
pub mod logs;
pub mod memory;
pub mod stages;
pub mod tune;
pub mod versions;
