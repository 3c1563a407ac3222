//! A tiny SigV4-signing client and zip builder for the tests.

use std::io::{Cursor, Write};
use std::time::{Duration, SystemTime};

use amplify_emulator::{Config, Emulator};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use serde_json::Value;

pub const KEY: &str = "AKIDEXAMPLE";
pub const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// An answer: status, `x-amzn-ErrorType` name (before the `:`), JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub error_type: Option<String>,
    pub body: Value,
    pub text: String,
}

impl Answer {
    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }
}

pub struct Client {
    pub http: reqwest::Client,
    pub endpoint: String,
    pub key: String,
    pub secret: String,
    pub token: Option<String>,
    pub region: String,
    pub time_offset: Option<Duration>,
}

impl Client {
    pub fn new(emulator: &Emulator) -> Client {
        Client::for_endpoint(&emulator.endpoint())
    }

    pub fn for_endpoint(endpoint: &str) -> Client {
        Client {
            http: reqwest::Client::new(),
            endpoint: endpoint.to_owned(),
            key: KEY.into(),
            secret: SECRET.into(),
            token: None,
            region: "us-east-1".into(),
            time_offset: None,
        }
    }

    pub fn with_secret(mut self, secret: &str) -> Client {
        self.secret = secret.into();
        self
    }

    /// A signed API call. `path` is already percent-encoded.
    pub async fn call(&self, method: &str, path: &str, body: Option<&str>) -> Answer {
        self.try_call(method, path, body)
            .await
            .expect("request answered")
    }

    /// A signed API call that may get no answer.
    pub async fn try_call(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Result<Answer, reqwest::Error> {
        let url = format!("{}{path}", self.endpoint);
        let host = self.endpoint.trim_start_matches("http://").to_owned();
        let mut headers = vec![("host".to_owned(), host)];
        if body.is_some() {
            headers.push(("content-type".into(), "application/json".into()));
        }
        let identity =
            Credentials::new(&self.key, &self.secret, self.token.clone(), None, "test").into();
        let time = match self.time_offset {
            Some(offset) => SystemTime::now() - offset,
            None => SystemTime::now(),
        };
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("amplify")
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .expect("signing params")
            .into();
        let bytes = body.unwrap_or_default().as_bytes();
        let signable = SignableRequest::new(
            method,
            url.clone(),
            headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
            SignableBody::Bytes(bytes),
        )
        .expect("signable");
        let (instructions, _) = sign(signable, &params).expect("sign").into_parts();
        let mut request = self
            .http
            .request(method.parse().expect("method"), &url)
            .body(bytes.to_vec());
        for (name, value) in headers.iter().filter(|(n, _)| n != "host") {
            request = request.header(name, value);
        }
        for (name, value) in instructions.headers() {
            request = request.header(name, value);
        }
        Ok(answer(request.send().await?).await)
    }

    pub async fn unsigned(&self, method: &str, path: &str) -> Answer {
        let url = format!("{}{path}", self.endpoint);
        let request = self.http.request(method.parse().expect("method"), &url);
        answer(request.send().await.expect("request sent")).await
    }

    /// CreateDeployment → PUT zip → StartDeployment; returns the job id.
    pub async fn deploy(&self, app: &str, branch_path: &str, zip: Vec<u8>) -> String {
        let created = self
            .call(
                "POST",
                &format!("/apps/{app}/branches/{branch_path}/deployments"),
                Some("{}"),
            )
            .await;
        assert_eq!(created.status, 200, "{created:?}");
        let job_id = created.body["jobId"].as_str().expect("jobId").to_owned();
        let url = created.body["zipUploadUrl"].as_str().expect("zipUploadUrl");
        let put = self.put(url, zip).await;
        assert_eq!(put.status().as_u16(), 200, "{:?}", put.text().await);
        let started = self
            .call(
                "POST",
                &format!("/apps/{app}/branches/{branch_path}/deployments/start"),
                Some(&format!("{{\"jobId\":\"{job_id}\"}}")),
            )
            .await;
        assert_eq!(started.status, 200, "{started:?}");
        job_id
    }

    /// PUTs `body` to a presigned URL as a client would, unsigned.
    pub async fn put(&self, url: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.http.put(url).body(body).send().await.expect("put")
    }

    /// Polls GetJob until the job ends; returns the final GetJob answer.
    pub async fn wait_job(&self, app: &str, branch_path: &str, job_id: &str) -> Answer {
        for _ in 0..200 {
            let got = self
                .call(
                    "GET",
                    &format!("/apps/{app}/branches/{branch_path}/jobs/{job_id}"),
                    None,
                )
                .await;
            assert_eq!(got.status, 200, "{got:?}");
            let status = got.body["job"]["summary"]["status"]
                .as_str()
                .unwrap_or_default();
            if matches!(status, "SUCCEED" | "FAILED" | "CANCELLED") {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("job {job_id} did not end");
    }
}

pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let error_type = response
        .headers()
        .get("x-amzn-ErrorType")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(':').next().unwrap_or_default().to_owned());
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        error_type,
        body,
        text,
    }
}

/// An emulator with app `d1` (WEB) and branches `main` and `feature/x`.
pub async fn emulator() -> Emulator {
    emulator_with(Config {
        job_duration: Duration::from_millis(50),
        ..Config::default()
    })
    .await
}

pub async fn emulator_with(config: Config) -> Emulator {
    let emulator = Emulator::start(config).await.expect("emulator starts");
    emulator.create_app("d1", "WEB");
    emulator.create_branch("d1", "main");
    emulator.create_branch("d1", "feature/x");
    emulator
}

pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content) in entries {
        writer
            .start_file(*name, zip::write::SimpleFileOptions::default())
            .expect("start entry");
        writer.write_all(content).expect("write entry");
    }
    writer.finish().expect("finish zip").into_inner()
}

pub fn site_zip() -> Vec<u8> {
    zip_of(&[
        ("index.html", b"<h1>home</h1>"),
        ("docs/index.html", b"<h1>docs</h1>"),
        ("app.js", b"console.log(1)"),
    ])
}
