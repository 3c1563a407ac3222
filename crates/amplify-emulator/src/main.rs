//! `amplify-emulator`: run the emulated Amplify API on a port and print how
//! to point `amplify-deploy` (or the AWS CLI) at it.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use amplify_emulator::{Config, Credential, Emulator};
use clap::Parser;

/// A local stand-in for the AWS Amplify Hosting manual-deploy API.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:4566")]
    listen: SocketAddr,
    /// An app to create, as ID or ID:PLATFORM (WEB or WEB_COMPUTE); repeatable.
    /// Default: d1example.
    #[arg(long = "app", value_name = "ID[:PLATFORM]")]
    apps: Vec<String>,
    /// A branch to create in every app; repeatable. Default: main.
    #[arg(long = "branch", value_name = "NAME")]
    branches: Vec<String>,
    /// How long a started job runs before it ends, e.g. 300ms or 2s.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "2s")]
    job_duration: Duration,
    /// Region requests must be signed for.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Accepted access key id (default: AWS's documentation example key).
    #[arg(long, requires = "secret_access_key")]
    access_key_id: Option<String>,
    // `s3://` sources are read from AWS_ENDPOINT_URL_S3 (path-style,
    // unsigned), e.g. a moto server; without it they are taken on trust.
    /// Secret of --access-key-id.
    #[arg(long, requires = "access_key_id")]
    secret_access_key: Option<String>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let config = config(&args);
    let config_s3 = config.s3_endpoint.clone();
    let credential = config.credentials[0].clone();
    let emulator = match Emulator::start_on(config, args.listen).await {
        Ok(emulator) => emulator,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let endpoint = emulator.endpoint();
    print_usage(&endpoint, &credential, &args.region);
    if let Some(s3) = &config_s3 {
        println!("s3:// sources are read from {s3}");
    }
    create_apps(&emulator, &args);
    println!("control: {endpoint}/__emulator/state");

    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("error: cannot wait for Ctrl-C: {e}");
    }
    emulator.shutdown().await;
    ExitCode::SUCCESS
}

fn config(args: &Args) -> Config {
    let mut config = Config {
        region: args.region.clone(),
        job_duration: args.job_duration,
        log_requests: true,
        s3_endpoint: std::env::var("AWS_ENDPOINT_URL_S3")
            .ok()
            .filter(|url| !url.is_empty()),
        ..Config::default()
    };
    if let (Some(key), Some(secret)) = (&args.access_key_id, &args.secret_access_key) {
        config.credentials = vec![Credential {
            access_key_id: key.clone(),
            secret_access_key: secret.clone(),
            session_token: None,
        }];
    }
    config
}

/// The `export` lines that point `amplify-deploy` or the AWS CLI here.
fn print_usage(endpoint: &str, credential: &Credential, region: &str) {
    println!("amplify-emulator listening on {endpoint}");
    println!("use it with:");
    println!("  export AWS_ENDPOINT_URL={endpoint}");
    println!("  export AWS_ACCESS_KEY_ID={}", credential.access_key_id);
    println!(
        "  export AWS_SECRET_ACCESS_KEY={}",
        credential.secret_access_key
    );
    println!("  export AWS_REGION={region}");
    // The AWS CLI v1 reads only this one.
    println!("  export AWS_DEFAULT_REGION={region}");
}

/// The `--app`s (default d1example) with the `--branch`es (default main).
fn create_apps(emulator: &Emulator, args: &Args) {
    let apps = if args.apps.is_empty() {
        vec!["d1example".to_owned()]
    } else {
        args.apps.clone()
    };
    let branches = if args.branches.is_empty() {
        vec!["main".to_owned()]
    } else {
        args.branches.clone()
    };
    for app in &apps {
        let (app_id, platform) = app.split_once(':').unwrap_or((app, "WEB"));
        emulator.create_app(app_id, platform);
        for branch in &branches {
            emulator.create_branch(app_id, branch);
        }
        println!(
            "app {app_id} ({platform}), branches: {}",
            branches.join(", ")
        );
    }
}
