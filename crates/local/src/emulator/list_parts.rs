//! A fix-up of one emulator answer, installed only on the clients the local stack and the tests
//! build: moto 5.2.5 names the root element of its `ListParts` answer `ListPartsResponse` (its
//! generic serializer's `<Operation>Response`), where S3 says `ListPartsResult` (S3 API reference,
//! ListParts, "Response Syntax"). botocore does not check the root, the Rust SDK does, so without
//! this every ListParts against the emulator fails to parse. Deployed functions never see it.

use std::pin::Pin;
use std::task::{Context, Poll};

use aws_sdk_s3::config::interceptors::BeforeDeserializationInterceptorContextMut;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::BoxError;
use aws_sdk_s3::primitives::SdkBody;
use bytes::Bytes;
use http_body::{Body, Frame};

#[derive(Debug)]
pub struct ListPartsRoot;

impl Intercept for ListPartsRoot {
    fn name(&self) -> &'static str {
        "ListPartsRoot"
    }

    fn modify_before_deserialization(
        &self,
        ctx: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // The request is gone by now (sent), so every XML answer is read whole and only a
        // `ListPartsResponse` root is renamed: object bodies (clips, JSON documents) stream on.
        let response = ctx.response();
        let is_xml = response
            .headers()
            .get("content-type")
            .is_some_and(|t| t.starts_with("application/xml") || t.starts_with("text/xml"));
        if is_xml && response.status().is_success() {
            let body = ctx.response_mut().take_body();
            *ctx.response_mut().body_mut() = SdkBody::from_body_1_x(Renamed {
                inner: body,
                buf: Vec::new(),
                done: false,
            });
        }
        Ok(())
    }
}

/// The whole body, read to its end, with the root element renamed.
struct Renamed {
    inner: SdkBody,
    buf: Vec<u8>,
    done: bool,
}

fn rename(xml: &[u8]) -> Bytes {
    let text = String::from_utf8_lossy(xml)
        .replacen("<ListPartsResponse", "<ListPartsResult", 1)
        .replacen("</ListPartsResponse>", "</ListPartsResult>", 1);
    Bytes::from(text)
}

impl Body for Renamed {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        loop {
            if self.done {
                return Poll::Ready(None);
            }
            match Pin::new(&mut self.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
                Poll::Ready(None) => {
                    self.done = true;
                    let renamed = rename(&self.buf);
                    return Poll::Ready(Some(Ok(Frame::data(renamed))));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_root_is_renamed() {
        let xml = br#"<?xml version="1.0"?><ListPartsResponse xmlns="x"><Bucket>ListPartsResponse</Bucket></ListPartsResponse>"#;
        let got = super::rename(xml);
        assert_eq!(
            &got[..],
            &br#"<?xml version="1.0"?><ListPartsResult xmlns="x"><Bucket>ListPartsResponse</Bucket></ListPartsResult>"#[..]
        );
    }
}
