//! The emulator driven over real HTTP, as `amplify-deploy` drives it.

mod api;
mod binary;
mod control;
mod faults;
mod robustness;
mod sources;
mod support;
mod upload;
