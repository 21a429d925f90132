//! The local cloud's integration tests, one binary: the model, the
//! Runtime API (crashes, timeouts, init errors, scale-out), the gateway and
//! its JWT authorizer, start and stop with saved data, in process with the
//! stand-in function (`src/bin/fixture_function.rs`).

mod authorizer;
mod cors;
mod crashes;
mod fault_proxy;
mod gateway;
mod ids;
mod jwt;
mod lifecycle;
mod lock;
mod model;
mod runtime;
mod support;
mod watch;
