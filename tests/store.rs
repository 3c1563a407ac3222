//! The artifact store against a real S3 server (moto, see
//! `support::moto`): the S3 client itself, then deploys through it.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use amplify_deploy::http::{build_client, silent_observer, RetryConfig};
use amplify_deploy::s3::{Bucket, Client, ObjectState, S3Config};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;

use crate::support::*;

fn s3_client() -> Client {
    let creds = Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "test");
    Client::new(S3Config {
        endpoint: Some(url::Url::parse(&moto::endpoint()).expect("endpoint")),
        region: "us-east-1".into(),
        credentials: SharedCredentialsProvider::new(creds),
        retry: RetryConfig::default(),
        observer: silent_observer(),
        http: build_client(),
        upload_http: build_client(),
        tracer: None,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_client_puts_heads_and_presigns_against_moto() {
    let name = moto::bucket("eu-west-2");
    let s3 = s3_client();
    let bucket = s3.bucket(&name).await.expect("HeadBucket");
    assert_eq!(
        bucket,
        Bucket {
            name: name.clone(),
            region: "eu-west-2".into()
        }
    );
    let key = "site/prod/a b+c.zip";
    assert_eq!(
        s3.head_object(&bucket, key).await.expect("HeadObject"),
        ObjectState::Absent
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let content: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let file = write(dir.path(), "p.zip", &content);
    let meta = vec![("x-amz-meta-commit".to_string(), "abc123".to_string())];
    let sent = Arc::new(AtomicU64::new(0));
    s3.put_object(&bucket, key, &file, &meta, &sent)
        .await
        .expect("PutObject");
    assert_eq!(
        moto::get(&name, "site/prod/a%20b%2Bc.zip"),
        Some(content.clone())
    );
    let head = moto::head(&name, "site/prod/a%20b%2Bc.zip").expect("stored");
    assert!(
        head.contains(&("x-amz-meta-commit".into(), "abc123".into())),
        "{head:?}"
    );
    assert!(
        head.contains(&("content-type".into(), "application/zip".into())),
        "{head:?}"
    );
    assert_eq!(
        s3.head_object(&bucket, key).await.expect("HeadObject"),
        ObjectState::Present {
            size: content.len() as u64
        }
    );
    let url = s3
        .presigned_get(&bucket, key, Duration::from_secs(600))
        .await
        .expect("presigns");
    assert!(url.contains("X-Amz-Signature="), "{url}");
    let got = reqwest::get(&url)
        .await
        .expect("GET")
        .bytes()
        .await
        .expect("body");
    assert_eq!(got.as_ref(), content.as_slice());
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_bucket_is_an_error_naming_it() {
    let s3 = s3_client();
    let err = s3.bucket("no-such-bucket-12a").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "HeadBucket on s3://no-such-bucket-12a failed with HTTP 404 NoSuchBucket"
    );
}

/// `deploy` of `site` to `main` through the artifact store in `bucket`
/// (prefix `site`), Amplify reading it presigned (the emulator fetches
/// http URLs itself).
fn store_cmd(emu: &Emulator, site: &std::path::Path, bucket: &str) -> std::process::Command {
    let mut c = deploy_cmd(emu, site);
    c.env("AWS_ENDPOINT_URL_S3", moto::endpoint())
        .env("AMPLIFY_ARTIFACT_STORE", format!("s3://{bucket}/site"))
        .env("AMPLIFY_ARTIFACT_URL", "presigned");
    c
}

fn zip_sha(run: &Run) -> String {
    let at = run
        .all()
        .find("sha256 ")
        .expect("the packaged line names the sha256")
        + 7;
    run.all()[at..at + 64].to_owned()
}

fn served(emu: &Emulator) -> std::collections::BTreeMap<String, Vec<u8>> {
    emu.deployed_files(APP, "main").expect("a deployed site")
}

#[tokio::test(flavor = "multi_thread")]
async fn store_puts_the_package_once_and_deploys_from_its_key() {
    let emu = emulator().await;
    let bucket = moto::bucket("us-east-1");
    let (site, files) = site();
    let first = run(&mut store_cmd(&emu, site.path(), &bucket)).await;
    assert_eq!(first.code, 0, "{first:?}");
    let sha = zip_sha(&first);
    let key = format!("site/{sha}.zip");
    assert_eq!(moto::keys(&bucket), std::slice::from_ref(&key));
    assert!(first.all().contains("storing"), "{first:?}");
    assert_eq!(
        count(&emu, "CreateDeployment"),
        0,
        "no CreateDeployment upload"
    );
    let jobs = emu.jobs(APP, "main");
    let source = jobs[0].source_url.clone().unwrap_or_default();
    assert!(source.contains(&key), "{source}");
    assert_eq!(served(&emu), files, "served byte for byte");
    let head = moto::head(&bucket, &key).expect("stored");
    assert!(
        head.contains(&("x-amz-meta-sha256".into(), sha.clone())),
        "{head:?}"
    );
    let stored = moto::get(&bucket, &key).expect("stored");

    // The same content again: HeadObject finds it, nothing is uploaded.
    let second = run(&mut store_cmd(&emu, site.path(), &bucket)).await;
    assert_eq!(second.code, 0, "{second:?}");
    assert!(
        second.all().contains(&format!(
            "artifact s3://{bucket}/{key} is already stored: not uploading it again"
        )),
        "{second:?}"
    );
    assert!(!second.all().contains("storing"), "{second:?}");
    assert_eq!(moto::keys(&bucket), std::slice::from_ref(&key));
    assert_eq!(moto::get(&bucket, &key), Some(stored));
    assert_eq!(
        emu.jobs(APP, "main").len(),
        2,
        "a second job, from the same key"
    );

    // One changed byte: a new key.
    let mut index = files["index.html"].clone();
    index[0] ^= 1;
    write(site.path(), "index.html", &index);
    let third = run(&mut store_cmd(&emu, site.path(), &bucket)).await;
    assert_eq!(third.code, 0, "{third:?}");
    assert_ne!(zip_sha(&third), sha);
    assert_eq!(moto::keys(&bucket).len(), 2);
    assert_eq!(served(&emu)["index.html"], index);
}

#[tokio::test(flavor = "multi_thread")]
async fn skip_unchanged_starts_nothing_when_the_live_job_has_the_package() {
    let emu = emulator().await;
    let bucket = moto::bucket("us-east-1");
    let site = tiny_site();
    let first = run(&mut store_cmd(&emu, site.path(), &bucket)).await;
    assert_eq!(first.code, 0, "{first:?}");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("output");
    let r = run(store_cmd(&emu, site.path(), &bucket)
        .arg("--skip-unchanged")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &out))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(emu.jobs(APP, "main").len(), 1, "no job created");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("status=SKIPPED"), "{text}");
    assert!(text.contains("job-id=1"), "{text}");
    assert!(
        r.all()
            .contains("unchanged d1test/main: job 1 already serves this package"),
        "{r:?}"
    );

    // Without the store: the provenance tags of the live job say it.
    let plain = run(deploy_cmd(&emu, site.path()).arg("--skip-unchanged")).await;
    assert_eq!(plain.code, 0, "{plain:?}");
    assert_eq!(emu.jobs(APP, "main").len(), 1, "no job created: {plain:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn skip_unchanged_deploys_whatever_is_uncertain() {
    let emu = emulator().await;
    let site = tiny_site();
    // Nothing live yet: deploys.
    let first = run(deploy_cmd(&emu, site.path()).arg("--skip-unchanged")).await;
    assert_eq!(first.code, 0, "{first:?}");
    assert_eq!(emu.jobs(APP, "main").len(), 1);
    // Tags of another job than the live one: not trusted, deploys.
    emu.end_job(
        APP,
        "main",
        &emu.insert_job(APP, "main", "RUNNING"),
        "SUCCEED",
    );
    let r = run(deploy_cmd(&emu, site.path()).arg("--skip-unchanged")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.all()
            .contains("skip-unchanged: live job 2 has no known package SHA-256: deploying"),
        "{r:?}"
    );
    assert_eq!(emu.jobs(APP, "main").len(), 3);
    // Another package: deploys.
    write(site.path(), "index.html", b"<h1>changed</h1>");
    let r = run(deploy_cmd(&emu, site.path()).arg("--skip-unchanged")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.all().contains("serves another package"), "{r:?}");
    assert_eq!(emu.jobs(APP, "main").len(), 4);
}

/// `-v` logs each S3 call of the store as it logs Amplify's: operation,
/// method and URL without a query, status, duration and S3's request id
/// (`x-amz-request-id`), and the store upload's throughput; not without
/// `-v`. `-vv` adds headers, with no secret among them: not the secret
/// key, the session token, nor the presigned PUT's query or signature.
#[tokio::test(flavor = "multi_thread")]
async fn verbose_logs_each_s3_call_and_the_store_throughput() {
    let token = "IQoJb3JpZ2luX2VjEXAMPLESTORETOKEN";
    let emu = emulator_with(Config {
        credentials: vec![Credential {
            access_key_id: ACCESS_KEY.into(),
            secret_access_key: SECRET_KEY.into(),
            session_token: Some(token.into()),
        }],
        ..Config::default()
    })
    .await;
    let bucket = moto::bucket("us-east-1");
    let site = tiny_site();
    let endpoint = moto::endpoint();
    let store = |site: &std::path::Path| {
        let mut c = store_cmd(&emu, site, &bucket);
        c.env("AWS_SESSION_TOKEN", token);
        c
    };
    let r = run(store(site.path()).arg("-v")).await;
    assert_eq!(r.code, 0, "{r:?}");
    let key = format!("site/{}.zip", zip_sha(&r));
    let calls = [
        format!("HeadBucket HEAD {endpoint}/{bucket}/ → 200 in "),
        format!("HeadObject HEAD {endpoint}/{bucket}/{key} → 404 in "),
        format!("PutObject PUT {endpoint}/{bucket}/{key} → 200 in "),
    ];
    let lines: Vec<&str> = r.stderr.lines().collect();
    for call in &calls {
        let line = lines
            .iter()
            .find(|l| l.starts_with(call.as_str()))
            .unwrap_or_else(|| panic!("{call}: {r:?}"));
        let id = line
            .split(" (request id ")
            .nth(1)
            .and_then(|rest| rest.strip_suffix(')'))
            .unwrap_or_default();
        assert!(id.len() >= 8, "S3's request id on {line:?}");
    }
    let stored = lines.iter().position(|l| l.starts_with("stored in "));
    let rate = lines
        .iter()
        .position(|l| l.starts_with("upload throughput: ") && l.ends_with("/s"));
    assert!(
        matches!((stored, rate), (Some(s), Some(t)) if t == s + 1),
        "{r:?}"
    );

    // Without -v: none of it.
    write(site.path(), "index.html", b"<h1>quiet</h1>");
    let r = run(&mut store(site.path())).await;
    assert_eq!(r.code, 0, "{r:?}");
    for word in [
        "HeadBucket",
        "HeadObject",
        "PutObject",
        "throughput",
        "request id",
    ] {
        assert!(!r.stderr.contains(word), "{word}: {r:?}");
    }

    // -vv: the headers, secrets redacted.
    write(site.path(), "index.html", b"<h1>debug</h1>");
    let r = run(store(site.path()).arg("-vv")).await;
    assert_eq!(r.code, 0, "{r:?}");
    let put = r.stderr.find("PutObject PUT ").expect("the PutObject line");
    let after = &r.stderr[put..];
    assert!(after.contains("  > x-amz-meta-sha256: "), "{r:?}");
    // moto names its request id as Amplify does (`x-amzn-requestid`), S3
    // `x-amz-request-id`: the line shows whichever came.
    let id = after
        .lines()
        .next()
        .and_then(|l| l.split(" (request id ").nth(1))
        .and_then(|rest| rest.strip_suffix(')'))
        .expect("a request id");
    assert!(
        after.contains(&format!("  < x-amzn-requestid: {id}\n"))
            || after.contains(&format!("  < x-amz-request-id: {id}\n")),
        "{r:?}"
    );
    assert!(r.stderr.contains("  > authorization: ******"), "{r:?}");
    assert!(
        r.stderr.contains("  > x-amz-security-token: ******"),
        "{r:?}"
    );
    for secret in [
        SECRET_KEY,
        token,
        "Signature=",
        "X-Amz-Signature",
        "X-Amz-Credential",
        "X-Amz-Security-Token",
    ] {
        assert!(!r.all().contains(secret), "{secret} leaked: {r:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn presigned_urls_never_reach_logs_outputs_or_files() {
    let emu = emulator().await;
    let bucket = moto::bucket("us-east-1");
    let site = tiny_site();
    let tmp = tempfile::tempdir().unwrap();
    let files = ["output", "summary", "report.json", "vars.env"].map(|f| tmp.path().join(f));
    let r = run(store_cmd(&emu, site.path(), &bucket)
        .args(["-vv", "--json"])
        .arg(&files[2])
        .arg("--dotenv")
        .arg(&files[3])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &files[0])
        .env("GITHUB_STEP_SUMMARY", &files[1]))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let source = emu.jobs(APP, "main")[0]
        .source_url
        .clone()
        .unwrap_or_default();
    assert!(
        source.contains("X-Amz-Signature="),
        "the job got a presigned URL: {source}"
    );
    let signature = source.split("X-Amz-Signature=").nth(1).unwrap_or_default();
    // `::add-mask::` lines are read by the runner, never shown.
    let shown = |t: &str| {
        t.lines()
            .filter(|l| !l.starts_with("::add-mask::"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        r.stderr.contains("::add-mask::http://127.0.0.1"),
        "the URL is masked: {r:?}"
    );
    let mut texts = vec![shown(&r.stdout), shown(&r.stderr)];
    texts.extend(
        files
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap_or_default()),
    );
    for text in &texts {
        for secret in [
            "X-Amz-Signature",
            "X-Amz-Credential",
            "X-Amz-Security-Token",
            signature,
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
    let outputs = std::fs::read_to_string(&files[0]).unwrap();
    let sha = zip_sha(&r);
    assert!(
        outputs.contains(&format!("artifact-url=s3://{bucket}/site/{sha}.zip")),
        "{outputs}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_in_another_region_is_used_in_its_region() {
    let emu = emulator().await;
    let bucket = moto::bucket("eu-west-2");
    let (site, files) = site();
    let r = run(&mut store_cmd(&emu, site.path(), &bucket)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(moto::keys(&bucket).len(), 1);
    let source = emu.jobs(APP, "main")[0]
        .source_url
        .clone()
        .unwrap_or_default();
    assert!(
        source.contains("%2Feu-west-2%2Fs3%2Faws4_request"),
        "signed for eu-west-2: {source}"
    );
    assert_eq!(served(&emu), files);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_artifact_store_is_bad_input_before_anything_runs() {
    let emu = emulator().await;
    let site = tiny_site();
    let r =
        run(deploy_cmd(&emu, site.path()).args(["--artifact-store", "s3://Bad_Bucket/x"])).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("artifact-store: bucket \"Bad_Bucket\" is not an S3 bucket name"),
        "{r:?}"
    );
    assert!(emu.requests().is_empty());
}

/// A scripted S3 front that refuses every PutObject with 403 AccessDenied
/// (moto outside its IAM mode enforces no bucket policy): HeadBucket
/// answers with the region, HeadObject 404. Records each request.
async fn denying_s3() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    use http_body_util::{BodyExt, Full};
    use hyper::service::service_fn;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let log = log.clone();
                    async move {
                        let (method, path) = (req.method().clone(), req.uri().path().to_owned());
                        let _ = req.into_body().collect().await;
                        log.lock().unwrap().push(format!("{method} {path}"));
                        let segments = path.trim_matches('/').split('/').count();
                        let response = match (method.as_str(), segments) {
                            ("HEAD", 1) => hyper::Response::builder()
                                .status(200)
                                .header("x-amz-bucket-region", "us-east-1"),
                            ("HEAD", _) => hyper::Response::builder().status(404),
                            _ => hyper::Response::builder().status(403),
                        };
                        let body = "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
                        Ok::<_, std::convert::Infallible>(
                            response
                                .body(Full::new(bytes::Bytes::from(body)))
                                .expect("response"),
                        )
                    }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denied_put_object_is_an_aws_error_and_starts_nothing() {
    let emu = emulator().await;
    emu.create_branch(APP, "other");
    let (endpoint, seen) = denying_s3().await;
    let site = tiny_site();
    let r = run(cmd(&emu)
        .args([
            "deploy",
            "--app-id",
            APP,
            "--branch",
            "new-branch",
            "--create-branch",
            "--path",
        ])
        .arg(site.path())
        .args(["--artifact-store", "s3://locked-bucket/site"])
        .env("AWS_ENDPOINT_URL_S3", &endpoint))
    .await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr
            .contains("error: artifact store s3://locked-bucket/site/"),
        "{r:?}"
    );
    assert!(r.stderr.contains("HTTP 403 AccessDenied"), "{r:?}");
    assert!(
        r.stderr.contains("hint: nothing was deployed; the deploy role needs s3:PutObject on arn:aws:s3:::locked-bucket/site/*"),
        "{r:?}"
    );
    let methods: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| s[..s.find(' ').unwrap()].to_owned())
        .collect();
    assert_eq!(
        methods,
        ["HEAD", "HEAD", "PUT"],
        "one PUT: a 403 is not retried"
    );
    for op in ["CreateBranch", "CreateDeployment", "StartDeployment"] {
        assert_eq!(count(&emu, op), 0, "{op}: nothing changed on the service");
    }
    assert!(!emu.branches(APP).contains(&"new-branch".to_owned()));
}

/// The ```json blocks of docs/artifacts.md are the policies `policy` makes.
#[test]
fn docs_artifacts_policies_are_the_generated_ones() {
    use amplify_deploy::policy::{self, AppRef};
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/artifacts.md"))
        .expect("docs/artifacts.md");
    let blocks: Vec<serde_json::Value> = text
        .split("```json\n")
        .skip(1)
        .map(|b| serde_json::from_str(b.split("```").next().unwrap_or("")).expect("JSON"))
        .collect();
    let app = AppRef::placeholder();
    let generated = [
        policy::amplify_bucket_policy(&app, "my-artifacts", "site"),
        policy::artifact_store_policy(&app, "my-artifacts", "site/"),
    ]
    .map(|p| serde_json::to_value(p).unwrap());
    assert_eq!(blocks, generated);
}

/// An emulator that reads `s3://` sources from moto, as Amplify reads the
/// bucket with its bucket policy.
async fn s3_reading_emulator() -> Emulator {
    emulator_with(Config {
        s3_endpoint: Some(moto::endpoint()),
        ..Config::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_urls_deploy_end_to_end_and_skip_by_the_key_alone() {
    let emu = s3_reading_emulator().await;
    let bucket = moto::bucket("us-east-1");
    let (site, files) = site();
    let mut c = deploy_cmd(&emu, site.path());
    c.env("AWS_ENDPOINT_URL_S3", moto::endpoint())
        .args(["--artifact-store", &format!("s3://{bucket}/site")]);
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    let sha = zip_sha(&r);
    let url = format!("s3://{bucket}/site/{sha}.zip");
    assert_eq!(emu.jobs(APP, "main")[0].source_url.as_deref(), Some(&*url));
    assert_eq!(served(&emu), files, "served byte for byte from the store");
    // Tags of another job: only the live job's sourceUrl can tell.
    emu.tag_branch(
        APP,
        "main",
        [("amplify-deploy:job-id".to_owned(), "999".to_owned())].into(),
    );
    let r = run(c.arg("--skip-unchanged")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.all().contains(&format!(
            "unchanged: live job 1 already serves package {sha}"
        )),
        "{r:?}"
    );
    assert_eq!(emu.jobs(APP, "main").len(), 1, "no job created");
}

#[tokio::test(flavor = "multi_thread")]
async fn promote_deploys_the_live_artifact_across_branches_and_apps() {
    let emu = s3_reading_emulator().await;
    emu.create_branch(APP, "prod");
    emu.create_app("d2other", "WEB");
    emu.create_branch("d2other", "live");
    let bucket = moto::bucket("us-east-1");
    let (site, files) = site();
    let mut c = deploy_cmd(&emu, site.path());
    c.env("AWS_ENDPOINT_URL_S3", moto::endpoint())
        .env("AMPLIFY_MESSAGE", "Release 7")
        .args(["--artifact-store", &format!("s3://{bucket}/site")]);
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    let sha = zip_sha(&r);
    let url = format!("s3://{bucket}/site/{sha}.zip");
    let promote = |extra: &[&str]| {
        let mut c = cmd(&emu);
        c.env("AWS_ENDPOINT_URL_S3", moto::endpoint())
            .args(["promote", "--app-id", APP, "--from-branch", "main"])
            .args(extra);
        c
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("output");
    let r = run(promote(&["--to-branch", "prod"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &out))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.all().contains(&format!(
            "promoting d1test/main job 1 (package sha256 {sha}) to d1test/prod"
        )),
        "{r:?}"
    );
    assert_eq!(emu.jobs(APP, "prod")[0].source_url.as_deref(), Some(&*url));
    assert_eq!(emu.deployed_files(APP, "prod").expect("deployed"), files);
    assert_eq!(moto::keys(&bucket).len(), 1, "nothing uploaded again");
    assert_eq!(count(&emu, "CreateDeployment"), 0);
    let outputs = std::fs::read_to_string(&out).unwrap();
    assert!(outputs.contains("status=SUCCEED"), "{outputs}");
    let tags = emu.tags(APP, "prod");
    assert_eq!(
        tags.get("amplify-deploy:message").map(String::as_str),
        Some("promoted from main job 1 : Release 7"),
        "{tags:?}"
    );

    let r = run(&mut promote(&[
        "--to-branch",
        "live",
        "--to-app-id",
        "d2other",
    ]))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        emu.deployed_files("d2other", "live").expect("deployed"),
        files
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn promote_without_a_stored_artifact_is_a_clear_error() {
    let emu = emulator().await;
    emu.create_branch(APP, "prod");
    let site = tiny_site();
    let r = run(&mut deploy_cmd(&emu, site.path())).await;
    assert_eq!(r.code, 0, "{r:?}");
    let r = run(cmd(&emu).args([
        "promote",
        "--app-id",
        APP,
        "--from-branch",
        "main",
        "--to-branch",
        "prod",
    ]))
    .await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("error: branch main's live job 1 has no stored artifact (it was not deployed with --artifact-store): nothing to promote"),
        "{r:?}"
    );
    assert!(emu.jobs(APP, "prod").is_empty());
}
