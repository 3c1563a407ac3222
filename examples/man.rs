//! Write the man page, `amplify-deploy.1`, into the folder given (the
//! release workflow puts it in each archive):
//!
//!     cargo run --locked --example man -- OUT_DIR
//!
//! An example, not part of the binary: clap_mangen is a dev-dependency, so
//! the man page costs the release binary nothing.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: cargo run --example man -- OUT_DIR");
        return ExitCode::from(2);
    };
    match write_man_page(&dir) {
        Ok(path) => {
            println!("{}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "error: cannot write the man page into {}: {e}",
                dir.display()
            );
            ExitCode::from(1)
        }
    }
}

/// Write `DIR/amplify-deploy.1`; returns its path.
pub fn write_man_page(dir: &Path) -> std::io::Result<PathBuf> {
    let mut page = Vec::new();
    clap_mangen::Man::new(amplify_deploy::cli::Cli::command()).render(&mut page)?;
    std::fs::create_dir_all(dir)?;
    let path = dir.join("amplify-deploy.1");
    std::fs::write(&path, &page)?;
    Ok(path)
}
