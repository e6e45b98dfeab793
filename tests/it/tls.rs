//! TLS and mutual TLS on the gRPC port; a plaintext health-only port beside it for probes.
use std::path::Path;

use miro_connector::config::SettingsArgs;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic_health::pb::health_check_response::ServingStatus;

use super::common::*;

struct Pki {
    ca_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn ca(name: &str) -> Pki {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.self_signed(&key).unwrap();
    Pki {
        ca_pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

impl Pki {
    /// A leaf certificate and key (PEM).
    fn leaf(&self, sans: &[&str], client: bool) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        params.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

async fn connect(
    addr: std::net::SocketAddr,
    ca_pem: &str,
    identity: Option<&(String, String)>,
) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca_pem))
        .domain_name("localhost");
    if let Some((cert, key)) = identity {
        tls = tls.identity(Identity::from_pem(cert, key));
    }
    Channel::from_shared(format!("https://{addr}"))
        .unwrap()
        .tls_config(tls)?
        .connect()
        .await
}

async fn tls_daemon(
    mtls: bool,
) -> (
    tempfile::TempDir,
    Pki,
    miro_connector::server::Daemon,
    miro_connector::sim::SimHandle,
) {
    let dir = tempfile::tempdir().unwrap();
    let server_ca = ca("server ca");
    let (cert, key) = server_ca.leaf(&["localhost", "127.0.0.1"], false);
    let client_ca = ca("client ca");
    let sim = sim_with(20, 1).await;
    let args = SettingsArgs {
        tls_cert: Some(write(dir.path(), "server.pem", &cert)),
        tls_key: Some(write(dir.path(), "server.key", &key)),
        tls_client_ca: mtls.then(|| write(dir.path(), "client-ca.pem", &client_ca.ca_pem)),
        health_listen: Some("127.0.0.1:0".parse().unwrap()),
        ..settings(&sim, false, false)
    };
    let s = miro_connector::config::Settings::load(&args, &Default::default()).unwrap();
    let listener = tokio::net::TcpListener::bind(s.listen).await.unwrap();
    let d = miro_connector::server::start_on(
        &s,
        listener,
        std::sync::Arc::new(miro_connector::cli::serve::connector(&s).unwrap()),
    )
    .await
    .unwrap();
    // The server's CA goes into `server_ca`; hand back the client CA for issuing client certs.
    let pki = Pki {
        ca_pem: server_ca.ca_pem,
        issuer: client_ca.issuer,
    };
    (dir, pki, d, sim)
}

#[tokio::test]
async fn tls_serves_and_the_health_port_stays_plaintext() {
    let (_dir, pki, daemon, _sim) = tls_daemon(false).await;
    let ch = connect(daemon.addr, &pki.ca_pem, None).await.unwrap();
    wait_ready(&ch).await;
    // Plaintext to the TLS port fails; the health-only port answers plaintext.
    let plain = Channel::from_shared(format!("http://{}", daemon.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    assert!(health(&plain, "").await.is_err());
    let probe = Channel::from_shared(format!("http://{}", daemon.health_addr.unwrap()))
        .unwrap()
        .connect()
        .await
        .unwrap();
    assert_eq!(health(&probe, "").await.unwrap(), ServingStatus::Serving);
    assert_eq!(
        health(&probe, "liveness").await.unwrap(),
        ServingStatus::Serving
    );
    daemon.shutdown().await;
}

#[tokio::test]
async fn mtls_requires_a_client_certificate_from_the_configured_ca() {
    let (_dir, pki, daemon, _sim) = tls_daemon(true).await;
    // No client certificate: refused.
    let refused = match connect(daemon.addr, &pki.ca_pem, None).await {
        Err(_) => true,
        Ok(ch) => health(&ch, "liveness").await.is_err(),
    };
    assert!(refused, "a client without a certificate was served");
    // A certificate from another CA: refused.
    let stranger = ca("someone else").leaf(&["client"], true);
    let refused = match connect(daemon.addr, &pki.ca_pem, Some(&stranger)).await {
        Err(_) => true,
        Ok(ch) => health(&ch, "liveness").await.is_err(),
    };
    assert!(refused, "a client with a foreign certificate was served");
    // Signed by the configured CA: served.
    let good = pki.leaf(&["client"], true);
    let ch = connect(daemon.addr, &pki.ca_pem, Some(&good))
        .await
        .unwrap();
    assert_eq!(
        health(&ch, "liveness").await.unwrap(),
        ServingStatus::Serving
    );
    wait_ready(&ch).await;
    daemon.shutdown().await;
}

const BIN: &str = env!("CARGO_BIN_EXE_miro-connector");

/// Each bad TLS file is an invalid setting: exit 2, one line naming the setting, the file and why.
#[test]
fn a_bad_tls_file_exits_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pki = ca("server ca");
    let (cert, key) = pki.leaf(&["localhost"], false);
    let (_, other_key) = pki.leaf(&["localhost"], false);
    let cert = write(d, "server.pem", &cert);
    let key = write(d, "server.key", &key);
    let other_key = write(d, "other.key", &other_key);
    let garbled = write(
        d,
        "garbled.pem",
        "-----BEGIN CERTIFICATE-----\nnot base64 at all\n",
    );
    let empty = write(d, "empty.pem", "nothing here\n");
    let missing = d.join("missing.pem");
    let cases: Vec<(Vec<&Path>, &str, &Path, &str)> = vec![
        (vec![&missing, &key], "tls_cert", &missing, "cannot read"),
        (vec![&garbled, &key], "tls_cert", &garbled, "PEM"),
        (vec![&empty, &key], "tls_cert", &empty, "no PEM certificate"),
        (
            vec![&cert, &other_key],
            "tls_key",
            &other_key,
            "does not match",
        ),
        (
            vec![&cert, &key, &garbled],
            "tls_client_ca",
            &garbled,
            "PEM",
        ),
    ];
    for (files, setting, file, why) in cases {
        let mut args = vec![
            "serve".to_string(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--tls-cert".into(),
            files[0].display().to_string(),
            "--tls-key".into(),
            files[1].display().to_string(),
        ];
        if let Some(ca) = files.get(2) {
            args.extend(["--tls-client-ca".into(), ca.display().to_string()]);
        }
        let out = std::process::Command::new(BIN)
            .args(&args)
            .env("MIRO_ACCESS_TOKEN", "t")
            .env("MIRO_CONNECTOR_MIRO_API_URL", "http://127.0.0.1:9")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{setting}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(
            err.contains(setting) && err.contains(&file.display().to_string()) && err.contains(why),
            "{setting} {why}: {err}"
        );
    }
}

/// A client without a certificate, against a daemon that requires one, is told so.
#[tokio::test]
async fn the_sync_command_says_when_the_daemon_wants_a_client_certificate() {
    let (dir, pki, daemon, _sim) = tls_daemon(true).await;
    let ca = write(dir.path(), "server-ca.pem", &pki.ca_pem);
    let addr = daemon.addr.to_string();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(BIN)
            .args(["sync", "--connect", &addr, "--connect-ca"])
            .arg(&ca)
            .args(["--connect-domain", "localhost"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("client certificate") && err.contains("--connect-cert"),
        "{err}"
    );
    daemon.shutdown().await;
}
