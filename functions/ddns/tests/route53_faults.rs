//! Route53 failures moto cannot produce on demand (throttling, PriorRequestNotComplete), fed
//! through `aws-smithy-mocks` into the real `Route53Store` and SDK client.

use aws_sdk_route53::error::ErrorMetadata;
use aws_sdk_route53::operation::change_resource_record_sets::{
    ChangeResourceRecordSetsError, ChangeResourceRecordSetsOutput,
};
use aws_sdk_route53::operation::list_resource_record_sets::{
    ListResourceRecordSetsError, ListResourceRecordSetsOutput,
};
use aws_sdk_route53::types::error::{InvalidChangeBatch, PriorRequestNotComplete};
use aws_sdk_route53::types::{ChangeInfo, ChangeStatus, ResourceRecord, ResourceRecordSet, RrType};
use aws_sdk_route53::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use failberry_ddns::{DnsError, DnsStore, RecordType, Route53Store, Upsert};

fn throttling() -> ListResourceRecordSetsError {
    ListResourceRecordSetsError::generic(
        ErrorMetadata::builder()
            .code("Throttling")
            .message("Rate exceeded")
            .build(),
    )
}

fn records() -> ListResourceRecordSetsOutput {
    let set = ResourceRecordSet::builder()
        .name("wireless.home.example.com.")
        .r#type(RrType::A)
        .ttl(60)
        .resource_records(
            ResourceRecord::builder()
                .value("81.2.69.142")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    ListResourceRecordSetsOutput::builder()
        .resource_record_sets(set)
        .is_truncated(false)
        .max_items(4)
        .build()
        .unwrap()
}

fn upsert() -> Vec<Upsert> {
    vec![Upsert {
        name: "wireless.home.example.com".into(),
        record_type: RecordType::A,
        value: "81.2.69.160".parse().unwrap(),
        ttl: 60,
    }]
}

#[tokio::test(start_paused = true)]
async fn throttled_reads_are_retried_until_they_succeed() {
    let rule = mock!(Client::list_resource_record_sets)
        .sequence()
        .error(throttling)
        .times(2)
        .output(records)
        .build();
    let store = Route53Store::new(mock_client!(
        aws_sdk_route53,
        RuleMode::Sequential,
        &[&rule]
    ));
    let current = store
        .current("Z1", "wireless.home.example.com")
        .await
        .expect("third attempt succeeds");
    assert_eq!(current.ipv4(), Some("81.2.69.142".parse().unwrap()));
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn prior_request_not_complete_gives_up_as_unavailable() {
    let rule = mock!(Client::change_resource_record_sets)
        .sequence()
        .error(|| {
            ChangeResourceRecordSetsError::PriorRequestNotComplete(
                PriorRequestNotComplete::builder()
                    .message("busy")
                    .meta(
                        ErrorMetadata::builder()
                            .code("PriorRequestNotComplete")
                            .build(),
                    )
                    .build(),
            )
        })
        .repeatedly()
        .build();
    let store = Route53Store::new(mock_client!(
        aws_sdk_route53,
        RuleMode::Sequential,
        &[&rule]
    ));
    let err = store.upsert("Z1", &upsert()).await.unwrap_err();
    assert!(
        matches!(&err, DnsError::Unavailable(m) if m.contains("after 4 attempts")),
        "{err}"
    );
    assert_eq!(rule.num_calls(), 4);
}

#[tokio::test(start_paused = true)]
async fn invalid_batches_are_not_retried() {
    let rule = mock!(Client::change_resource_record_sets)
        .sequence()
        .error(|| {
            ChangeResourceRecordSetsError::InvalidChangeBatch(
                InvalidChangeBatch::builder().message("bad").build(),
            )
        })
        .repeatedly()
        .build();
    let store = Route53Store::new(mock_client!(
        aws_sdk_route53,
        RuleMode::Sequential,
        &[&rule]
    ));
    assert!(matches!(
        store.upsert("Z1", &upsert()).await,
        Err(DnsError::Rejected(_))
    ));
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_change_id_comes_back_without_waiting() {
    let rule = mock!(Client::change_resource_record_sets).then_output(|| {
        ChangeResourceRecordSetsOutput::builder()
            .change_info(
                ChangeInfo::builder()
                    .id("/change/C123")
                    .status(ChangeStatus::Pending)
                    .submitted_at(aws_sdk_route53::primitives::DateTime::from_secs(0))
                    .build()
                    .unwrap(),
            )
            .build()
    });
    let store = Route53Store::new(mock_client!(
        aws_sdk_route53,
        RuleMode::Sequential,
        &[&rule]
    ));
    assert_eq!(store.upsert("Z1", &upsert()).await.unwrap(), "C123");
}
