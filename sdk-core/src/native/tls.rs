//! TLS for `wss://`: rustls with the ring provider, verifying servers the way the operating
//! system does (`rustls-platform-verifier`), plus any roots the app adds (a private CA, or a
//! test's own CA).
//!
//! The OS decides because that is where users and device managers put trust: an
//! MDM-installed or enterprise CA (TLS-inspecting proxies, private deployments) is in the
//! system store, not in any bundle an SDK could ship. On Apple platforms Security.framework
//! evaluates the chain (revocation and Certificate Transparency included); on Linux it is
//! webpki over the system's CA bundle (`/etc/ssl/certs`, `SSL_CERT_FILE`). A Linux machine
//! without any CA bundle (a slim container) falls back to Mozilla's roots (webpki-roots),
//! as this client always did, so `wss://` keeps working there.
//!
//! The provider is chosen explicitly rather than through rustls's process-wide default, so the
//! client works whatever other crates in the app enable.

use std::sync::Arc;

use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

use crate::machine::Error;

/// Builds the TLS configuration every `wss://` connection of a client uses. On Linux this
/// reads the system's CA bundle, so it is built once per client, and only for `wss://` URLs.
pub(crate) fn client_config(extra_roots: &[Vec<u8>]) -> Result<Arc<ClientConfig>, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let extra = parse_roots(extra_roots)?;
    let verifier = verifier(extra, provider.clone())?;
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::InvalidConfig(format!("TLS: {e}")))?
        .dangerous() // A verifier of our choosing; it verifies, it is not a bypass.
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Checks each extra root (DER) parses as a trust anchor, so a bad one fails `build()`
/// rather than every handshake.
fn parse_roots(extra_roots: &[Vec<u8>]) -> Result<Vec<CertificateDer<'static>>, Error> {
    let mut check = RootCertStore::empty();
    extra_roots
        .iter()
        .map(|der| {
            let cert = CertificateDer::from(der.clone());
            check
                .add(cert.clone())
                .map_err(|e| Error::InvalidConfig(format!("root certificate: {e}")))?;
            Ok(cert)
        })
        .collect()
}

/// The platform verifier with `extra` as further trust anchors; Mozilla's roots where the
/// platform has none to offer.
#[cfg(not(target_os = "android"))]
fn verifier(
    extra: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, Error> {
    match rustls_platform_verifier::Verifier::new_with_extra_roots(extra.clone(), provider.clone())
    {
        Ok(platform) => Ok(Arc::new(platform)),
        Err(e) => {
            tracing::warn!(error = %e, "roomcast: no system trust store; using Mozilla's roots");
            bundled(extra, provider)
        }
    }
}

/// Android's platform verifier needs the app's JVM handed over at start-up, which this SDK
/// does not do: Mozilla's roots plus `extra` there.
#[cfg(target_os = "android")]
fn verifier(
    extra: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, Error> {
    bundled(extra, provider)
}

/// webpki over Mozilla's roots (webpki-roots) and `extra`.
fn bundled(
    extra: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, Error> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for cert in extra {
        roots
            .add(cert)
            .map_err(|e| Error::InvalidConfig(format!("root certificate: {e}")))?;
    }
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| Error::InvalidConfig(format!("TLS: {e}")))?;
    Ok(verifier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_root_that_is_not_a_certificate_fails_the_build() {
        let result = client_config(&[b"not a certificate".to_vec()]);
        assert!(matches!(result, Err(Error::InvalidConfig(_))), "{result:?}");
    }

    #[test]
    fn without_extra_roots_a_configuration_is_built() {
        assert!(client_config(&[]).is_ok());
    }
}
