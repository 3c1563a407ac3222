//! The emulator driven over real HTTP, as `amplify-deploy` drives it.

mod api;
mod binary;
mod control;
mod controls;
mod faults;
mod robustness;
mod site_rules;
mod sources;
mod support;
mod upload;
