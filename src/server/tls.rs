//! The TLS files, read and checked before the server starts, so a bad file is an invalid setting
//! that names the file and the reason: missing, not PEM, no certificate, no key, a key that does
//! not match the certificate, or a client CA that is not a CA certificate.
use std::path::Path;

use rustls::{
    RootCertStore,
    crypto::aws_lc_rs::sign::any_supported_type,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    sign::CertifiedKey,
};
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

use crate::config::{SettingError, Tls};

fn bad(setting: &str, path: &Path, why: impl std::fmt::Display) -> SettingError {
    SettingError {
        setting: setting.into(),
        why: format!("{}: {why}", path.display()),
    }
}

fn read(setting: &str, path: &Path) -> Result<Vec<u8>, SettingError> {
    std::fs::read(path).map_err(|e| bad(setting, path, format!("cannot read it: {e}")))
}

fn certificates(
    setting: &str,
    path: &Path,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, SettingError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(setting, path, format!("not a PEM certificate file: {e}")))?;
    if certs.is_empty() {
        return Err(bad(setting, path, "holds no PEM certificate"));
    }
    Ok(certs)
}

/// The server's TLS configuration from checked files.
pub fn load(tls: &Tls) -> Result<ServerTlsConfig, SettingError> {
    let cert_pem = read("tls_cert", &tls.cert)?;
    let key_pem = read("tls_key", &tls.key)?;
    let certs = certificates("tls_cert", &tls.cert, &cert_pem)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        bad(
            "tls_key",
            &tls.key,
            format!("holds no usable PEM private key: {e}"),
        )
    })?;
    let signing = any_supported_type(&key).map_err(|e| {
        bad(
            "tls_key",
            &tls.key,
            format!("an unsupported private key: {e}"),
        )
    })?;
    CertifiedKey::new(certs, signing)
        .keys_match()
        .map_err(|_| {
            bad(
                "tls_key",
                &tls.key,
                format!("does not match the certificate in {}", tls.cert.display()),
            )
        })?;
    let mut config = ServerTlsConfig::new().identity(Identity::from_pem(cert_pem, key_pem));
    if let Some(ca) = &tls.client_ca {
        let pem = read("tls_client_ca", ca)?;
        let mut roots = RootCertStore::empty();
        for cert in certificates("tls_client_ca", ca, &pem)? {
            roots.add(cert).map_err(|e| {
                bad(
                    "tls_client_ca",
                    ca,
                    format!("not a usable CA certificate: {e}"),
                )
            })?;
        }
        // Client certificates are then required and verified against this CA.
        config = config.client_ca_root(Certificate::from_pem(pem));
    }
    Ok(config)
}
