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
