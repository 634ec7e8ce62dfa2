//! TLS for the test SMTP server (`Mailbox::start_tls`): a private CA and a certificate for
//! `localhost` and 127.0.0.1 made with `rcgen` when the server starts (nothing on disk but the
//! CA's PEM, in a temporary folder, for `smtp_ca_file`), served with rustls and ring.

use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// How the test SMTP server speaks TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain at first; offers STARTTLS (and AUTH only after it): `smtp://…?tls=required`.
    StartTls,
    /// TLS from the first byte: `smtps://…`.
    Implicit,
}

pub struct TlsSetup {
    pub mode: SmtpTls,
    pub acceptor: TlsAcceptor,
    /// Holds `ca.pem`, the CA that signed the server's certificate.
    ca_dir: tempfile::TempDir,
}

impl TlsSetup {
    pub fn new(mode: SmtpTls) -> TlsSetup {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "Roster test CA");
        ca_params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key")).expect("the test CA");

        let key = KeyPair::generate().expect("server key");
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).expect("server parameters");
        params.distinguished_name.push(DnType::CommonName, "localhost");
        let cert = params.signed_by(&key, &ca).expect("the server certificate");

        let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone(), ca.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .expect("the server's TLS configuration");

        let ca_dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(ca_dir.path().join("ca.pem"), ca.pem()).expect("writing ca.pem");
        TlsSetup { mode, acceptor: TlsAcceptor::from(Arc::new(config)), ca_dir }
    }

    /// The CA certificate (PEM) to trust: what `smtp_ca_file` points at.
    pub fn ca_file(&self) -> PathBuf {
        self.ca_dir.path().join("ca.pem")
    }
}
