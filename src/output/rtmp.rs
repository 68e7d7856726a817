//! RTMP(S) ingest: FLV over rtmp2sink, one pipeline per destination, rebuilt by the
//! supervisor when the server drops (rtmp2sink itself never reconnects).

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{Result, bail};

const PIPELINE: &str = include_str!("../../pipelines/output-rtmp.gst");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtmpTarget {
    pub url: String,
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// Everything after host[:port]/: application and stream key.
    pub path: String,
}

impl RtmpTarget {
    pub fn parse(url: &str) -> Result<RtmpTarget> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("rtmp://") {
            (false, r)
        } else if let Some(r) = url.strip_prefix("rtmps://") {
            (true, r)
        } else {
            bail!("`{}` is not an RTMP URL: write rtmp://host[:port]/app/streamkey or rtmps://…", mask_url(url));
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => {
                let port = p.parse::<u16>().map_err(|_| {
                    anyhow::anyhow!("`{}`: port `{p}` is not a number from 1 to 65535", mask_url(url))
                })?;
                (h.to_string(), port)
            }
            None => (authority.to_string(), if tls { 443 } else { 1935 }),
        };
        if host.is_empty() {
            bail!("`{}` has no host: write rtmp://host[:port]/app/streamkey", mask_url(url));
        }
        if path.split('/').filter(|s| !s.is_empty()).count() < 2 {
            bail!(
                "`{}` needs an application and a stream key after the host: rtmp://{host}:{port}/app/streamkey \
                 (the platform's ingest page gives both)",
                mask_url(url)
            );
        }
        if url.chars().any(|c| c.is_whitespace() || c == '"') {
            bail!("`{}` contains spaces or quotes; copy the URL again from the platform", mask_url(url));
        }
        Ok(RtmpTarget { url: url.to_string(), tls, host, port, path: path.to_string() })
    }

    pub fn masked(&self) -> String {
        mask_url(&self.url)
    }

    /// Tries a TCP connection so that an unreachable ingest is reported in plain words
    /// before the pipeline starts.
    pub fn probe(&self) -> Result<()> {
        let addrs: Vec<_> = match (self.host.as_str(), self.port).to_socket_addrs() {
            Ok(a) => a.collect(),
            Err(e) => bail!(
                "cannot reach RTMP ingest {}: host `{}` could not be resolved ({e}); check the host name",
                self.masked(),
                self.host
            ),
        };
        let mut last = None;
        for a in &addrs {
            match TcpStream::connect_timeout(a, Duration::from_secs(5)) {
                Ok(_) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        let why = match last {
            Some(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => "connection refused: nothing listens there".to_string(),
            Some(e) if e.kind() == std::io::ErrorKind::TimedOut => "no answer within 5 s".to_string(),
            Some(e) => e.to_string(),
            None => "no address".to_string(),
        };
        bail!(
            "cannot reach RTMP ingest {}: TCP connection to host {} port {} failed ({why}); \
             check that the ingest server is up and the URL is right",
            self.masked(),
            self.host,
            self.port
        )
    }

    /// This destination's own pipeline: mux and send (pipelines/output-rtmp.gst).
    pub fn pipeline_description(&self) -> String {
        super::sources::with_sources("mux.", "mux.", &crate::gst_helpers::fill(PIPELINE, &[("url", self.url.clone())]))
    }

    /// Turns a GStreamer error from this output's sink into a sentence a person can act on.
    pub fn explain(&self, gst_message: &str) -> String {
        let lower = gst_message.to_lowercase();
        let what = if lower.contains("refused") {
            "the server refused the connection".to_string()
        } else if lower.contains("resolve") || lower.contains("name") && lower.contains("service") {
            format!("host `{}` could not be resolved", self.host)
        } else if lower.contains("closed") || lower.contains("broken pipe") || lower.contains("reset") {
            "the server closed the connection (a wrong stream key, or the server went down)".to_string()
        } else if lower.contains("timed out") || lower.contains("timeout") {
            "the server stopped answering".to_string()
        } else {
            format!("the connection failed ({gst_message})")
        };
        format!("RTMP output {} (host {} port {}): {what}", self.masked(), self.host, self.port)
    }
}

/// Hides the stream key: everything after the application name keeps only its
/// first two characters.
pub fn mask_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else { return url.to_string() };
    let rest = &url[scheme_end + 3..];
    let mut parts: Vec<&str> = rest.splitn(3, '/').collect();
    if parts.len() == 3 && !parts[2].is_empty() {
        let key = parts[2];
        let shown: String = key.chars().take(2).collect();
        let masked = format!("{shown}****");
        parts[2] = &masked;
        return format!("{}{}", &url[..scheme_end + 3], parts.join("/"));
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_host_port_and_path() {
        let t = RtmpTarget::parse("rtmp://127.0.0.1:19350/live/abc123").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.path.as_str(), t.tls), ("127.0.0.1", 19350, "live/abc123", false));
        let t = RtmpTarget::parse("rtmps://ingest.example.com/app/key").unwrap();
        assert_eq!((t.port, t.tls), (443, true));
    }

    #[test]
    fn rejects_what_is_not_rtmp() {
        assert!(RtmpTarget::parse("http://x/live/k").is_err());
        assert!(RtmpTarget::parse("rtmp://:1935/live/k").is_err());
        assert!(RtmpTarget::parse("rtmp://host:99999/live/k").is_err());
        assert!(RtmpTarget::parse("rtmp://host/live").is_err());
    }

    #[test]
    fn stream_key_never_shown() {
        assert_eq!(mask_url("rtmp://h:1/live/supersecret"), "rtmp://h:1/live/su****");
        let err = RtmpTarget::parse("rtmp://h:x/live/supersecret").unwrap_err().to_string();
        assert!(!err.contains("supersecret"), "{err}");
    }

    #[test]
    fn unreachable_ingest_is_explained() {
        // Port 9 on loopback: nothing listens there in a test environment.
        let t = RtmpTarget::parse("rtmp://127.0.0.1:9/live/key").unwrap();
        let msg = t.probe().unwrap_err().to_string();
        assert!(msg.contains("host 127.0.0.1 port 9") && msg.contains("refused"), "{msg}");
    }
}
