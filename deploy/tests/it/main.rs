//! The deploy engine's integration tests, one binary: errors, options, the
//! asset bucket, recorded stack events and outages, what a failed create
//! kept, the safety rails and the deployer policy on moto, and `verify` on
//! recorded answers and on resources `dev` provisions.

mod apply;
mod assets;
mod audit;
mod aws;
mod backup;
mod ci_role;
mod concurrency;
mod cost;
mod events;
mod global_names;
mod handler_permissions;
mod logs;
mod ministack;
mod options;
mod policy;
mod protection;
mod retained;
mod safety;
mod support;
mod tags;
mod tune;
mod verify;
