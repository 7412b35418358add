//! How failberry's functions reach AWS: the SDK configuration with an HTTPS client that trusts
//! only the Amazon Trust Services roots (`certs/amazon-trust-services.pem`) instead of the
//! system store. AWS endpoints all chain to those roots; not reading the ~150 system roots at
//! start is what brings a function's cold start down to the bare runtime's
//! (docs/protocol.md, "Trust store", says what it means for security). Which clients to build
//! from the configuration is left to each function's `main`.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_s3::config::SharedHttpClient;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_http_client::Builder;

/// The Amazon Trust Services root CAs, PEM (Amazon Root CA 1–4 and the Starfield Services G2
/// root that cross-signs them for old clients).
pub const AMAZON_TRUST_SERVICES_PEM: &str = include_str!("../certs/amazon-trust-services.pem");

/// An HTTPS client (rustls with aws-lc, as the SDK's default) whose trust store holds only the
/// Amazon Trust Services roots.
pub fn amazon_https_client() -> SharedHttpClient {
    let store = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(AMAZON_TRUST_SERVICES_PEM.as_bytes());
    let context = TlsContext::builder()
        .with_trust_store(store)
        .build()
        .expect("a TLS context with only a trust store always builds");
    Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https()
}

/// The SDK configuration from the environment (region, credentials, `AWS_ENDPOINT_URL`), as
/// `aws_config::load_from_env` reads it, with [`amazon_https_client`] for every call, the
/// credential providers' included.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(amazon_https_client())
        .load()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    use x509_parser::prelude::{FromDer, X509Certificate};

    fn certificates() -> Vec<CertificateDer<'static>> {
        CertificateDer::pem_slice_iter(AMAZON_TRUST_SERVICES_PEM.as_bytes())
            .collect::<Result<_, _>>()
            .expect("the bundle is valid PEM")
    }

    #[test]
    fn bundle_holds_the_five_amazon_trust_services_roots() {
        let names: Vec<String> = certificates()
            .iter()
            .map(|der| {
                let (_, cert) = X509Certificate::from_der(der).expect("a DER certificate");
                cert.subject().to_string()
            })
            .collect();
        let want = [
            "C=US, O=Amazon, CN=Amazon Root CA 1",
            "C=US, O=Amazon, CN=Amazon Root CA 2",
            "C=US, O=Amazon, CN=Amazon Root CA 3",
            "C=US, O=Amazon, CN=Amazon Root CA 4",
            "C=US, ST=Arizona, L=Scottsdale, O=Starfield Technologies, Inc., \
             CN=Starfield Services Root Certificate Authority - G2",
        ];
        assert_eq!(names, want);
    }

    #[test]
    fn each_root_is_in_mozillas_set_and_not_expired() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        for der in certificates() {
            let (_, cert) = X509Certificate::from_der(&der).expect("a DER certificate");
            let name = cert.subject().to_string();
            let anchor = webpki::anchor_from_trusted_cert(&der).expect("usable as a trust anchor");
            assert!(
                webpki_roots::TLS_SERVER_ROOTS.iter().any(|m| {
                    m.subject == anchor.subject
                        && m.subject_public_key_info == anchor.subject_public_key_info
                }),
                "{name} is not in webpki-roots' Mozilla set"
            );
            let validity = cert.validity();
            assert!(
                validity.not_before.timestamp() <= now && now < validity.not_after.timestamp(),
                "{name} is not valid now (until {})",
                validity.not_after
            );
        }
    }
}
