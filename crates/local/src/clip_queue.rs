//! How the clips reach detectatron on the local stack. In AWS the clip bucket invokes the
//! function asynchronously (Lambda retries a failure twice, then parks the notification in the
//! dead-letter queue); moto never invokes a function, but it does deliver a bucket's notifications
//! to SQS for real. So here the bucket's ObjectCreated notifications under `incoming/` go to a
//! local queue, and this module polls it and hands the handler the very notifications S3 would
//! send, in batches (`handle_batch`): a message the handler did not report as failed is deleted,
//! a failure comes back until the redrive policy moves it to the dead-letter queue after
//! `MAX_RECEIVES` receives — the same three tries as Lambda's asynchronous invocation, and the
//! same end: nothing is dropped silently, and nothing is retried forever.

use std::time::Duration;

use anyhow::Context;
use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_s3::types::{
    Event, FilterRule, FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter,
    QueueConfiguration, S3KeyFilter,
};
use aws_sdk_sqs::types::QueueAttributeName;
use failberry_detectatron::{ClipStore, ConfigSource, Detectatron, Labeler};
use failberry_proto::clips::INCOMING_PREFIX;

/// Receives of one message before the redrive policy moves it to the dead-letter queue: the
/// first try and Lambda's two asynchronous retries (the template's `MaximumRetryAttempts: 2`).
pub const MAX_RECEIVES: u32 = 3;
/// How long a received message stays hidden: longer than one analysis takes here, short enough
/// that a failed clip comes back within seconds.
pub const VISIBILITY_TIMEOUT_SECS: u32 = 5;

/// A queue receiving a bucket's clip notifications, and its dead-letter queue.
#[derive(Clone, Debug)]
pub struct ClipQueue {
    pub url: String,
    pub arn: String,
    pub dead_letter_url: String,
}

async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    attributes: &[(QueueAttributeName, String)],
) -> anyhow::Result<(String, String)> {
    let mut create = sqs.create_queue().queue_name(name);
    for (k, v) in attributes {
        create = create.attributes(k.clone(), v);
    }
    let url = create
        .send()
        .await
        .with_context(|| format!("creating queue {name}"))?
        .queue_url()
        .unwrap_or_default()
        .to_string();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .with_context(|| format!("reading queue {name}'s ARN"))?;
    let arn = attrs
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .with_context(|| format!("queue {name} has no ARN"))?;
    Ok((url, arn))
}

/// Creates `queue` (with `<queue>-dead` as its dead-letter queue) and points `bucket`'s
/// ObjectCreated notifications under `incoming/` at it (the bucket must exist).
pub async fn wire(
    sdk: &aws_config::SdkConfig,
    bucket: &str,
    queue: &str,
) -> anyhow::Result<ClipQueue> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let (dead_letter_url, dead_letter_arn) =
        create_queue(&sqs, &format!("{queue}-dead"), &[]).await?;
    let redrive = serde_json::json!({
        "deadLetterTargetArn": dead_letter_arn,
        "maxReceiveCount": MAX_RECEIVES.to_string(),
    });
    let (url, arn) = create_queue(
        &sqs,
        queue,
        &[
            (QueueAttributeName::RedrivePolicy, redrive.to_string()),
            (
                QueueAttributeName::VisibilityTimeout,
                VISIBILITY_TIMEOUT_SECS.to_string(),
            ),
        ],
    )
    .await?;
    let filter = NotificationConfigurationFilter::builder()
        .key(
            S3KeyFilter::builder()
                .filter_rules(
                    FilterRule::builder()
                        .name(FilterRuleName::Prefix)
                        .value(INCOMING_PREFIX)
                        .build(),
                )
                .build(),
        )
        .build();
    let queue_config = QueueConfiguration::builder()
        .queue_arn(&arn)
        .events(Event::from("s3:ObjectCreated:*"))
        .filter(filter)
        .build()?;
    crate::emulator::s3_client(sdk)
        .put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(queue_config)
                .build(),
        )
        .send()
        .await
        .context("configuring the bucket's notifications")?;
    Ok(ClipQueue {
        url,
        arn,
        dead_letter_url,
    })
}

/// What one poll did.
#[derive(Debug, Default, PartialEq)]
pub struct Polled {
    pub received: usize,
    pub failed: usize,
}

/// Messages as Lambda hands them to a function (its JSON, parsed as the runtime parses it).
pub fn to_event(
    messages: &[aws_sdk_sqs::types::Message],
    queue: &ClipQueue,
) -> anyhow::Result<SqsEvent> {
    let records: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| {
            serde_json::json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue.arn,
                "awsRegion": crate::emulator::REGION,
            })
        })
        .collect();
    Ok(serde_json::from_value(
        serde_json::json!({ "Records": records }),
    )?)
}

/// Receives one batch (waiting up to `wait`), invokes the handler, deletes what succeeded.
pub async fn poll_once<S: ClipStore, L: Labeler, C: ConfigSource>(
    sqs: &aws_sdk_sqs::Client,
    queue: &ClipQueue,
    app: &Detectatron<S, L, C>,
    wait: Duration,
) -> anyhow::Result<Polled> {
    let out = sqs
        .receive_message()
        .queue_url(&queue.url)
        .max_number_of_messages(10)
        .wait_time_seconds(wait.as_secs() as i32)
        .send()
        .await
        .context("receiving clip notifications")?;
    let messages = out.messages();
    if messages.is_empty() {
        return Ok(Polled::default());
    }
    let response = app.handle_batch(to_event(messages, queue)?).await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    for m in messages {
        if !failed.contains(&m.message_id().unwrap_or_default()) {
            if let Some(handle) = m.receipt_handle() {
                sqs.delete_message()
                    .queue_url(&queue.url)
                    .receipt_handle(handle)
                    .send()
                    .await?;
            }
        }
    }
    Ok(Polled {
        received: messages.len(),
        failed: failed.len(),
    })
}

/// Polls until `shutdown` resolves.
pub async fn run<S: ClipStore, L: Labeler, C: ConfigSource>(
    sqs: &aws_sdk_sqs::Client,
    queue: &ClipQueue,
    app: &Detectatron<S, L, C>,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            polled = poll_once(sqs, queue, app, Duration::from_secs(1)) => {
                let polled = polled?;
                if polled.received > 0 {
                    tracing::info!(received = polled.received, failed = polled.failed, "clip batch handled");
                }
            }
        }
    }
}
