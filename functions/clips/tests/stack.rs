//! The clips function behind the local stack's API Gateway stand-in, over HTTP, against moto
//! (`FAILBERRY_MOTO_URL`): the route `/v1/clips*` reaches it beside ddns, a seeded host can upload,
//! and the answers come back through the stand-in unchanged.

use failberry_local::seed;
use failberry_local::{Stack, StackOptions};
use failberry_proto::clips::Grant;
use failberry_proto::{paths, Signer};
use sha2::{Digest, Sha256};

#[tokio::test]
async fn a_seeded_host_uploads_a_clip_through_the_local_api() {
    let moto = std::env::var("FAILBERRY_MOTO_URL")
        .expect("run `make test`, which starts moto and sets FAILBERRY_MOTO_URL");
    let stack = Stack::start(&moto, StackOptions::default())
        .await
        .expect("stack starts");
    let http = reqwest::Client::new();
    let signer = Signer::new(seed::HOSTNAME, seed::SECRET);
    let data = vec![7u8; 300_000];
    let now = failberry_proto::clock::unix_secs(std::time::SystemTime::now());
    let body = serde_json::to_vec(&serde_json::json!({
        "camera": "garden", "name": "motion.mp4", "size": data.len(),
        "sha256": hex::encode(Sha256::digest(&data)), "timestamp": now,
        "nonce": format!("{:032x}", fastrand::u128(..)),
    }))
    .unwrap();
    let mut req = http.post(format!("{}{}", stack.api, paths::CLIPS));
    for (k, v) in signer.headers("POST", paths::CLIPS, &body) {
        req = req.header(k, v);
    }
    let resp = req.body(body).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let Grant::Single { key, put, .. } = resp.json::<Grant>().await.unwrap() else {
        panic!("300 kB is one PUT")
    };
    let mut upload = http.put(&put.url).body(data.clone());
    for (k, v) in &put.headers {
        upload = upload.header(k, v);
    }
    assert!(upload.send().await.unwrap().status().is_success());
    let head = stack
        .s3()
        .head_object()
        .bucket(&stack.bucket)
        .key(&key)
        .send()
        .await
        .expect("the clip is stored");
    assert_eq!(head.content_length(), Some(data.len() as i64));

    let path = format!("{}{key}", paths::CLIP_RESULT_PREFIX);
    let mut get = http.get(format!("{}{path}", stack.api));
    for (k, v) in signer.headers("GET", &path, b"") {
        get = get.header(k, v);
    }
    assert_eq!(get.send().await.unwrap().status(), 202, "pending analysis");

    let myip = http
        .get(format!("{}{}", stack.api, paths::MYIP))
        .send()
        .await
        .unwrap();
    assert_eq!(myip.status(), 200, "ddns still answers beside clips");
}
