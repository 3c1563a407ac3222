//! Integration tests: the real binary against the emulator over real HTTP.

mod support;

mod branches;
mod concurrency;
mod decide;
mod deploy;
mod faults;
mod forks;
mod incident;
mod init;
mod inputs;
mod jobs;
mod layout;
mod live;
mod network;
mod oidc;
mod output;
mod package;
mod preview;
mod previews_lifecycle;
mod provenance;
mod rollback;
mod rules;
mod skew;
mod snapshots;
mod store;
mod terminal;
