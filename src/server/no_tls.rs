//! What stands for `tls.rs` in a program built without the `tls` feature: a TLS side that
//! cannot exist, so that `tls_cert` stops start-up with a sentence, and the rest of the server
//! reads the same.

use super::settings::TlsFiles;
use super::tls_error::TlsError;

/// No TLS: there is no value of this type.
pub(crate) enum Tls {}

impl Tls {
    /// Always refuses: HTTPS was not built in.
    pub fn new(_files: &TlsFiles) -> Result<Tls, TlsError> {
        Err(TlsError::NotBuiltIn)
    }

    /// Never called: there is no `Tls`.
    pub fn files(&self) -> &TlsFiles {
        match *self {}
    }

    /// Never called: there is no `Tls`.
    pub fn reload(&self) -> Result<(), TlsError> {
        match *self {}
    }
}
