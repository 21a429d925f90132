//! `verify`: each check on recorded answers or on resources `dev` provisions.

mod api;
mod checks;
mod key;
mod resources;
mod smoke;
mod tables;
