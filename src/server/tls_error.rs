//! Why the certificate and key cannot be used: the errors of HTTPS, with or without the `tls`
//! feature (without it, asking for HTTPS is the one error).

use std::fmt;
use std::path::PathBuf;

/// Why the certificate and key cannot be used.
#[derive(Debug)]
pub enum TlsError {
    /// The certificate file cannot be read or holds no usable certificate.
    Cert(PathBuf, String),
    /// The key file cannot be read or holds no usable private key.
    Key(PathBuf, String),
    /// The private key is not the certificate's.
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// rustls refused the settings.
    #[cfg(feature = "tls")]
    Config(rustls::Error),
    /// HTTPS was asked for, and this program was built without it.
    NotBuiltIn,
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Cert(path, why) => write!(f, "tls_cert {}: {why}", path.display()),
            TlsError::Key(path, why) => write!(f, "tls_key {}: {why}", path.display()),
            TlsError::Mismatch { cert, key } => write!(
                f,
                "tls_key {} is not the private key of the certificate in tls_cert {}",
                key.display(),
                cert.display()
            ),
            #[cfg(feature = "tls")]
            TlsError::Config(e) => write!(f, "TLS settings: {e}"),
            TlsError::NotBuiltIn => f.write_str(
                "tls_cert and tls_key ask for HTTPS, and this program was built without it \
                 (the `tls` feature of miniweb)",
            ),
        }
    }
}

impl std::error::Error for TlsError {}
