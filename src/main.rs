//! `amplify-deploy`: parse, run, map the error class to an exit code.

fn main() -> std::process::ExitCode {
    amplify_deploy::main()
}
