//! The environment as settings read it: the process's, or a map in tests
//! (no `set_var`).

use std::collections::BTreeMap;
use std::ffi::OsString;

/// Reads one variable.
type Lookup = Box<dyn Fn(&str) -> Option<OsString> + Send + Sync>;

/// A view of the environment: the process's, or a map in tests (no
/// `set_var`).
pub struct Env {
    lookup: Lookup,
}

impl Env {
    /// The process's environment.
    pub fn real() -> Env {
        Env {
            lookup: Box::new(|name| std::env::var_os(name)),
        }
    }

    /// Exactly these variables.
    pub fn from_map(vars: BTreeMap<String, OsString>) -> Env {
        Env {
            lookup: Box::new(move |name| vars.get(name).cloned()),
        }
    }

    pub fn var_os(&self, name: &str) -> Option<OsString> {
        (self.lookup)(name)
    }

    /// A variable's value, unless it is unset, blank or not UTF-8.
    pub fn get(&self, name: &str) -> Option<String> {
        self.var_os(name)?
            .into_string()
            .ok()
            .filter(|v| !v.trim().is_empty())
    }
}
