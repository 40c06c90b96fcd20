//! HTTPS of the server's own: the certificate chain and private key (PEM files), the rustls
//! settings (TLS 1.2 and 1.3, ALPN `http/1.1`), and reloading the pair on SIGHUP while
//! connections carry on: a renewed certificate (certbot's) is taken without a restart, and a
//! bad one is refused, keeping the old. Built with the `tls` feature only (`no_tls.rs` stands
//! in without it).

use crate::sync::Unpoisoned;
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConnection;

use super::settings::TlsFiles;
use super::tls_error::TlsError;

/// The server's TLS side: settings shared by every connection, and the certificate they
/// present, which [`Tls::reload`] swaps.
pub(crate) struct Tls {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: Arc<CurrentCert>,
    config: Arc<rustls::ServerConfig>,
}

/// The certificate every new handshake presents; a handshake under way keeps the one it took.
#[derive(Debug)]
struct CurrentCert(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for CurrentCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.read().unpoisoned().clone())
    }
}

impl Tls {
    /// Loads and checks the pair; fails with a sentence naming the file and the problem.
    pub fn new(files: &TlsFiles) -> Result<Tls, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let current = Arc::new(CurrentCert(RwLock::new(Arc::new(load(files, &provider)?))));
        let mut config = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(TlsError::Config)?
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        // HTTP/1.1 only: a client that offers only h2 is told so by an alert.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        // Resumed sessions skip the key exchange: stateless tickets, keys rotated by rustls.
        config.ticketer = rustls::crypto::ring::Ticketer::new().map_err(TlsError::Config)?;
        Ok(Tls {
            files: files.clone(),
            provider,
            current,
            config: Arc::new(config),
        })
    }

    /// The files, for the log.
    pub fn files(&self) -> &TlsFiles {
        &self.files
    }

    /// Reads the pair again; on success new handshakes present it, on failure the old one
    /// stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let fresh = Arc::new(load(&self.files, &self.provider)?);
        *self.current.0.write().unpoisoned() = fresh;
        Ok(())
    }

    /// The TLS state of a new connection.
    pub fn accept(&self) -> Result<ServerConnection, rustls::Error> {
        ServerConnection::new(self.config.clone())
    }
}

/// The chain and key from their files, checked to belong together.
fn load(files: &TlsFiles, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
    let cert_err = |why: String| TlsError::Cert(files.cert.clone(), why);
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| cert_err(describe(e, "CERTIFICATE")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cert_err(describe(e, "CERTIFICATE")))?;
    if chain.is_empty() {
        return Err(cert_err(describe(pem::Error::NoItemsFound, "CERTIFICATE")));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| TlsError::Key(files.key.clone(), describe(e, "PRIVATE KEY")))?;
    match CertifiedKey::from_der(chain, key, provider) {
        Ok(pair) => Ok(pair),
        Err(rustls::Error::InconsistentKeys(_)) => Err(TlsError::Mismatch {
            cert: files.cert.clone(),
            key: files.key.clone(),
        }),
        // The key parsed as PEM but not as a key, or the certificate is not X.509.
        Err(e) => Err(TlsError::Key(files.key.clone(), e.to_string())),
    }
}

/// A PEM error as a sentence: what was expected where nothing usable was found.
fn describe(e: pem::Error, section: &str) -> String {
    match e {
        pem::Error::Io(e) => e.to_string(),
        pem::Error::NoItemsFound => {
            format!("no PEM section \"-----BEGIN {section}-----\" in it")
        }
        other => format!("not a valid PEM file: {other}"),
    }
}
