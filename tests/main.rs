//! Integration tests: the real binary against the emulator over real HTTP.

mod support;

mod deploy;
mod faults;
mod inputs;
mod preview;
